"""The deploy path, offline: the stage written from stack outputs, the credentials handed from the deploy to the
app through SSM (moto), the Redis AUTH token (real Redis), stack create/update, teardown's emptying, API keys."""

from __future__ import annotations

import json
import os
import uuid

import boto3
import pytest
from chalice import Chalice

from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.http import json_route
from chalicelib.core.mysql import resolve_credentials
from chalicelib.core.settings import ConfigError, parse_settings
from devtools import aws_stage, deploy
from devtools.stage import CONFIG_PATH
from tests.support.environment import TEST_REDIS_DB, reset_clients
from tests.support.stack_outputs import OUTPUTS

USERS = {  # the secrets of the database users, by the platform stack's output naming them
    "PrivateDbSecretArn": {"username": "platform", "password": "m@ster"},
    "PrivateDbMigratorSecretArn": {"username": "platform_migrator", "password": "m1grate"},
    "PrivateDbAppSecretArn": {"username": "platform_app", "password": "pr1v@te pass"},
    "PrivateDbReaderSecretArn": {"username": "platform_reader", "password": "r3ad"},
    "PublicDbSecretArn": {"username": "platform", "password": "publ1c m@ster"},
    "PublicDbMigratorSecretArn": {"username": "platform_migrator", "password": "publ1c m1grate"},
    "PublicDbReaderSecretArn": {"username": "platform_reader", "password": "publ1c r3ad"},
}


def _committed_config() -> dict:
    return json.loads(CONFIG_PATH.read_text())


def test_the_stage_gets_the_stack_and_keeps_its_sizing_and_own_settings():
    config = _committed_config()
    config["stages"]["dev"]["environment_variables"].update(DB_PASSWORD="old", CACHE_TTL_SECONDS="120")
    before = json.dumps(config)

    written, policies = aws_stage.configure_stage(config, "dev", OUTPUTS, {"SES_SENDER": "a@example.com"})

    assert json.dumps(config) == before  # the input is not modified
    dev = written["stages"]["dev"]
    env = dev["environment_variables"]
    assert env["DATA_BUCKET"] == OUTPUTS["DataBucketName"]
    assert env["REQUIRE_API_KEY"] == "true"
    assert env["JWT_ISSUER"] == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI"
    assert env["JWT_AUDIENCE"] == OUTPUTS["UserPoolClientId"]
    assert env["AUTH_MODE"] == "jwt" and env["OPEN_ROUTES"] == "GET /health, POST /mp6"  # the stage's choice, kept
    assert env["SES_SENDER"] == "a@example.com"
    assert env["CACHE_TTL_SECONDS"] == "120"  # a setting of the user's, kept
    assert "DB_PASSWORD" not in env
    assert dev["autogen_policy"] is False and dev["automatic_layer"] is True
    ingest = dev["lambda_functions"]["on_s3_upload"]
    assert ingest["reserved_concurrency"] == 4 and ingest["lambda_timeout"] == 900
    assert ingest["subnet_ids"] == OUTPUTS["PrivateSubnetIds"].split(",")
    assert sorted(policies) == sorted(f"policy-dev-{name}.json" for name in aws_stage.FUNCTIONS)
    assert written["stages"]["local"] == config["stages"]["local"]
    assert written["stages"]["prod"] == config["stages"]["prod"]
    # a second deploy without the option drops it (and the policy its permission)
    again, policies = aws_stage.configure_stage(written, "dev", OUTPUTS, {})
    assert "SES_SENDER" not in again["stages"]["dev"]["environment_variables"]
    assert "SendReportEmail" not in json.dumps(policies["policy-dev-on_pipeline_event.json"])
    assert aws_stage.configure_stage(again, "dev", OUTPUTS, {})[0] == again  # idempotent


def test_a_stage_cannot_be_deployed_without_checking_its_callers():
    config = _committed_config()
    config["stages"]["dev"]["environment_variables"]["AUTH_MODE"] = "none"

    with pytest.raises(ValueError, match="AUTH_MODE none"):
        aws_stage.configure_stage(config, "dev", OUTPUTS, {})
    prod = _committed_config()["stages"]["prod"]
    assert deploy.platform_parameters("prod", {}, "203.0.113.7/32", prod)["AuthMode"] == "iam"


