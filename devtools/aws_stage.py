"""A deployed stage, computed from the platform stack's outputs: its settings in ``.chalice/config.json``, one
least-privilege IAM policy per function, the SSM parameter of Redis' token, the database users' secrets each
function reads, the sizing rule of the database connections and the API's throttle (docs/deploy.md).

Pure functions, no AWS calls: ``devtools/deploy.py`` feeds them the real stack's outputs, the tests fixed ones.
What each function may touch is declared once in :data:`FUNCTIONS`; the policies are generated from it, so a
function's policy names exact buckets and prefixes, topics, secrets, the parameter and the one KMS key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.core.auth import SCOPES
from chalicelib.core.data_bucket import EXPORTS_PREFIX, UPLOADS_PREFIX
from chalicelib.core.settings import parse_auth_settings
from chalicelib.health_readings import PIPELINE_FILTER_POLICY

APP_NAME = "serverless-data-platform"
REST_API_FUNCTION = "api_handler"  # Chalice's name for the function serving every route
MIGRATE_FUNCTION = "migrate"


@dataclass(frozen=True)
class FunctionAccess:
    """What one Lambda function touches. Prefixes are of ``DATA_BUCKET``; topics are setting names."""

    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()  # outputs it replaces when a redelivered upload is ingested again
    topics: tuple[str, ...] = ()
    # Secrets Manager secrets (platform stack outputs) of the database users it connects as (or, migrate, creates)
    db_secrets: tuple[str, ...] = ("PrivateDbAppSecretArn",)
    # MySQL connections one warm container keeps open per database ("default": the private RDS, "public"): one
    # per source it uses (the analysis of the "private" source keeps its own beside the app's "default" one)
    db_connections: Mapping[str, int] = field(default_factory=lambda: {"default": 1})
    redis: bool = False
    archive_copy: bool = False  # copies exports/ objects into ARCHIVE_BUCKET
    asynchronous: bool = False  # invoked by S3/SNS/EventBridge: failures go to the dead-letter queue
    ses: bool = False
    bedrock: bool = False
    # SNS filter policy of the function's topic subscription (on the message attributes the publisher sets)
    sns_filter_policy: Mapping[str, list[str]] | None = None


# The platform stack's outputs naming the databases' secrets: each master user's, then the app's users'
DB_SECRETS = (
    "PrivateDbSecretArn",
    "PrivateDbMigratorSecretArn",
    "PrivateDbAppSecretArn",
    "PrivateDbReaderSecretArn",
    "PublicDbSecretArn",
    "PublicDbMigratorSecretArn",
    "PublicDbReaderSecretArn",
)

FUNCTIONS: dict[str, FunctionAccess] = {
    REST_API_FUNCTION: FunctionAccess(
        # the read-back routes read rejected rows and analyses, and the links they sign act with this role's
        # rights: downloads of an upload and every output, uploads under raw/
        reads=(UPLOADS_PREFIX, "processed/", "rejected/", "manifests/", "analysis/", EXPORTS_PREFIX),
        writes=(EXPORTS_PREFIX, "analysis/", UPLOADS_PREFIX),
        topics=("REPORT_TOPIC_ARN",),
        db_secrets=("PrivateDbAppSecretArn", "PrivateDbReaderSecretArn", "PublicDbReaderSecretArn"),
        db_connections={"default": 2, "public": 1},
        redis=True,
    ),
    "on_s3_upload": FunctionAccess(
        reads=(UPLOADS_PREFIX,),
        writes=("processed/", "rejected/", "manifests/"),
        deletes=("processed/", "rejected/"),
        topics=("EVENTS_TOPIC_ARN",),
        redis=True,
        asynchronous=True,
    ),
    "on_s3_export": FunctionAccess(
        reads=(EXPORTS_PREFIX,), db_secrets=(), db_connections={}, archive_copy=True, asynchronous=True
    ),
    "daily_sales_report": FunctionAccess(writes=("exports/",), topics=("REPORT_TOPIC_ARN",), asynchronous=True),
    "on_pipeline_event": FunctionAccess(
        reads=("processed/",),
        writes=("analysis/",),
        topics=("REPORT_TOPIC_ARN",),
        asynchronous=True,
        ses=True,
        bedrock=True,
        sns_filter_policy=PIPELINE_FILTER_POLICY,
    ),
    "daily_analysis": FunctionAccess(
        writes=("analysis/",),
        db_secrets=("PrivateDbReaderSecretArn", "PublicDbReaderSecretArn"),
        db_connections={"default": 1, "public": 1},
        asynchronous=True,
    ),
    "migrate": FunctionAccess(
        db_secrets=DB_SECRETS,
        db_connections={"default": 1, "public": 1},
    ),
    "daily_digest": FunctionAccess(
        reads=("analysis/",), writes=("analysis/",), topics=("REPORT_TOPIC_ARN",), asynchronous=True, ses=True
    ),
}

# Sizing of the database connections (docs/deploy.md "Sizing"): every function that keeps MySQL connections has a
# reserved concurrency, and per database the sum of connections x concurrency stays within this share of the
# instance's max_connections (RDS Proxy's pool, MaxConnectionsPercent, in front of it in prod); the rest is left
# to the rotation function, migrations run by hand and monitoring.
DB_INSTANCE_CLASS = "db.t4g.micro"
MYSQL_MAX_CONNECTIONS = {"db.t4g.micro": 85, "db.t4g.small": 170, "db.t4g.medium": 341}  # RDS: memory / 12 MiB
CONNECTION_SHARE_PERCENT = 75
# API Gateway's stage throttle, from the API function's reserved concurrency: a burst fills every container once,
# the steady rate assumes 200 ms per request; beyond them clients get 429 instead of Lambda throttling (500s)
API_REQUESTS_PER_SECOND_PER_CONTAINER = 5

# Each function's name in infra/platform.yaml (its log group, alarms and <name>DurationAlarmMs parameter)
TEMPLATE_NAMES = {
    REST_API_FUNCTION: "Api",
    "on_s3_upload": "Ingest",
    "on_s3_export": "Export",
    "daily_sales_report": "SalesReport",
    "on_pipeline_event": "PipelineEvent",
    "daily_analysis": "Analysis",
    "daily_digest": "Digest",
    "migrate": "Migrate",
}
DURATION_ALARM_PERCENT = 80  # of the function's timeout: about to be cut off

# Settings the deploy derives from the stack; every other setting of the stage is kept as written.
DERIVED_SETTINGS = (
    "DATA_BUCKET",
    "ARCHIVE_BUCKET",
    "REPORT_TOPIC_ARN",
    "EVENTS_TOPIC_ARN",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_SECRET_ARN",
    "DB_SSL_CA",
    "REDIS_URL",
    "REDIS_AUTH_PARAMETER",
    "ANALYSIS_SOURCES",
    "REQUIRE_API_KEY",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
)
# Credentials in settings make no sense for a deployed stage (they come from Secrets Manager at run time).
DIRECT_DB_SETTINGS = ("DB_USER", "DB_PASSWORD", "DB_PARAMETER_PREFIX")
# JWT_ISSUER + JWT_AUDIENCE (and JWT_JWKS_URL when its keys are not at <issuer>/.well-known/jwks.json): any OIDC
# issuer instead of the stack's Cognito user pool
OPTIONAL_SETTINGS = ("INSIGHTS_MODEL_ID", "SES_SENDER", "SES_RECIPIENTS", "JWT_ISSUER", "JWT_AUDIENCE", "JWT_JWKS_URL")
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
    "PrivateDbEndpoint",
    "PrivateDbPort",
    "PrivateDbName",
    "PublicDbEndpoint",
    "PublicDbPort",
    "PublicDbName",
    *DB_SECRETS,
    "UserPoolId",
    "UserPoolClientId",
)
MIGRATED_SOURCES = ("default", "public")  # the databases the migrate function is invoked for
DB_CA_BUNDLE = "chalicelib/certs/db-ca-bundle.pem"  # fetched by the deploy: RDS's CAs and Amazon's roots (proxy)


def function_name(stage: str, function: str) -> str:
    """The Lambda function's name as Chalice creates it."""
    if function == REST_API_FUNCTION:
        return f"{APP_NAME}-{stage}"
    return f"{APP_NAME}-{stage}-{function}"


