"""The deployable app: ``chalice package --pkg-format terraform --stage prod`` of a copy of the project whose prod
stage was written by the deploy's own code from a stack's outputs, and assertions on what AWS would get.

(CloudFormation packaging does not support S3 events, hence terraform; nothing here needs terraform or AWS.)
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from devtools import aws_stage, deploy
from devtools.stage import PROJECT_DIR
from tests.support.stack_outputs import OUTPUTS

STAGE = "prod"
OPTIONS = {
    "SES_SENDER": "reports@example.com",
    "SES_RECIPIENTS": "ops@example.com",
    "INSIGHTS_MODEL_ID": "anthropic.claude-3-haiku-20240307-v1:0",
}
FUNCTIONS = {
    "api_handler",
    "on_s3_upload",
    "on_s3_export",
    "daily_sales_report",
    "on_pipeline_event",
    "daily_analysis",
    "daily_digest",
    "migrate",
}
DATA = f"arn:aws:s3:::{OUTPUTS['DataBucketName']}"
ARCHIVE = f"arn:aws:s3:::{OUTPUTS['ArchiveBucketName']}"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The terraform JSON of the prod stage, packaged from a copy of the project (the tree is not touched)."""
    return package_stage(tmp_path_factory, STAGE)


def package_stage(tmp_path_factory: pytest.TempPathFactory, stage: str) -> dict:
    """``chalice package`` of ``stage`` as the deploy writes it from :data:`OUTPUTS`, in a copy of the project."""
    project = tmp_path_factory.mktemp("project")
    shutil.copy(PROJECT_DIR / "app.py", project)
    shutil.copy(PROJECT_DIR / "requirements.txt", project)
    shutil.copytree(PROJECT_DIR / "chalicelib", project / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".chalice").mkdir()
    shutil.copy(PROJECT_DIR / ".chalice" / "config.json", project / ".chalice")
    aws_stage.write_stage(project, stage, OUTPUTS, OPTIONS)
    config = json.loads((project / ".chalice" / "config.json").read_text())
    _share_layer_cache(PROJECT_DIR / ".chalice" / "deployments", project / ".chalice" / "deployments")
    out = tmp_path_factory.mktemp("terraform")
    # this process's environment (proxies, pip settings) without AWS's or any stage's settings
    settings = {name for section in config["stages"].values() for name in section.get("environment_variables", {})}
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_") and name not in settings}
    env.update(AWS_DEFAULT_REGION=OUTPUTS["Region"])
    terraform = deploy.package(project, stage, out, env)
    assert json.loads((out / "chalice.tf.json").read_text()) == terraform
    _share_layer_cache(project / ".chalice" / "deployments", PROJECT_DIR / ".chalice" / "deployments")
    return terraform


def _share_layer_cache(source: Path, target: Path) -> None:
    """Chalice builds the dependency layer with ``pip download`` (PyPI) and caches it, keyed by the requirements,
    in the project's git-ignored ``.chalice/deployments``; sharing that cache with the copy means only the first
    run after a requirements change needs the network."""
    target.mkdir(parents=True, exist_ok=True)
    for layer in source.glob("managed-layer-*.zip") if source.is_dir() else ():
        if not (target / layer.name).exists():
            partial = target / f".{layer.name}.{os.getpid()}"
            shutil.copy(layer, partial)
            partial.replace(target / layer.name)  # atomic: a concurrent run never sees half a zip


def _ref(function: str) -> str:
    return f"${{aws_lambda_function.{function}.arn}}"


def _policies(package: dict) -> dict[str, dict]:
    """Each function's IAM policy document, found through its role."""
    resources = package["resource"]
    policies = {}
    for name, function in resources["aws_lambda_function"].items():
        role = function["role"].removeprefix("${aws_iam_role.").removesuffix(".arn}")
        policies[name] = json.loads(resources["aws_iam_role_policy"][role]["policy"])
    return policies


def _statements(policy: dict) -> list[dict]:
    return policy["Statement"]


def _actions(statement: dict) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


