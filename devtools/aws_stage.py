"""A deployed stage, computed from the platform stack's outputs: its settings in ``.chalice/config.json``, one
least-privilege IAM policy per function, and the SSM parameters the functions read their credentials from.

Pure functions, no AWS calls: ``devtools/deploy.py`` feeds them the real stack's outputs, the tests fixed ones.
What each function may touch is declared once in :data:`FUNCTIONS`; the policies are generated from it, so a
function's policy names exact buckets and prefixes, topics, parameter paths and the one KMS key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APP_NAME = "serverless-data-platform"
REST_API_FUNCTION = "api_handler"  # Chalice's name for the function serving every route


@dataclass(frozen=True)
class FunctionAccess:
    """What one Lambda function touches. Prefixes are of ``DATA_BUCKET``; topics are setting names."""

    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()  # outputs it replaces when a redelivered upload is ingested again
    topics: tuple[str, ...] = ()
    db_sources: tuple[str, ...] = ("default",)
    redis: bool = False
    archive_copy: bool = False  # copies exports/ objects into ARCHIVE_BUCKET
    asynchronous: bool = False  # invoked by S3/SNS/EventBridge: failures go to the dead-letter queue
    ses: bool = False
    bedrock: bool = False


FUNCTIONS: dict[str, FunctionAccess] = {
    REST_API_FUNCTION: FunctionAccess(
        writes=("exports/", "analysis/"),
        topics=("REPORT_TOPIC_ARN",),
        db_sources=("default", "public"),
        redis=True,
    ),
    "on_s3_upload": FunctionAccess(
        reads=("raw/", "exports/"),
        writes=("processed/", "rejected/", "manifests/"),
        deletes=("processed/", "rejected/"),
        topics=("EVENTS_TOPIC_ARN",),
        redis=True,
        archive_copy=True,
        asynchronous=True,
    ),
    "daily_sales_report": FunctionAccess(writes=("exports/",), topics=("REPORT_TOPIC_ARN",), asynchronous=True),
    "on_pipeline_event": FunctionAccess(
        reads=("processed/",),
        writes=("analysis/",),
        topics=("REPORT_TOPIC_ARN",),
        asynchronous=True,
        ses=True,
        bedrock=True,
    ),
    "daily_analysis": FunctionAccess(writes=("analysis/",), db_sources=("default", "public"), asynchronous=True),
    "migrate": FunctionAccess(db_sources=("default", "public")),
}

# Settings the deploy derives from the stack; every other setting of the stage is kept as written.
DERIVED_SETTINGS = (
    "DATA_BUCKET",
    "ARCHIVE_BUCKET",
    "REPORT_TOPIC_ARN",
    "EVENTS_TOPIC_ARN",
    "DB_PARAMETER_PREFIX",
    "REDIS_URL",
    "REDIS_AUTH_PARAMETER",
    "ANALYSIS_SOURCES",
    "REQUIRE_API_KEY",
)
# Direct connection settings make no sense for a deployed stage (credentials come from SSM).
DIRECT_DB_SETTINGS = ("DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME")
OPTIONAL_SETTINGS = ("INSIGHTS_MODEL_ID", "SES_SENDER", "SES_RECIPIENTS")
REQUIRED_OUTPUTS = (
    "Region",
    "AccountId",
    "PrivateSubnetIds",
    "FunctionSecurityGroupId",
    "DataBucketName",
    "ArchiveBucketName",
    "ReportTopicArn",
    "EventsTopicArn",
    "PlatformKeyArn",
    "AsyncFailureQueueArn",
    "RedisEndpoint",
    "RedisPort",
    "ParameterPath",
)


def function_name(stage: str, function: str) -> str:
    """The Lambda function's name as Chalice creates it."""
    if function == REST_API_FUNCTION:
        return f"{APP_NAME}-{stage}"
    return f"{APP_NAME}-{stage}-{function}"