def policy_file_name(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def redis_auth_parameter(outputs: Mapping[str, str]) -> str:
    return f"{outputs['ParameterPath']}redis/authToken"


def cognito_issuer(outputs: Mapping[str, str]) -> str:
    """The ``iss`` of the stack's user pool's tokens (its keys are at ``<issuer>/.well-known/jwks.json``)."""
    return f"https://cognito-idp.{outputs['Region']}.amazonaws.com/{outputs['UserPoolId']}"


def stage_settings(outputs: Mapping[str, str], options: Mapping[str, str]) -> dict[str, str]:
    """The settings a deployed stage gets from its stack (and from the deploy's optional ``options``)."""
    missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    if missing:
        raise ValueError(f"the platform stack has no outputs {missing}; is it the stack of infra/platform.yaml?")
    settings = {
        "DATA_BUCKET": outputs["DataBucketName"],
        "ARCHIVE_BUCKET": outputs["ArchiveBucketName"],
        "REPORT_TOPIC_ARN": outputs["ReportTopicArn"],
        "EVENTS_TOPIC_ARN": outputs["EventsTopicArn"],
        "DB_HOST": outputs["PrivateDbEndpoint"],
        "DB_PORT": outputs["PrivateDbPort"],
        "DB_NAME": outputs["PrivateDbName"],
        "DB_SECRET_ARN": outputs["PrivateDbAppSecretArn"],
        "DB_SSL_CA": DB_CA_BUNDLE,
        "REDIS_URL": f"rediss://{outputs['RedisEndpoint']}:{outputs['RedisPort']}/0",
        "REDIS_AUTH_PARAMETER": redis_auth_parameter(outputs),
        "ANALYSIS_SOURCES": _analysis_sources(outputs, "PrivateDbReaderSecretArn", "PublicDbReaderSecretArn"),
        "REQUIRE_API_KEY": "true",
        "JWT_ISSUER": cognito_issuer(outputs),
        "JWT_AUDIENCE": outputs["UserPoolClientId"],
    }
    settings.update({name: options[name] for name in OPTIONAL_SETTINGS if options.get(name)})
    return settings


def _analysis_sources(outputs: Mapping[str, str], private_secret: str, public_secret: str) -> str:
    """``ANALYSIS_SOURCES``: "private" is the default database (the private RDS) as another user, "public" the
    publicly accessible one."""
    public = {
        "DB_HOST": outputs["PublicDbEndpoint"],
        "DB_PORT": outputs["PublicDbPort"],
        "DB_NAME": outputs["PublicDbName"],
        "DB_SECRET_ARN": outputs[public_secret],
    }
    return json.dumps({"public": public, "private": {"DB_SECRET_ARN": outputs[private_secret]}})


def migrate_settings(outputs: Mapping[str, str]) -> dict[str, str]:
    """What the migrate function's settings change: it connects as the migrations user and creates the others
    as the master user (``DB_USERS``)."""
    users = {
        "default": {
            "master": outputs["PrivateDbSecretArn"],
            "migrations": outputs["PrivateDbMigratorSecretArn"],
            "readwrite": outputs["PrivateDbAppSecretArn"],
            "readonly": outputs["PrivateDbReaderSecretArn"],
        },
        "public": {
            "master": outputs["PublicDbSecretArn"],
            "migrations": outputs["PublicDbMigratorSecretArn"],
            "readonly": outputs["PublicDbReaderSecretArn"],
        },
    }
    return {
        "DB_SECRET_ARN": outputs["PrivateDbMigratorSecretArn"],
        "ANALYSIS_SOURCES": _analysis_sources(outputs, "PrivateDbMigratorSecretArn", "PublicDbMigratorSecretArn"),
        "DB_USERS": json.dumps(users),
    }


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


def _credential_statements(access: FunctionAccess, outputs: Mapping[str, str]) -> list[dict[str, Any]]:
    """Reading the secrets of the function's database users and the SSM parameter of Redis' token."""
    statements = []
    if access.db_secrets:
        secrets = [outputs[name] for name in access.db_secrets]
        statements.append(_allow("ReadDatabaseSecrets", ["secretsmanager:GetSecretValue"], secrets))
    if access.redis:
        parameter = _arn(outputs, "ssm", f"parameter/{redis_auth_parameter(outputs).lstrip('/')}")
        statements += [
            _allow("ReadCredentials", ["ssm:GetParameter"], [parameter]),
            _allow(
                "DecryptCredentials",
                ["kms:Decrypt"],
                [outputs["PlatformKeyArn"]],
                {"StringEquals": {"kms:ViaService": f"ssm.{outputs['Region']}.amazonaws.com"}},
            ),
        ]
    return statements


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
    ]
    statements += _credential_statements(access, outputs)
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