def test_the_committed_dev_and_prod_stages_are_complete_and_their_policies_agree_with_them():
    """config.json and the policy files in the repository (placeholders until a deploy) package as they are."""
    config = _committed_config()
    for stage in ("dev", "prod"):
        section = config["stages"][stage]
        env = section["environment_variables"]
        assert set(aws_stage.DERIVED_SETTINGS) <= set(env)
        assert section["autogen_policy"] is False and section["automatic_layer"] is True
        assert set(section["lambda_functions"]) == set(aws_stage.FUNCTIONS)
        for function, entry in section["lambda_functions"].items():
            assert entry["subnet_ids"] and entry["security_group_ids"]
            policy = json.loads((CONFIG_PATH.parent / entry["iam_policy_file"]).read_text())
            statements = {statement["Sid"]: statement for statement in policy["Statement"]}
            assert all("*" not in action for s in policy["Statement"] for action in s["Action"])
            topics = [env[topic] for topic in aws_stage.FUNCTIONS[function].topics]
            assert statements.get("Publish", {}).get("Resource", []) == topics
            buckets = {
                r.split(":::")[1].split("/")[0] for s in policy["Statement"] for r in s["Resource"] if ":s3:::" in r
            }
            assert buckets <= {env["DATA_BUCKET"], env["ARCHIVE_BUCKET"]}
            access = aws_stage.FUNCTIONS[function]
            assert (env["DATA_BUCKET"] in buckets) is bool(access.reads or access.writes)


def test_missing_stack_outputs_are_named():
    with pytest.raises(ValueError, match="RedisEndpoint"):
        aws_stage.stage_settings({k: v for k, v in OUTPUTS.items() if k != "RedisEndpoint"}, {})


def test_bedrock_inference_profiles_need_the_profile_and_the_model():
    assert aws_stage.bedrock_resources(OUTPUTS, "us.anthropic.claude-3-5-haiku-20241022-v1:0") == [
        "arn:aws:bedrock:eu-west-1:210987654321:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
    ]


def test_the_credentials_the_stage_names_are_the_ones_each_function_reads_from_secrets_manager(platform):
    secretsmanager = boto3.client("secretsmanager")
    suffix = uuid.uuid4().hex[:8]
    outputs = dict(OUTPUTS)
    for output, value in USERS.items():
        outputs[output] = secretsmanager.create_secret(Name=f"{output}-{suffix}", SecretString=json.dumps(value))["ARN"]
    app = {**os.environ, **aws_stage.stage_settings(outputs, {})}
    migrate = {**app, **aws_stage.migrate_settings(outputs)}

    def credentials(env: dict, source: str) -> tuple:
        settings = parse_settings(env)
        resolved = resolve_credentials(settings.db if source == "default" else settings.analysis_sources[source])
        return resolved.host, resolved.name, resolved.user, resolved.password

    assert credentials(app, "default") == (OUTPUTS["PrivateDbEndpoint"], "platform", "platform_app", "pr1v@te pass")
    assert credentials(app, "private")[2:] == ("platform_reader", "r3ad")
    assert credentials(app, "public") == (
        OUTPUTS["PublicDbEndpoint"],
        "platform_public",
        "platform_reader",
        "publ1c r3ad",
    )
    assert credentials(migrate, "default")[2:] == ("platform_migrator", "m1grate")
    assert credentials(migrate, "public")[2:] == ("platform_migrator", "publ1c m1grate")
    assert parse_settings(migrate).db_users["public"] == {
        "master": outputs["PublicDbSecretArn"],
        "migrations": outputs["PublicDbMigratorSecretArn"],
        "readonly": outputs["PublicDbReaderSecretArn"],
    }


def test_the_deploy_copies_only_redis_token_into_ssm(platform):
    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    path = f"/h5-{uuid.uuid4().hex[:8]}/"
    deploy.write_parameters(
        boto3.client("ssm"), aws_stage.ssm_parameters({**OUTPUTS, "ParameterPath": path}, "t0k"), key
    )

    stored = boto3.client("ssm").get_parameters_by_path(Path=path, Recursive=True, WithDecryption=True)["Parameters"]
    assert [(p["Name"], p["Type"], p["Value"]) for p in stored] == [(f"{path}redis/authToken", "SecureString", "t0k")]