def policy_file_name(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def parameter_prefixes(outputs: Mapping[str, str]) -> dict[str, str]:
    """SSM prefix of each database source's credentials (``dbUrl``, ``dbName``, ``dbUser``, ``dbPassword``)."""
    path = outputs["ParameterPath"]
    return {"default": f"{path}db/", "public": f"{path}public-db/"}


def redis_auth_parameter(outputs: Mapping[str, str]) -> str:
    return f"{outputs['ParameterPath']}redis/authToken"


def stage_settings(outputs: Mapping[str, str], options: Mapping[str, str]) -> dict[str, str]:
    """The settings a deployed stage gets from its stack (and from the deploy's optional ``options``)."""
    missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    if missing:
        raise ValueError(f"the platform stack has no outputs {missing}; is it the stack of infra/platform.yaml?")
    prefixes = parameter_prefixes(outputs)
    settings = {
        "DATA_BUCKET": outputs["DataBucketName"],
        "ARCHIVE_BUCKET": outputs["ArchiveBucketName"],
        "REPORT_TOPIC_ARN": outputs["ReportTopicArn"],
        "EVENTS_TOPIC_ARN": outputs["EventsTopicArn"],
        "DB_PARAMETER_PREFIX": prefixes["default"],
        "REDIS_URL": f"rediss://{outputs['RedisEndpoint']}:{outputs['RedisPort']}/0",
        "REDIS_AUTH_PARAMETER": redis_auth_parameter(outputs),
        # "private" is the default database (the private RDS); "public" the publicly accessible one
        "ANALYSIS_SOURCES": json.dumps({"public": {"DB_PARAMETER_PREFIX": prefixes["public"]}, "private": {}}),
        "REQUIRE_API_KEY": "true",
    }
    settings.update({name: options[name] for name in OPTIONAL_SETTINGS if options.get(name)})
    return settings


def _partition(outputs: Mapping[str, str]) -> str:
    return outputs["ReportTopicArn"].split(":")[1]


def _arn(outputs: Mapping[str, str], service: str, resource: str, region: bool = True, account: bool = True) -> str:
    region_part = outputs["Region"] if region else ""
    account_part = outputs["AccountId"] if account else ""
    return f"arn:{_partition(outputs)}:{service}:{region_part}:{account_part}:{resource}"


_CROSS_REGION_PROFILE = re.compile(r"^(us|eu|apac|us-gov|global|jp|au|ca)\.")


def bedrock_resources(outputs: Mapping[str, str], model_id: str) -> list[str]:
    """ARNs ``bedrock:InvokeModel`` (which Converse uses) needs: the foundation model, or for a cross-region
    inference profile (``us.anthropic...``) the profile and the model in the regions it routes to."""
    base = _CROSS_REGION_PROFILE.sub("", model_id)
    if base == model_id:
        return [_arn(outputs, "bedrock", f"foundation-model/{model_id}", account=False)]
    return [
        _arn(outputs, "bedrock", f"inference-profile/{model_id}"),
        f"arn:{_partition(outputs)}:bedrock:*::foundation-model/{base}",
    ]


def ses_identities(outputs: Mapping[str, str], sender: str) -> list[str]:
    """The sender may be verified as an address or through its domain; either identity authorises sending."""
    domain = sender.rpartition("@")[2]
    return [_arn(outputs, "ses", f"identity/{sender}"), _arn(outputs, "ses", f"identity/{domain}")]


def _allow(sid: str, actions: list[str], resources: list[str], condition: dict | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def function_policy(
    stage: str, function: str, outputs: Mapping[str, str], settings: Mapping[str, str]
) -> dict[str, Any]:
    """The IAM policy of one function: only what :data:`FUNCTIONS` declares, on exact resources."""
    access = FUNCTIONS[function]
    log_group = _arn(outputs, "logs", f"log-group:/aws/lambda/{function_name(stage, function)}")
    data = _arn(outputs, "s3", outputs["DataBucketName"], region=False, account=False)
    archive = _arn(outputs, "s3", outputs["ArchiveBucketName"], region=False, account=False)
    key = outputs["PlatformKeyArn"]
    region = outputs["Region"]
    prefixes = parameter_prefixes(outputs)
    parameters = [_arn(outputs, "ssm", f"parameter/{prefixes[source].strip('/')}/*") for source in access.db_sources]
    if access.redis:
        parameters.append(_arn(outputs, "ssm", f"parameter/{redis_auth_parameter(outputs).lstrip('/')}"))
    statements = [
        _allow("CreateOwnLogGroup", ["logs:CreateLogGroup"], [log_group]),
        _allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group}:*"]),
        # Lambda attaches the function to the VPC through ENIs; these EC2 actions have no resource-level scope
        _allow(
            "VpcNetworkInterfaces",
            [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            ["*"],
        ),
        _allow("ReadCredentials", ["ssm:GetParameters", "ssm:GetParameter"], parameters),
        _allow(
            "DecryptCredentials",
            ["kms:Decrypt"],
            [key],
            {"StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"}},
        ),
    ]
    if access.reads:
        statements += [
            # without it a missing key answers 403 instead of 404
            _allow("ListDataBucket", ["s3:ListBucket"], [data]),
            _allow(
                "ReadData", ["s3:GetObject", "s3:GetObjectVersion"], [f"{data}/{prefix}*" for prefix in access.reads]
            ),
        ]
    if access.writes:
        statements.append(
            _allow(
                "WriteData",
                ["s3:PutObject", "s3:AbortMultipartUpload"],
                [f"{data}/{prefix}*" for prefix in access.writes],
            )
        )
    if access.deletes:
        statements.append(
            _allow("ReplaceOutputs", ["s3:DeleteObject"], [f"{data}/{prefix}*" for prefix in access.deletes])
        )
    if access.archive_copy:
        statements += [
            _allow("ReadExportTags", ["s3:GetObjectTagging", "s3:GetObjectVersionTagging"], [f"{data}/exports/*"]),
            _allow("WriteArchive", ["s3:PutObject", "s3:PutObjectTagging"], [f"{archive}/exports/*"]),
        ]
    if access.topics:
        statements += [
            _allow("Publish", ["sns:Publish"], [settings[topic] for topic in access.topics]),
            _allow(
                "PublishToEncryptedTopic",
                ["kms:GenerateDataKey", "kms:Decrypt"],
                [key],
                {"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}},
            ),
        ]
    if access.asynchronous:
        statements.append(
            _allow("SendFailedEventToDeadLetterQueue", ["sqs:SendMessage"], [outputs["AsyncFailureQueueArn"]])
        )
    if access.ses and settings.get("SES_SENDER"):
        statements.append(
            _allow(
                "SendReportEmail",
                ["ses:SendEmail", "ses:SendRawEmail"],
                ses_identities(outputs, settings["SES_SENDER"]),
            )
        )
    if access.bedrock and settings.get("INSIGHTS_MODEL_ID"):
        statements.append(
            _allow("WriteInsights", ["bedrock:InvokeModel"], bedrock_resources(outputs, settings["INSIGHTS_MODEL_ID"]))
        )
    return {"Version": "2012-10-17", "Statement": statements}


def configure_stage(
    config: dict[str, Any], stage: str, outputs: Mapping[str, str], options: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``config`` (the parsed config.json) with ``stage`` pointed at the stack, and the policy files to write.

    Sizing (memory, timeout, reserved concurrency) and settings not derived from the stack stay as written
    in config.json; the network, the policy file names and the derived settings are (re)written.
    """
    config = json.loads(json.dumps(config))  # a deep copy: the caller's dict stays as read
    section = config.setdefault("stages", {}).setdefault(stage, {})
    settings = stage_settings(outputs, options)
    env = section.setdefault("environment_variables", {})
    for name in DIRECT_DB_SETTINGS + OPTIONAL_SETTINGS:
        env.pop(name, None)
    env.update(settings)
    section["autogen_policy"] = False
    section["automatic_layer"] = True
    functions = section.setdefault("lambda_functions", {})
    policies = {}
    for function in FUNCTIONS:
        entry = functions.setdefault(function, {})
        entry["iam_policy_file"] = policy_file_name(stage, function)
        entry["subnet_ids"] = outputs["PrivateSubnetIds"].split(",")
        entry["security_group_ids"] = [outputs["FunctionSecurityGroupId"]]
        policies[entry["iam_policy_file"]] = function_policy(stage, function, outputs, env)
    return config, policies


def write_stage(project_dir: Path, stage: str, outputs: Mapping[str, str], options: Mapping[str, str]) -> None:
    """Rewrite ``.chalice/config.json``'s ``stage`` and the stage's policy files from the stack's outputs."""
    chalice_dir = project_dir / ".chalice"
    config_path = chalice_dir / "config.json"
    config, policies = configure_stage(json.loads(config_path.read_text()), stage, outputs, options)
    for name, policy in policies.items():
        (chalice_dir / name).write_text(json.dumps(policy, indent=2) + "\n")
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def ssm_parameters(outputs: Mapping[str, str], secrets: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The SecureString parameters the functions read (``DB_PARAMETER_PREFIX`` layout of docs/settings.md), from the
    stack's endpoints and its Secrets Manager secrets (``private_db``, ``public_db``: username/password;
    ``redis``: token)."""
    prefixes = parameter_prefixes(outputs)
    parameters = {}
    for source, kind in (("default", "Private"), ("public", "Public")):
        secret = secrets[f"{kind.lower()}_db"]
        prefix = prefixes[source]
        parameters.update(
            {
                f"{prefix}dbUrl": f"{outputs[f'{kind}DbEndpoint']}:{outputs[f'{kind}DbPort']}",
                f"{prefix}dbName": outputs[f"{kind}DbName"],
                f"{prefix}dbUser": secret["username"],
                f"{prefix}dbPassword": secret["password"],
            }
        )
    parameters[redis_auth_parameter(outputs)] = secrets["redis"]["token"]
    return parameters