def connection_demand(section: Mapping[str, Any]) -> dict[str, int]:
    """Per database, the connections the stage's functions can hold at once: connections per container x the
    function's reserved concurrency. A function keeping connections without a reserved concurrency is an error
    (nothing would bound it)."""
    functions = section.get("lambda_functions", {})
    demand: dict[str, int] = {}
    for function, access in FUNCTIONS.items():
        if not access.db_connections:
            continue
        concurrency = functions.get(function, {}).get("reserved_concurrency")
        if not concurrency:
            raise ValueError(
                f"{function} keeps MySQL connections but has no reserved_concurrency: nothing bounds how many it opens"
            )
        for database, connections in access.db_connections.items():
            demand[database] = demand.get(database, 0) + connections * concurrency
    return demand


def connection_budget(instance_class: str) -> int:
    """How many connections the functions may hold on one database of ``instance_class``."""
    return MYSQL_MAX_CONNECTIONS[instance_class] * CONNECTION_SHARE_PERCENT // 100


def check_connection_budget(section: Mapping[str, Any], instance_class: str = DB_INSTANCE_CLASS) -> dict[str, int]:
    """:func:`connection_demand`, or ``ValueError`` saying which database it overflows and by how much."""
    demand = connection_demand(section)
    budget = connection_budget(instance_class)
    over = {database: count for database, count in demand.items() if count > budget}
    if over:
        raise ValueError(
            f"the functions could hold {over} MySQL connections; a {instance_class} allows {budget} "
            f"({CONNECTION_SHARE_PERCENT}% of {MYSQL_MAX_CONNECTIONS[instance_class]}). Lower reserved_concurrency in "
            ".chalice/config.json or choose a larger DB_INSTANCE_CLASS (docs/deploy.md, Sizing)"
        )
    return demand