def _resources(statement: dict) -> list[str]:
    resources = statement["Resource"]
    return [resources] if isinstance(resources, str) else resources


def _allowed(policy: dict, action: str) -> list[str]:
    """Every resource ``action`` is allowed on."""
    return [r for s in _statements(policy) if action in _actions(s) for r in _resources(s)]


def test_every_function_is_packaged_with_its_sizing(package):
    functions = package["resource"]["aws_lambda_function"]
    assert set(functions) == FUNCTIONS
    assert functions["api_handler"]["function_name"] == "serverless-data-platform-prod"
    assert functions["on_s3_upload"]["timeout"] == 900
    assert functions["on_s3_upload"]["reserved_concurrent_executions"] == 10
    assert functions["on_s3_upload"]["memory_size"] >= 512
    assert all(f["timeout"] <= 900 for f in functions.values())
    assert functions["api_handler"]["timeout"] == 25  # API Gateway gives up at 29 s
    # every function keeping MySQL connections is capped (docs/deploy.md, Sizing); the archive copy needs none
    reserved = {name: f.get("reserved_concurrent_executions") for name, f in functions.items()}
    assert reserved == {
        "api_handler": 20,
        "on_s3_upload": 10,
        "on_s3_export": None,
        "daily_sales_report": 1,
        "on_pipeline_event": 5,
        "daily_analysis": 1,
        "daily_digest": 1,
        "migrate": 1,
    }


def test_dependencies_ship_in_the_automatic_layer(package):
    resources = package["resource"]
    assert set(resources["aws_lambda_layer_version"]) == {"managed-layer"}
    for function in resources["aws_lambda_function"].values():
        assert function["layers"] == ["${aws_lambda_layer_version.managed-layer.arn}"]


def test_the_data_bucket_notifies_only_of_uploads_and_workbooks_never_of_the_platforms_outputs(package):
    notifications = package["resource"]["aws_s3_bucket_notification"]
    assert len(notifications) == 1
    (notification,) = notifications.values()
    assert notification["bucket"] == OUTPUTS["DataBucketName"]
    assert notification["lambda_function"] == [
        {"events": ["s3:ObjectCreated:*"], "lambda_function_arn": _ref("on_s3_upload"), "filter_prefix": "raw/"},
        {
            "events": ["s3:ObjectCreated:*"],
            "lambda_function_arn": _ref("on_s3_export"),
            "filter_prefix": "exports/",
            "filter_suffix": ".xlsx",
        },
    ]
    for function in ("on_s3_upload", "on_s3_export"):
        permission = package["resource"]["aws_lambda_permission"][f"{function}-s3event"]
        assert permission["principal"] == "s3.amazonaws.com"
        bucket = OUTPUTS["DataBucketName"]
        assert permission["source_arn"] == f"arn:${{data.aws_partition.chalice.partition}}:s3:::{bucket}"


def test_the_schedules(package):
    rules = package["resource"]["aws_cloudwatch_event_rule"]
    targets = package["resource"]["aws_cloudwatch_event_target"]
    assert rules["daily_sales_report-event"]["schedule_expression"] == "cron(0 20 ? * MON-SAT *)"
    assert rules["daily_analysis-event"]["schedule_expression"].startswith("cron(")
    assert targets["daily_sales_report-event"]["arn"] == _ref("daily_sales_report")
    assert targets["daily_analysis-event"]["arn"] == _ref("daily_analysis")


def test_the_pipeline_handler_subscribes_to_the_events_topic_for_health_ingests_only(package):
    (subscription,) = package["resource"]["aws_sns_topic_subscription"].values()
    assert subscription == {
        "topic_arn": OUTPUTS["EventsTopicArn"],
        "protocol": "lambda",
        "endpoint": _ref("on_pipeline_event"),
        "filter_policy": json.dumps({"dataset": ["health"], "event_type": ["ingest.completed"]}),
    }


def test_every_function_reaches_mysql_from_the_private_subnets(package):
    for name, function in package["resource"]["aws_lambda_function"].items():
        assert function["vpc_config"] == {
            "subnet_ids": OUTPUTS["PrivateSubnetIds"].split(","),
            "security_group_ids": [OUTPUTS["FunctionSecurityGroupId"]],
        }, name


