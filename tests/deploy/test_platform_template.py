"""What infra/platform.yaml gives production, read from the template (no AWS account here: what only a deploy
can show is in docs/deploy.md, "First deploy: what to verify")."""

from __future__ import annotations

import json

import pytest

from chalicelib.core import logs
from devtools import aws_stage, deploy
from devtools.stage import CONFIG_PATH


@pytest.fixture(scope="module")
def template() -> dict:
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(deploy.INFRA_DIR / "platform.yaml"))


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_both_databases_sit_behind_rds_proxy_in_prod_and_the_functions_are_pointed_at_it(template):
    assert template["Conditions"]["UseDbProxy"] == {
        "Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": [{"Ref": "DbProxyInDev"}, "true"]}]
    }
    proxies = _of_type(template, "AWS::RDS::DBProxy")
    targets = _of_type(template, "AWS::RDS::DBProxyTargetGroup")
    assert set(proxies) == {"PrivateDbProxy", "PublicDbProxy"}
    for db in ("Private", "Public"):
        proxy = proxies[f"{db}DbProxy"]["Properties"]
        assert proxies[f"{db}DbProxy"]["Condition"] == "UseDbProxy"
        assert proxy["RequireTLS"] is True
        assert {a["SecretArn"]["Ref"] for a in proxy["Auth"]} == {
            name for name in _of_type(template, "AWS::SecretsManager::Secret") if name.startswith(f"{db}Db")
        }
        pool = targets[f"{db}DbProxyTargets"]["Properties"]
        assert pool["DBInstanceIdentifiers"] == [{"Ref": f"{db}Db"}]
        assert pool["ConnectionPoolConfigurationInfo"]["MaxConnectionsPercent"] == {"Ref": "ProxyMaxConnectionsPercent"}
        assert pool["ConnectionPoolConfigurationInfo"]["ConnectionBorrowTimeout"] < 25  # the API's timeout
        endpoint = template["Outputs"][f"{db}DbEndpoint"]["Value"]
        assert endpoint == {
            "Fn::If": [
                "UseDbProxy",
                {"Fn::GetAtt": [f"{db}DbProxy", "Endpoint"]},
                {"Fn::GetAtt": [f"{db}Db", "Endpoint.Address"]},
            ]
        }


def test_the_databases_require_tls_log_slow_queries_pin_their_version_and_prod_is_multi_az(template):
    (group,) = _of_type(template, "AWS::RDS::DBParameterGroup").values()
    parameters = group["Properties"]["Parameters"]
    assert parameters["require_secure_transport"] == "1"
    assert (parameters["slow_query_log"], parameters["log_output"]) == ("1", "FILE")
    version = template["Parameters"]["MySqlEngineVersion"]
    assert version["Default"].startswith("8.4.") and group["Properties"]["Family"] == "mysql8.4"
    for name, db in _of_type(template, "AWS::RDS::DBInstance").items():
        properties = db["Properties"]
        assert properties["EngineVersion"] == {"Ref": "MySqlEngineVersion"}, name
        assert properties["AutoMinorVersionUpgrade"] is False, name
        assert properties["DBParameterGroupName"] == {"Ref": "DbParameterGroup"}, name
        assert "slowquery" in properties["EnableCloudwatchLogsExports"], name
    multi_az = template["Resources"]["PrivateDb"]["Properties"]["MultiAZ"]
    assert multi_az == {"Fn::If": ["IsProd", True, {"Ref": "PrivateDbMultiAz"}]}


def test_every_database_secret_rotates_and_the_app_users_alternate(template):
    secrets = _of_type(template, "AWS::SecretsManager::Secret")
    rotations = {r["Properties"]["SecretId"]["Ref"]: r["Properties"] for r in _of_type(
        template, "AWS::SecretsManager::RotationSchedule").values()}  # fmt: skip
    databases = {name for name in secrets if name.startswith(("PrivateDb", "PublicDb"))}
    assert set(rotations) == databases
    for name in databases:
        kind = rotations[name]["HostedRotationLambda"]["RotationType"]
        assert kind == ("MySQLSingleUser" if name in ("PrivateDbSecret", "PublicDbSecret") else "MySQLMultiUser")
        assert rotations[name]["RotateImmediatelyOnUpdate"] is False  # migrate creates the users after the stack
    assert template["Transform"] == "AWS::SecretsManager-2020-07-23"
    outputs = set(template["Outputs"])
    assert {n for access in aws_stage.FUNCTIONS.values() for n in access.db_secrets} <= outputs


def test_what_loses_data_when_replaced_is_kept(template):
    resources = template["Resources"]
    kept = {
        "PlatformKey": "Retain",
        "AsyncFailureQueue": "Retain",
        "Redis": "Snapshot",
        "PrivateDb": "Snapshot",
        "PublicDb": "Snapshot",
        "RedisAuthSecret": "Retain",
        "UserPool": "Retain",
        **{name: "Retain" for name in _of_type(template, "AWS::SecretsManager::Secret")},
    }
    for name, policy in kept.items():
        assert (resources[name]["DeletionPolicy"], resources[name]["UpdateReplacePolicy"]) == (policy, policy), name


def _alarms(template: dict) -> dict[str, dict]:
    return {name: r["Properties"] for name, r in _of_type(template, "AWS::CloudWatch::Alarm").items()}


def test_alarms_cover_the_api_the_databases_the_cache_and_functions_near_their_timeout(template):
    alarms = _alarms(template)
    metrics = {(a.get("Namespace"), a.get("MetricName")) for a in alarms.values()}
    assert {
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
    } <= metrics
    cache = {
        q["MetricStat"]["Metric"]["MetricName"]
        for a in alarms.values()
        for q in a.get("Metrics", [])
        if "MetricStat" in q
    }
    assert cache == {"DatabaseMemoryUsagePercentage", "Evictions"}
    durations = {
        a["Dimensions"][0]["Value"]["Fn::Sub"]: a["Threshold"]["Ref"]
        for a in alarms.values()
        if a.get("MetricName") == "Duration"
    }
    expected = {
        aws_stage.function_name("${Stage}", f).replace(aws_stage.APP_NAME, "${AppName}"): f"{n}DurationAlarmMs"
        for f, n in aws_stage.TEMPLATE_NAMES.items()
    }
    assert durations == expected
    assert all(a["AlarmActions"] == [{"Ref": "ReportTopic"}] for a in alarms.values())


def test_the_deploy_passes_the_sizing_the_alarms_and_the_proxy_follow(template):
    section = json.loads(CONFIG_PATH.read_text())["stages"]["prod"]

    parameters = aws_stage.sizing_parameters(section)

    assert parameters["ApiDurationAlarmMs"] == "20000"  # 80% of the API's 25 s
    assert parameters["IngestDurationAlarmMs"] == "720000"
    assert parameters["DbConnectionsAlarmThreshold"] == "63"
    assert parameters["ProxyMaxConnectionsPercent"] == "75"
    assert set(parameters) <= set(template["Parameters"])


def test_the_dashboard_charts_the_metrics_the_app_emits(template):
    (dashboard,) = _of_type(template, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]  # valid JSON once substituted (no ${} inside JSON syntax)
    assert len(widgets) >= 6
    for metric in logs.METRICS:
        assert f'MetricName=\\"{metric}\\"' in body or f'"{metric}"' in body, metric
    assert logs.METRIC_NAMESPACE in body