def api_throttle(section: Mapping[str, Any]) -> tuple[float, int]:
    """API Gateway's stage throttle (requests per second, burst) for the API function's reserved concurrency."""
    concurrency = section["lambda_functions"][REST_API_FUNCTION]["reserved_concurrency"]
    return float(concurrency * API_REQUESTS_PER_SECOND_PER_CONTAINER), concurrency


def sizing_parameters(section: Mapping[str, Any], instance_class: str = DB_INSTANCE_CLASS) -> dict[str, str]:
    """The platform stack's parameters that follow from the stage's sizing in config.json."""
    functions = section["lambda_functions"]
    parameters = {
        "DbInstanceClass": instance_class,
        "DbConnectionsAlarmThreshold": str(connection_budget(instance_class)),
        "ProxyMaxConnectionsPercent": str(CONNECTION_SHARE_PERCENT),
        "ApiGatewayStage": section["api_gateway_stage"],
    }
    for function, name in TEMPLATE_NAMES.items():
        timeout_ms = functions[function]["lambda_timeout"] * 1000
        parameters[f"{name}DurationAlarmMs"] = str(timeout_ms * DURATION_ALARM_PERCENT // 100)
    return parameters


def _resource_path(path: str) -> str:
    """A route's path as execute-api ARNs match requests: each ``{parameter}`` is ``*``."""
    return re.sub(r"\{[^}]+\}", "*", path)


def scope_invoke_arns(
    outputs: Mapping[str, str],
    rest_api_id: str,
    api_stage: str,
    routes: Mapping[tuple[str, str], str],
    open_routes: frozenset[str],
) -> dict[str, list[str]]:
    """For each scope, the ``execute-api:Invoke`` ARNs of exactly its routes (``routes``: ``route_scopes(app)``);
    routes the stage leaves open need no permission and get none."""
    base = _arn(outputs, "execute-api", f"{rest_api_id}/{api_stage}")
    arns: dict[str, list[str]] = {scope: [] for scope in SCOPES}
    for (method, path), scope in sorted(routes.items()):
        if f"{method} {path}" not in open_routes:
            arns[scope].append(f"{base}/{method}{_resource_path(path)}")
    return arns


def access_parameters(scope_arns: Mapping[str, list[str]]) -> dict[str, str]:
    """``infra/app-access.yaml``'s ``<Scope>RouteArns`` parameters: one managed policy per scope (none when empty)."""
    return {f"{scope.capitalize()}RouteArns": ",".join(arns) for scope, arns in scope_arns.items()}


def deployed_auth_mode(settings: Mapping[str, str]) -> str:
    """The stage's ``AUTH_MODE``; a deployed stage checks callers (``iam`` or ``jwt``), ``none`` is for ``make run``."""
    mode = parse_auth_settings(settings).mode
    if mode == "none":
        raise ValueError("AUTH_MODE none leaves every route open: a deployed stage needs iam or jwt (docs/auth.md)")
    return mode


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
    deployed_auth_mode(env)
    section["autogen_policy"] = False
    section["automatic_layer"] = True
    functions = section.setdefault("lambda_functions", {})
    policies = {}
    for function in FUNCTIONS:
        entry = functions.setdefault(function, {})
        entry["iam_policy_file"] = policy_file_name(stage, function)
        entry["subnet_ids"] = outputs["PrivateSubnetIds"].split(",")
        entry["security_group_ids"] = [outputs["FunctionSecurityGroupId"]]
        if function == MIGRATE_FUNCTION:
            entry["environment_variables"] = {**entry.get("environment_variables", {}), **migrate_settings(outputs)}
        policies[entry["iam_policy_file"]] = function_policy(stage, function, outputs, env)
    return config, policies


def _subscribed_function(endpoint: str) -> str:
    """``on_pipeline_event`` from a packaged subscription's ``${aws_lambda_function.on_pipeline_event.arn}``."""
    return endpoint.removeprefix("${aws_lambda_function.").removesuffix(".arn}")


def filter_subscriptions(terraform: dict[str, Any]) -> dict[str, Any]:
    """``chalice package --pkg-format terraform`` output with each topic subscription's filter policy (Chalice
    cannot declare one): SNS then invokes the function only for the messages it handles."""
    terraform = json.loads(json.dumps(terraform))
    for subscription in terraform["resource"].get("aws_sns_topic_subscription", {}).values():
        policy = FUNCTIONS[_subscribed_function(subscription["endpoint"])].sns_filter_policy
        if policy:
            subscription["filter_policy"] = json.dumps(policy, sort_keys=True)
    return terraform


def write_stage(project_dir: Path, stage: str, outputs: Mapping[str, str], options: Mapping[str, str]) -> None:
    """Rewrite ``.chalice/config.json``'s ``stage`` and the stage's policy files from the stack's outputs."""
    chalice_dir = project_dir / ".chalice"
    config_path = chalice_dir / "config.json"
    config, policies = configure_stage(json.loads(config_path.read_text()), stage, outputs, options)
    for name, policy in policies.items():
        (chalice_dir / name).write_text(json.dumps(policy, indent=2) + "\n")
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def ssm_parameters(outputs: Mapping[str, str], redis_token: str) -> dict[str, str]:
    """The SecureString parameter the functions read Redis' AUTH token from (the databases' credentials are
    read from Secrets Manager at run time: nothing is copied)."""
    return {redis_auth_parameter(outputs): redis_token}