def _secret(name: str) -> str:
    return OUTPUTS[f"{name}Arn"]


def test_settings_point_at_the_stack_and_hold_no_secret(package):
    for name, function in package["resource"]["aws_lambda_function"].items():
        env = function["environment"]["variables"]
        assert env["DATA_BUCKET"] == OUTPUTS["DataBucketName"]
        # MySQL through the proxy, over TLS verified against the bundle the deploy puts in the package
        assert (env["DB_HOST"], env["DB_PORT"], env["DB_NAME"]) == (OUTPUTS["PrivateDbEndpoint"], "3306", "platform")
        assert env["DB_SSL_CA"] == "chalicelib/certs/db-ca-bundle.pem"
        assert env["REDIS_URL"] == f"rediss://{OUTPUTS['RedisEndpoint']}:6379/0"  # TLS, no password in it
        assert env["REDIS_AUTH_PARAMETER"] == "/platform-prod/redis/authToken"
        migrations = name == "migrate"
        role = "Migrator" if migrations else "Reader"
        assert env["DB_SECRET_ARN"] == _secret("PrivateDbMigratorSecret" if migrations else "PrivateDbAppSecret")
        assert json.loads(env["ANALYSIS_SOURCES"]) == {
            "public": {
                "DB_HOST": OUTPUTS["PublicDbEndpoint"],
                "DB_PORT": "3306",
                "DB_NAME": "platform_public",
                "DB_SECRET_ARN": _secret(f"PublicDb{role}Secret"),
            },
            "private": {"DB_SECRET_ARN": _secret(f"PrivateDb{role}Secret")},
        }
        assert not {"DB_PASSWORD", "DB_USER", "DB_PARAMETER_PREFIX"} & set(env)
        assert not any(word in name for name in env for word in ("PASSWORD", "TOKEN"))
        assert all(name.endswith("SECRET_ARN") for name in env if "SECRET" in name)  # where, never what
        assert ("DB_USERS" in env) is migrations  # only migrate may read the master users' secrets


def test_each_function_reads_only_the_secrets_of_its_database_users(package):
    policies = _policies(package)
    readers = {name: _allowed(policy, "secretsmanager:GetSecretValue") for name, policy in policies.items()}
    app, reader = _secret("PrivateDbAppSecret"), _secret("PrivateDbReaderSecret")
    assert readers["api_handler"] == [app, reader, _secret("PublicDbReaderSecret")]
    assert readers["on_s3_upload"] == readers["daily_sales_report"] == readers["on_pipeline_event"] == [app]
    assert readers["daily_analysis"] == [reader, _secret("PublicDbReaderSecret")]
    assert readers["on_s3_export"] == []
    masters = {_secret("PrivateDbSecret"), _secret("PublicDbSecret")}
    assert masters <= set(readers["migrate"])
    assert not masters & {arn for name, arns in readers.items() if name != "migrate" for arn in arns}


def test_each_function_has_its_own_role_and_policy(package):
    resources = package["resource"]
    roles = {f["role"] for f in resources["aws_lambda_function"].values()}
    assert len(roles) == len(FUNCTIONS)
    for name, policy in _policies(package).items():
        assert policy == aws_stage.function_policy(STAGE, name, OUTPUTS, {**aws_stage.stage_settings(OUTPUTS, OPTIONS)})


def test_no_policy_has_a_wildcard_action_or_an_unscoped_resource_beyond_vpc_networking(package):
    for name, policy in _policies(package).items():
        for statement in _statements(policy):
            assert statement["Effect"] == "Allow"
            assert all("*" not in action for action in _actions(statement)), (name, statement)
            if "*" in _resources(statement):
                assert all(action.startswith("ec2:") for action in _actions(statement)), (name, statement)


