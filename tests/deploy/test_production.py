"""Production sizing and what the deploy adds to what Chalice creates: the topic subscriptions' filter policies,
the connection budget, timeouts under API Gateway's, the API stage's throttle."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from chalicelib.core import aws
from chalicelib.core.settings import Timeouts
from devtools import aws_stage, deploy
from devtools.stage import CONFIG_PATH
from tests.support.ports import free_port
from tests.support.stack_outputs import OUTPUTS

API_GATEWAY_TIMEOUT_SECONDS = 29
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _record_deployed(project, stage: str, resources: list[dict]) -> None:
    deployed = project / ".chalice" / "deployed"
    deployed.mkdir(parents=True)
    (deployed / f"{stage}.json").write_text(json.dumps({"resources": resources, "schema_version": "2.0"}))


def test_the_deploy_gives_the_pipeline_subscription_the_filter_chalice_cannot_declare(platform, tmp_path):
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="filter-test-events")["TopicArn"]
    function = "arn:aws:lambda:us-east-1:123456789012:function:serverless-data-platform-dev-on_pipeline_event"
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function)["SubscriptionArn"]
    _record_deployed(
        tmp_path,
        "dev",
        [
            {"name": "on_pipeline_event", "resource_type": "lambda_function", "lambda_arn": function},
            {
                "name": "on_pipeline_event-sns-subscription",
                "resource_type": "sns_event",
                "topic": topic,
                "lambda_arn": function,
                "subscription_arn": subscription,
            },
        ],
    )

    deploy.apply_filter_policies(sns, tmp_path, "dev")

    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"event_type": ["ingest.completed"], "dataset": ["health"]}
    sns.delete_topic(TopicArn=topic)


def _stage(name: str) -> dict:
    return json.loads(CONFIG_PATH.read_text())["stages"][name]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_functions_cannot_open_more_mysql_connections_than_the_database_allows(stage):
    section = _stage(stage)
    budget = aws_stage.connection_budget(aws_stage.DB_INSTANCE_CLASS)

    demand = aws_stage.check_connection_budget(section)

    assert set(demand) == {"default", "public"}
    assert max(demand.values()) <= budget == 63  # 75% of a db.t4g.micro's 85
    api = section["lambda_functions"]["api_handler"]["reserved_concurrency"]
    assert demand["default"] >= 2 * api  # the app's connection and the analysis of "private" in each container


def test_a_stage_whose_connections_overflow_the_database_or_are_unbounded_is_refused(tmp_path):
    config = json.loads(CONFIG_PATH.read_text())
    functions = config["stages"]["prod"]["lambda_functions"]
    functions["api_handler"]["reserved_concurrency"] = 40
    with pytest.raises(ValueError, match=r"allows 63 \(75% of 85\)"):
        aws_stage.check_connection_budget(config["stages"]["prod"])
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    with pytest.raises(SystemExit, match="stage prod: the functions could hold"):
        deploy.check_concurrency(None, "prod", path)  # refused before asking AWS anything

    del functions["on_pipeline_event"]["reserved_concurrency"]
    with pytest.raises(ValueError, match="on_pipeline_event keeps MySQL connections but has no reserved_concurrency"):
        aws_stage.connection_demand(config["stages"]["prod"])


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_api_function_and_its_aws_calls_end_before_api_gateway_answers_504(platform, stage):
    timeout = _stage(stage)["lambda_functions"]["api_handler"]["lambda_timeout"]
    assert timeout <= 25 < API_GATEWAY_TIMEOUT_SECONDS
    mysql = Timeouts()  # the API's MySQL waits (the default ones; the event functions set longer ones)
    for service in ("s3", "sns", "ssm", "secretsmanager"):
        worst = aws.worst_case_seconds(service) + mysql.db_connect_seconds + mysql.db_query_seconds
        assert worst < timeout, service  # one slow AWS call after one slow query still answers in time
    config = aws.client("s3").meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 6)
    assert config.retries == {"total_max_attempts": 2, "mode": "standard"}


def test_the_api_stage_is_throttled_from_the_api_functions_concurrency(platform):
    apigateway = boto3.client("apigateway")
    api = apigateway.create_rest_api(name="throttle-test")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    apigateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api, stageName="api")
    rate, burst = aws_stage.api_throttle(_stage("prod"))

    deploy.throttle_api_stage(apigateway, api, "api", rate, burst)

    settings = apigateway.get_stage(restApiId=api, stageName="api")["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (100.0, 20)
    apigateway.delete_rest_api(restApiId=api)


def test_a_second_region_deploy_of_a_stage_is_refused_before_it_rewrites_the_global_roles(platform):
    iam = boto3.client("iam")
    stage = f"r{uuid.uuid4().hex[:6]}"
    role = f"{aws_stage.APP_NAME}-{stage}-api_handler"
    assert deploy.deployed_region(iam, stage) is None
    deploy.check_region(iam, stage, "eu-west-1")  # never deployed: fine anywhere
    outputs = {**OUTPUTS, "Region": "us-east-1"}
    policy = aws_stage.function_policy(stage, "api_handler", outputs, aws_stage.stage_settings(outputs, {}))
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    iam.put_role_policy(RoleName=role, PolicyName=role, PolicyDocument=json.dumps(policy))  # as Chalice does

    assert deploy.deployed_region(iam, stage) == "us-east-1"
    deploy.check_region(iam, stage, "us-east-1")  # redeploying where it is: fine
    with pytest.raises(SystemExit, match=f"stage {stage} is deployed in us-east-1; its IAM roles"):
        deploy.check_region(iam, stage, "eu-west-1")
    iam.delete_role_policy(RoleName=role, PolicyName=role)
    iam.delete_role(RoleName=role)


def test_the_deploy_puts_the_ca_bundle_where_the_functions_settings_point(tmp_path):
    """The bundle's sources served from loopback; the functions then verify a server against the written file."""
    import http.server
    import threading
    from functools import partial

    served = tmp_path / "served"
    served.mkdir()
    for name in ("rds.pem", "root.pem"):
        (served / name).write_text(f"-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        path = deploy.fetch_ca_bundle(tmp_path / "project", (f"{base}/rds.pem", f"{base}/root.pem"))
    finally:
        server.shutdown()
        server.server_close()

    assert path == tmp_path / "project" / aws_stage.stage_settings(OUTPUTS, {})["DB_SSL_CA"]
    assert path.read_text().count("BEGIN CERTIFICATE") == 2
