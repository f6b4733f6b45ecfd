"""Who may call what, read back from what AWS would get: ``chalice package`` of the ``iam`` stage (prod) and of the
``jwt`` stage (dev), and the per-scope IAM policies of ``infra/app-access.yaml`` with the deploy's parameters."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.core.auth import SCOPES
from chalicelib.core.http import route_scopes
from chalicelib.core.settings import parse_auth_settings
from devtools import aws_stage, deploy
from devtools.stage import stage_environment
from tests.deploy.test_packaging import package_stage
from tests.support.stack_outputs import OUTPUTS

REST_API_ID = "a1b2c3d4e5"
INVOKE_BASE = f"arn:aws:execute-api:{OUTPUTS['Region']}:{OUTPUTS['AccountId']}:{REST_API_ID}/api"


@pytest.fixture(scope="module")
def prod_package(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return package_stage(tmp_path_factory, "prod")


@pytest.fixture(scope="module")
def dev_package(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return package_stage(tmp_path_factory, "dev")


def _swagger(packaged: dict) -> dict:
    return json.loads(packaged["locals"]["chalice_api_swagger"])


def _operations(packaged: dict) -> dict[tuple[str, str], list[dict]]:
    """``(METHOD, path)`` -> the operation's ``security`` (empty: none) for every route API Gateway serves."""
    return {
        (method.upper(), path): operation.get("security", [])
        for path, operations in _swagger(packaged)["paths"].items()
        for method, operation in operations.items()
    }


def _routes() -> dict[tuple[str, str], str]:
    from app import app

    return route_scopes(app)


def _open_routes(stage: str) -> set[tuple[str, str]]:
    keys = parse_auth_settings(stage_environment(stage)).open_routes
    return {(key.split(" ")[0], key.split(" ")[1]) for key in keys}


def _api_env(packaged: dict) -> dict[str, str]:
    return packaged["resource"]["aws_lambda_function"]["api_handler"]["environment"]["variables"]


def test_every_route_api_gateway_serves_declares_its_scope_and_the_open_ones_exist():
    for stage in ("dev", "prod"):
        assert _open_routes(stage) <= set(_routes()), stage  # a typo in OPEN_ROUTES would close nothing
    assert _open_routes("prod") == {("GET", "/health")}


def test_the_iam_stage_puts_sigv4_on_every_route_it_does_not_list_as_open(prod_package):
    operations = _operations(prod_package)
    assert _api_env(prod_package)["AUTH_MODE"] == "iam"
    assert set(operations) == set(_routes())  # no route left out of the scope declarations
    assert _swagger(prod_package)["securityDefinitions"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    open_routes = _open_routes("prod")
    for route, security in operations.items():
        signed = {"sigv4": []} in security
        assert signed is (route not in open_routes), route


def test_the_jwt_stage_checks_tokens_in_the_function_against_the_stacks_user_pool(dev_package):
    env = _api_env(dev_package)
    assert env["AUTH_MODE"] == "jwt"
    assert env["JWT_ISSUER"] == f"https://cognito-idp.eu-west-1.amazonaws.com/{OUTPUTS['UserPoolId']}"
    assert env["JWT_AUDIENCE"] == OUTPUTS["UserPoolClientId"]
    assert parse_auth_settings(env).open_routes == {"GET /health", "POST /mp6"}
    operations = _operations(dev_package)
    assert set(operations) == set(_routes())
    assert not any({"sigv4": []} in security for security in operations.values())  # the function checks, not IAM
    assert {"api_key": []} in operations[("POST", "/heroes")]  # the usage plan's key stays on the writes


def _request_arn(method: str, path: str) -> str:
    """The ARN API Gateway authorizes for one request to the route (path parameters filled in)."""
    return f"{INVOKE_BASE}/{method}{re.sub(r'{[^}]+}', '7', path)}"


def _allows(pattern: str, arn: str) -> bool:
    """IAM's matching of an execute-api resource: ``*`` stands for any characters, ``/`` included."""
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), arn) is not None


def test_each_scope_policy_allows_exactly_its_own_closed_routes(prod_package):
    """Every route of the packaged API, requested as API Gateway authorizes it, is allowed by its own scope's
    policy only (and by none when the stage leaves it open)."""
    routes = _routes()
    open_routes = parse_auth_settings(_api_env(prod_package)).open_routes
    arns = aws_stage.scope_invoke_arns(OUTPUTS, REST_API_ID, "api", routes, open_routes)
    assert set(arns) == set(SCOPES)
    for method, path in _operations(prod_package):
        request = _request_arn(method, path)
        allowed_by = {name for name, patterns in arns.items() if any(_allows(p, request) for p in patterns)}
        expected = set() if f"{method} {path}" in open_routes else {routes[(method, path)]}
        assert allowed_by == expected, (method, path, allowed_by)
    # and nothing beyond the API's routes: every pattern names one method of this API's stage
    for patterns in arns.values():
        assert all(
            p.startswith(f"{INVOKE_BASE}/") and p.split("/")[2] in {"GET", "POST", "PUT", "PATCH", "DELETE"}
            for p in patterns
        )
    assert {f"{INVOKE_BASE}/GET/heroes", f"{INVOKE_BASE}/GET/heroes/*", f"{INVOKE_BASE}/GET/ingests/*"} <= set(
        arns["read"]
    )
    assert arns["ingest"] == [f"{INVOKE_BASE}/POST/uploads"]


def _template(name: str) -> dict:
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(deploy.INFRA_DIR / name))


def test_the_access_stack_has_one_invoke_only_policy_per_scope_fed_by_the_deploy():
    template = _template("app-access.yaml")
    parameters = aws_stage.access_parameters({scope: [f"{INVOKE_BASE}/GET/x"] for scope in SCOPES})
    assert set(parameters) <= set(template["Parameters"])
    for scope in SCOPES:
        policy = template["Resources"][f"{scope.capitalize()}ScopePolicy"]
        assert policy["Type"] == "AWS::IAM::ManagedPolicy"
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
        assert statement["Resource"] == {"Ref": f"{scope.capitalize()}RouteArns"}
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::GatewayResponse"
    }
    assert responses["ACCESS_DENIED"]["StatusCode"] == "403"
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "401"
    for response in responses.values():
        assert '"Code"' in response["ResponseTemplates"]["application/json"]


def test_the_user_pool_grants_the_apps_scopes_under_the_namespace_the_app_strips():
    from chalicelib.core.tokens import SCOPE_NAMESPACE

    resources = _template("platform.yaml")["Resources"]
    assert resources["ApiScopes"]["Properties"]["Identifier"] == SCOPE_NAMESPACE
    assert [s["ScopeName"] for s in resources["ApiScopes"]["Properties"]["Scopes"]] == list(SCOPES)
    assert resources["ApiClient"]["Properties"]["AllowedOAuthScopes"] == [f"{SCOPE_NAMESPACE}/{s}" for s in SCOPES]
    groups = {r["Properties"]["GroupName"] for r in resources.values() if r["Type"] == "AWS::Cognito::UserPoolGroup"}
    assert groups == set(SCOPES)