def test_policies_name_exact_buckets_prefixes_topics_parameters_and_key(package):
    policies = _policies(package)
    log_group = "arn:aws:logs:eu-west-1:210987654321:log-group:/aws/lambda/serverless-data-platform-prod"
    assert _allowed(policies["api_handler"], "logs:PutLogEvents") == [f"{log_group}:*"]
    assert _allowed(policies["migrate"], "logs:PutLogEvents") == [f"{log_group}-migrate:*"]

    ingest = policies["on_s3_upload"]
    assert _allowed(ingest, "s3:GetObject") == [f"{DATA}/raw/*"]
    assert set(_allowed(ingest, "s3:PutObject")) == {f"{DATA}/processed/*", f"{DATA}/rejected/*", f"{DATA}/manifests/*"}
    archiver = policies["on_s3_export"]
    assert _allowed(archiver, "s3:GetObject") == [f"{DATA}/exports/*"]
    assert _allowed(archiver, "s3:PutObject") == [f"{ARCHIVE}/exports/*"]
    assert _allowed(archiver, "secretsmanager:GetSecretValue") == _allowed(archiver, "sns:Publish") == []
    assert _allowed(ingest, "sns:Publish") == [OUTPUTS["EventsTopicArn"]]
    assert _allowed(ingest, "sqs:SendMessage") == [OUTPUTS["AsyncFailureQueueArn"]]
    ssm = "arn:aws:ssm:eu-west-1:210987654321:parameter/platform-prod"
    assert _allowed(ingest, "ssm:GetParameter") == [f"{ssm}/redis/authToken"]
    assert _allowed(ingest, "kms:Decrypt") == [OUTPUTS["PlatformKeyArn"], OUTPUTS["PlatformKeyArn"]]

    assert _allowed(policies["daily_sales_report"], "sns:Publish") == [OUTPUTS["ReportTopicArn"]]
    assert _allowed(policies["daily_sales_report"], "s3:PutObject") == [f"{DATA}/exports/*"]
    assert _allowed(policies["daily_sales_report"], "s3:GetObject") == []
    assert _allowed(policies["daily_analysis"], "s3:PutObject") == [f"{DATA}/analysis/*"]
    assert _allowed(policies["daily_analysis"], "ssm:GetParameter") == []  # no Redis
    assert _allowed(policies["api_handler"], "sqs:SendMessage") == []  # synchronous: API Gateway sees failures

    pipeline = policies["on_pipeline_event"]
    assert _allowed(pipeline, "s3:GetObject") == [f"{DATA}/processed/*"]
    assert _allowed(pipeline, "ses:SendRawEmail") == [
        "arn:aws:ses:eu-west-1:210987654321:identity/reports@example.com",
        "arn:aws:ses:eu-west-1:210987654321:identity/example.com",
    ]
    assert _allowed(pipeline, "bedrock:InvokeModel") == [
        "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    ]
    assert _allowed(policies["daily_digest"], "ses:SendRawEmail") == _allowed(pipeline, "ses:SendRawEmail")
    assert _allowed(policies["daily_digest"], "s3:GetObject") == [f"{DATA}/analysis/*"]
    assert _allowed(policies["daily_digest"], "bedrock:InvokeModel") == []
    for name in FUNCTIONS - {"on_pipeline_event", "daily_digest"}:
        assert _allowed(policies[name], "ses:SendRawEmail") == _allowed(policies[name], "bedrock:InvokeModel") == []
    assert [r for p in policies.values() for r in _allowed(p, "s3:PutObject") if r.startswith(ARCHIVE)] == [
        f"{ARCHIVE}/exports/*"
    ]


def test_write_routes_need_the_api_key_and_reads_do_not(package):
    swagger = json.loads(package["locals"]["chalice_api_swagger"])
    assert swagger["securityDefinitions"]["api_key"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}
    methods = {
        (path, method): spec.get("security")
        for path, spec_by in swagger["paths"].items()
        for method, spec in spec_by.items()
    }
    assert ("/heroes", "post") in methods and ("/heroes/{hero_id}", "get") in methods
    for (path, method), security in methods.items():
        if method in ("get", "head", "options"):
            assert {"api_key": []} not in (security or []), (path, method)
        else:
            assert {"api_key": []} in security, (path, method)