def test_redis_authenticates_with_the_token_from_ssm(platform, redis_client, monkeypatch):
    user = f"h5deploy{uuid.uuid4().hex[:8]}"
    token = uuid.uuid4().hex * 2
    redis_client.acl_setuser(user, enabled=True, passwords=[f"+{token}"], keys=["*"], commands=["+@all"])
    try:
        ssm = boto3.client("ssm")
        ssm.put_parameter(Name=f"/{user}/redis/authToken", Value=token, Type="SecureString")
        monkeypatch.setenv("REDIS_URL", f"redis://{user}@127.0.0.1:6379/{TEST_REDIS_DB}")
        monkeypatch.setenv("REDIS_AUTH_PARAMETER", f"/{user}/redis/authToken")
        reset_clients()
        from chalicelib.core.redis_client import get_redis

        assert get_redis().acl_whoami() == user

        monkeypatch.setenv("REDIS_AUTH_PARAMETER", f"/{user}/redis/missing")
        reset_clients()
        with pytest.raises(DependencyUnavailable, match="REDIS_AUTH_PARAMETER"):
            get_redis()
    finally:
        reset_clients()
        redis_client.acl_deluser(user)


def test_deploy_stack_creates_then_updates_then_finds_nothing_to_do(platform, tmp_path):
    cloudformation = boto3.client("cloudformation")
    name = f"h5-{uuid.uuid4().hex[:8]}"
    template = tmp_path / "stack.yaml"

    def write(display: str) -> None:
        template.write_text(
            "Parameters:\n  Label:\n    Type: String\n"
            "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
            f"    Properties:\n      DisplayName: {display}\n"
            "Outputs:\n  TopicArn:\n    Value: !Ref Topic\n  Label:\n    Value: !Ref Label\n"
        )

    assert deploy.stack_outputs(cloudformation, name) is None
    write("first")
    created = deploy.deploy_stack(cloudformation, name, template, {"Label": "one"})
    assert created["Label"] == "one" and created["TopicArn"].startswith("arn:aws:sns:")
    write("second")
    updated = deploy.deploy_stack(cloudformation, name, template, {"Label": "two"})
    assert updated["Label"] == "two"
    assert deploy.deploy_stack(cloudformation, name, template, {"Label": "two"}) == updated
    deploy.delete_stack(cloudformation, name)
    assert deploy.stack_outputs(cloudformation, name) is None


def test_teardown_empties_a_versioned_bucket_and_deletes_the_parameters(platform):
    s3 = boto3.client("s3")
    bucket = f"h5-teardown-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="raw/health/a.csv", Body=b"1")
    s3.put_object(Bucket=bucket, Key="raw/health/a.csv", Body=b"2")
    s3.delete_object(Bucket=bucket, Key="raw/health/a.csv")
    s3.put_object(Bucket=bucket, Key="exports/b.xlsx", Body=b"3")

    assert deploy.empty_bucket(s3, bucket) == 4  # two versions, a delete marker, one object
    listed = s3.list_object_versions(Bucket=bucket)
    assert not listed.get("Versions") and not listed.get("DeleteMarkers")
    s3.delete_bucket(Bucket=bucket)

    ssm = boto3.client("ssm")
    path = f"/h5-{uuid.uuid4().hex[:8]}/"
    for index in range(12):
        ssm.put_parameter(Name=f"{path}db/p{index}", Value="v", Type="SecureString")
    assert deploy.delete_parameters(ssm, path) == 12
    assert ssm.get_parameters_by_path(Path=path, Recursive=True)["Parameters"] == []


