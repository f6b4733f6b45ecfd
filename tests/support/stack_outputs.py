"""The outputs of a deployed platform stack (``infra/platform.yaml``), as the deploy reads them: what the packaging
and deploy tests write a stage from."""

from devtools.aws_stage import DB_SECRETS

OUTPUTS = {
    "Region": "eu-west-1",
    "AccountId": "210987654321",
    "PrivateSubnetIds": "subnet-0aaa1111bbbb2222c,subnet-0ddd3333eeee4444f",
    "FunctionSecurityGroupId": "sg-0123456789abcdef0",
    "DataBucketName": "platform-prod-databucket-1x2y3z",
    "ArchiveBucketName": "platform-prod-archivebucket-4u5v6w",
    "ReportTopicArn": "arn:aws:sns:eu-west-1:210987654321:platform-prod-ReportTopic-AbC",
    "EventsTopicArn": "arn:aws:sns:eu-west-1:210987654321:platform-prod-EventsTopic-DeF",
    "PlatformKeyArn": "arn:aws:kms:eu-west-1:210987654321:key/11111111-2222-3333-4444-555555555555",
    "AsyncFailureQueueArn": "arn:aws:sqs:eu-west-1:210987654321:platform-prod-AsyncFailureQueue-GhI",
    "RedisEndpoint": "master.platform-prod-redis.abcdef.euw1.cache.amazonaws.com",
    "RedisPort": "6379",
    "ParameterPath": "/platform-prod/",
    "PrivateDbEndpoint": "platform-prod-private.proxy-abc.eu-west-1.rds.amazonaws.com",
    "PrivateDbPort": "3306",
    "PrivateDbName": "platform",
    "PublicDbEndpoint": "platform-prod-public.proxy-abc.eu-west-1.rds.amazonaws.com",
    "PublicDbPort": "3306",
    "PublicDbName": "platform_public",
    **{
        output: f"arn:aws:secretsmanager:eu-west-1:210987654321:secret:platform-prod-{output}-AbCdEf"
        for output in DB_SECRETS
    },
    "UserPoolId": "eu-west-1_AbCdEfGhI",
    "UserPoolClientId": "3abcdefghijklmnopqrstuvwx1",
}