def test_the_rest_api_id_comes_from_chalice_deployed_record(tmp_path):
    deployed = tmp_path / ".chalice" / "deployed"
    deployed.mkdir(parents=True)
    (deployed / "dev.json").write_text(
        json.dumps(
            {
                "resources": [
                    {"name": "api_handler", "resource_type": "lambda_function", "lambda_arn": "arn:..."},
                    {
                        "name": "rest_api",
                        "resource_type": "rest_api",
                        "rest_api_id": "abcde12345",
                        "rest_api_url": "https://abcde12345.execute-api.eu-west-1.amazonaws.com/api/",
                    },
                ],
                "schema_version": "2.0",
            }
        )
    )
    assert deploy.deployed_rest_api(tmp_path, "dev")["rest_api_id"] == "abcde12345"


def test_deploy_refuses_the_local_emulator(platform):
    assert os.environ["AWS_ENDPOINT_URL"]
    with pytest.raises(SystemExit, match="AWS_ENDPOINT_URL"):
        deploy.deploy("dev")


def _view() -> dict:
    return {}


@pytest.mark.parametrize(("required", "expected"), [("true", True), ("TRUE", True), ("false", False)])
def test_write_routes_require_an_api_key_only_when_the_stage_says_so(monkeypatch, required, expected):
    monkeypatch.setenv("REQUIRE_API_KEY", required)
    app = Chalice("api-key-test")
    json_route(app, "/things", methods=["GET", "POST"], scope="write")(_view)
    json_route(app, "/things/{id}", methods=["DELETE"], scope="write")(_view)
    json_route(app, "/things/{id}", methods=["GET"], scope="read")(_view)

    assert not app.routes["/things"]["GET"].api_key_required
    assert not app.routes["/things/{id}"]["GET"].api_key_required
    assert bool(app.routes["/things"]["POST"].api_key_required) is expected
    assert bool(app.routes["/things/{id}"]["DELETE"].api_key_required) is expected


def test_a_malformed_require_api_key_fails_loudly(monkeypatch):
    monkeypatch.setenv("REQUIRE_API_KEY", "yes please")
    with pytest.raises(ConfigError, match="REQUIRE_API_KEY"):
        json_route(Chalice("api-key-test"), "/things", methods=["POST"], scope="write")(_view)


def test_the_local_stage_and_the_tests_leave_write_routes_open():
    from app import app

    assert _committed_config()["stages"]["local"]["environment_variables"]["REQUIRE_API_KEY"] == "false"
    writes = [entry for methods in app.routes.values() for m, entry in methods.items() if m != "GET"]
    assert writes and not any(entry.api_key_required for entry in writes)


def test_reserved_concurrency_beyond_the_account_limit_stops_the_deploy_first(tmp_path):
    from botocore.stub import Stubber

    lambda_client = boto3.client("lambda", region_name="eu-west-1")
    config = _committed_config()
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    with Stubber(lambda_client) as stub:  # moto's server has no GetAccountSettings; the real response's shape
        for limit in (1000, 10):
            stub.add_response(
                "get_account_settings",
                {"AccountLimit": {"ConcurrentExecutions": limit, "UnreservedConcurrentExecutions": limit}},
            )
        deploy.check_concurrency(lambda_client, "prod", path)  # 38 reserved of 1000: fine
        with pytest.raises(SystemExit, match="allows 10 concurrent"):  # a new account's limit
            deploy.check_concurrency(lambda_client, "prod", path)


def test_emptying_a_bucket_a_previous_teardown_deleted_is_a_no_op(platform):
    assert deploy.empty_bucket(boto3.client("s3"), f"h5-gone-{uuid.uuid4().hex[:8]}") == 0


def test_env_prints_what_a_user_needs_to_call_the_stage(platform, tmp_path, monkeypatch):
    monkeypatch.setenv("STACK_PREFIX", f"h5{uuid.uuid4().hex[:6]}")
    cloudformation, apigateway = boto3.client("cloudformation"), boto3.client("apigateway")
    _, access_stack = deploy.stack_names("dev")
    template = tmp_path / "access.yaml"
    created = apigateway.create_api_key(name=access_stack, enabled=True)  # moto's CloudFormation cannot create one
    template.write_text(  # a stand-in for infra/app-access.yaml with the same output
        "Parameters:\n  KeyId:\n    Type: String\n"
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
        "Outputs:\n  ApiKeyId:\n    Value: !Ref KeyId\n"
    )
    deploy.deploy_stack(cloudformation, access_stack, template, {"KeyId": created["id"]})
    key = created["value"]
    platform_template = tmp_path / "platform.yaml"
    platform_template.write_text(  # a stand-in for infra/platform.yaml with the outputs a token caller needs
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
        "Outputs:\n  UserPoolId:\n    Value: eu-west-1_AbC\n  UserPoolClientId:\n    Value: client1\n"
        "  TokenUrl:\n    Value: https://pool.auth.eu-west-1.amazoncognito.com/oauth2/token\n"
    )
    deploy.deploy_stack(cloudformation, deploy.stack_names("dev")[0], platform_template, {})
    (tmp_path / ".chalice" / "deployed").mkdir(parents=True)
    (tmp_path / ".chalice" / "deployed" / "dev.json").write_text(
        json.dumps({"resources": [{"resource_type": "rest_api", "rest_api_id": "x", "rest_api_url": "https://x/api/"}]})
    )
    config = _committed_config()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))

    values = deploy.shell_environment("dev", cloudformation, apigateway, tmp_path)

    assert values["API"] == "https://x/api"
    assert values["API_KEY"] == key
    assert values["DATA_BUCKET"] == config["stages"]["dev"]["environment_variables"]["DATA_BUCKET"]
    assert (values["USER_POOL_ID"], values["CLIENT_ID"]) == ("eu-west-1_AbC", "client1")
    assert values["TOKEN_URL"] == "https://pool.auth.eu-west-1.amazoncognito.com/oauth2/token"


def _template(name: str) -> dict:
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(deploy.INFRA_DIR / name))


def test_the_deploy_passes_each_template_exactly_its_parameters_and_reads_only_declared_outputs():
    platform = _template("platform.yaml")
    section = _committed_config()["stages"]["dev"]
    passed = deploy.platform_parameters("dev", {"SES_SENDER": "a@example.com"}, "203.0.113.7/32", section)
    declared = platform["Parameters"]
    assert set(passed) <= set(declared)
    assert {name for name, spec in declared.items() if "Default" not in spec} <= set(passed)
    outputs = set(platform["Outputs"])
    assert set(aws_stage.REQUIRED_OUTPUTS) <= outputs
    assert set(USERS) <= outputs  # what migrate_settings reads
    assert "RedisAuthSecretArn" in outputs  # redis_token

    access = _template("app-access.yaml")
    required = {name for name, spec in access["Parameters"].items() if "Default" not in spec}
    assert required == {"Stage", "RestApiId", "AsyncFailureQueueArn"}
    assert "ApiKeyId" in access["Outputs"]


def test_alarms_and_log_groups_name_the_functions_as_chalice_names_them():
    resources = _template("platform.yaml")["Resources"]
    names = {
        resource["Properties"]["LogGroupName"]["Fn::Sub"].removeprefix("/aws/lambda/")
        for resource in resources.values()
        if resource["Type"] == "AWS::Logs::LogGroup"
    }
    expected = {
        aws_stage.function_name("${Stage}", f).replace("serverless-data-platform", "${AppName}")
        for f in aws_stage.FUNCTIONS
    }
    assert names == expected
    alarmed = {
        (resource["Properties"]["MetricName"], resource["Properties"]["Dimensions"][0]["Value"]["Fn::Sub"])
        for resource in resources.values()
        if resource["Type"] == "AWS::CloudWatch::Alarm" and resource["Properties"].get("Namespace") == "AWS/Lambda"
    }
    assert {name for _, name in alarmed} == expected
    assert {metric for metric, _ in alarmed} == {"Errors", "Throttles", "Duration"}


def test_every_asynchronously_invoked_function_sends_its_failures_to_the_queue():
    resources = _template("app-access.yaml")["Resources"].values()
    configured = {
        resource["Properties"]["FunctionName"]["Fn::Sub"].removeprefix("${AppName}-${Stage}-")
        for resource in resources
        if resource["Type"] == "AWS::Lambda::EventInvokeConfig"
    }
    assert configured == {name for name, access in aws_stage.FUNCTIONS.items() if access.asynchronous}
