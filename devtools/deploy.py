"""``make deploy STAGE=dev`` and ``make teardown STAGE=dev``: the platform on a real AWS account.

Deploy, in order (each step is idempotent, so a failed run is simply run again):

1. the platform stack (``infra/platform.yaml``): network, databases, Redis, buckets, topics, key, queue, alarms;
2. the stage in ``.chalice/config.json`` and its policy files, from the stack's outputs (``devtools/aws_stage.py``);
3. the SSM SecureString of Redis' token (from its secret; the databases' users are read from Secrets Manager at
   run time), and the CA bundle the functions verify MySQL's certificates with;
4. ``chalice deploy --stage <stage>`` with ``CHALICE_STAGE`` set, so decorator arguments read this stage;
5. the access stack (``infra/app-access.yaml``): the API key (usage plan) of the write routes, one IAM policy
   per scope, API Gateway's 401/403 bodies, the async failure queue;
6. the app's database users and the schema: the ``migrate`` function, invoked inside the VPC, for the default
   and the public database.

Options come from the environment: ``PUBLIC_DB_CIDR`` (default: this machine's public IP/32), ``ALERT_EMAIL``,
``SES_SENDER``, ``SES_RECIPIENTS``, ``INSIGHTS_MODEL_ID``, ``JWT_ISSUER`` + ``JWT_AUDIENCE`` (+ ``JWT_JWKS_URL``:
an OIDC issuer other than the stack's Cognito user pool), ``STACK_PREFIX`` (default ``platform``). AWS credentials
and region are boto3's usual ones (``AWS_PROFILE``, ``AWS_DEFAULT_REGION``, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from devtools import aws_stage
from devtools.stage import PROJECT_DIR, stage_environment

INFRA_DIR = PROJECT_DIR / "infra"
STACK_WAIT = {"Delay": 20, "MaxAttempts": 270}  # RDS and ElastiCache take 15-40 minutes to create
NO_UPDATES = "No updates are to be performed"


def stack_names(stage: str) -> tuple[str, str]:
    prefix = os.environ.get("STACK_PREFIX", "platform")
    return f"{prefix}-{stage}", f"{prefix}-{stage}-access"


DeployService = Literal["apigateway", "cloudformation", "iam", "lambda", "s3", "secretsmanager", "sns", "ssm"]


def _client(service: DeployService, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(**config)) if config else boto3.client(service)


def stack_outputs(cloudformation: Any, name: str) -> dict[str, str] | None:
    """The outputs of stack ``name``, or None when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def deploy_stack(cloudformation: Any, name: str, template: Path, parameters: Mapping[str, str]) -> dict[str, str]:
    """Create stack ``name`` or update it to ``template``; wait until done; return its outputs."""
    from botocore.exceptions import ClientError

    arguments = {
        "StackName": name,
        "TemplateBody": template.read_text(),
        "Parameters": [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        "Tags": [{"Key": "platform-stack", "Value": name}],
    }
    if stack_outputs(cloudformation, name) is None:
        print(f"[deploy] creating stack {name} (the first time takes 20-40 minutes: RDS and ElastiCache)")
        cloudformation.create_stack(OnFailure="DELETE", **arguments)
        cloudformation.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=STACK_WAIT)
    else:
        print(f"[deploy] updating stack {name}")
        try:
            cloudformation.update_stack(**arguments)
        except ClientError as exc:
            if NO_UPDATES not in str(exc):
                raise
            print(f"[deploy] stack {name} is up to date")
        else:
            cloudformation.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=STACK_WAIT)
    return stack_outputs(cloudformation, name) or {}


def deploy_options(environ: Mapping[str, str]) -> dict[str, str]:
    """The deploy's optional settings from the environment (empty ones left out)."""
    names = ("ALERT_EMAIL", *aws_stage.OPTIONAL_SETTINGS)
    return {name: environ[name] for name in names if environ.get(name)}


def public_db_cidr(environ: Mapping[str, str]) -> str:
    """Who may reach the public MySQL: ``PUBLIC_DB_CIDR``, or this machine's public address."""
    if environ.get("PUBLIC_DB_CIDR"):
        return environ["PUBLIC_DB_CIDR"]
    with urllib.request.urlopen("https://checkip.amazonaws.com", timeout=10) as answer:
        return answer.read().decode().strip() + "/32"


def platform_parameters(
    stage: str, options: Mapping[str, str], cidr: str, section: Mapping[str, Any]
) -> dict[str, str]:
    """The platform stack's parameters: the deploy's options and what follows from the stage's ``section`` of
    config.json (instance class, connection budget, duration alarms)."""
    return {
        "Stage": stage,
        "AppName": aws_stage.APP_NAME,
        "PublicDbIngressCidr": cidr,
        "AlertEmail": options.get("ALERT_EMAIL", ""),
        "SesSender": options.get("SES_SENDER", ""),
        "InsightsModelId": options.get("INSIGHTS_MODEL_ID", ""),
        **aws_stage.sizing_parameters(section),
        "AuthMode": aws_stage.deployed_auth_mode(section.get("environment_variables", {})),
    }


def redis_token(secretsmanager: Any, outputs: Mapping[str, str]) -> str:
    secret = secretsmanager.get_secret_value(SecretId=outputs["RedisAuthSecretArn"])["SecretString"]
    return json.loads(secret)["token"]


CA_BUNDLE_SOURCES = (
    "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",  # the RDS instances' CAs
    "https://www.amazontrust.com/repository/AmazonRootCA1.pem",  # RDS Proxy's certificates come from ACM
    "https://www.amazontrust.com/repository/AmazonRootCA3.pem",
)


def fetch_ca_bundle(project_dir: Path, sources: tuple[str, ...] = CA_BUNDLE_SOURCES) -> Path:
    """Write the CA bundle the functions verify MySQL's certificate with (``DB_SSL_CA``) into the package."""
    path = project_dir / aws_stage.DB_CA_BUNDLE
    path.parent.mkdir(parents=True, exist_ok=True)
    certificates = []
    for url in sources:
        with urllib.request.urlopen(url, timeout=30) as answer:
            certificates.append(answer.read().decode("ascii").strip())
    path.write_text("\n".join(certificates) + "\n")
    return path


def write_parameters(ssm: Any, parameters: Mapping[str, str], key_arn: str) -> None:
    """Write each parameter as a SecureString encrypted with the stack's key (the one the policies allow)."""
    for name, value in parameters.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", KeyId=key_arn, Overwrite=True)


def deployed_rest_api(project_dir: Path, stage: str) -> dict[str, str]:
    """``rest_api_id`` and ``rest_api_url`` of the stage, from what ``chalice deploy`` recorded."""
    deployed = json.loads((project_dir / ".chalice" / "deployed" / f"{stage}.json").read_text())
    for resource in deployed["resources"]:
        if resource.get("resource_type") == "rest_api":
            return {"rest_api_id": resource["rest_api_id"], "rest_api_url": resource["rest_api_url"]}
    raise SystemExit(f".chalice/deployed/{stage}.json records no REST API; did chalice deploy succeed?")


SNS_SUBSCRIPTION_SUFFIX = "-sns-subscription"  # Chalice's name for a function's topic subscription


def apply_filter_policies(sns: Any, project_dir: Path, stage: str) -> dict[str, str]:
    """Set each deployed topic subscription's filter policy (``aws_stage.FUNCTIONS``); Chalice creates the
    subscriptions without one. Returns subscription ARN -> the policy set."""
    deployed = json.loads((project_dir / ".chalice" / "deployed" / f"{stage}.json").read_text())
    applied: dict[str, str] = {}
    for resource in deployed["resources"]:
        if resource.get("resource_type") != "sns_event":
            continue
        function = resource["name"].removesuffix(SNS_SUBSCRIPTION_SUFFIX)
        declared = aws_stage.FUNCTIONS[function].sns_filter_policy
        if declared:
            applied[resource["subscription_arn"]] = json.dumps(declared, sort_keys=True)
    for arn, policy in applied.items():
        sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=policy)
    return applied


def package(project_dir: Path, stage: str, out_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """``chalice package --pkg-format terraform`` of ``stage`` into ``out_dir``, completed with what Chalice
    cannot declare (the subscriptions' filter policies); returns the template it wrote to chalice.tf.json."""
    executable = Path(sys.executable).with_name("chalice")
    arguments = [str(executable), "package", "--pkg-format", "terraform", "--stage", stage, str(out_dir)]
    result = subprocess.run(
        arguments, cwd=project_dir, env={**env, "CHALICE_STAGE": stage}, capture_output=True, text=True, timeout=300
    )
    if result.returncode:
        raise SystemExit(f"chalice package failed:\n{result.stdout}{result.stderr}")
    path = out_dir / "chalice.tf.json"
    terraform = aws_stage.filter_subscriptions(json.loads(path.read_text()))
    path.write_text(json.dumps(terraform, indent=2) + "\n")
    return terraform


def throttle_api_stage(apigateway: Any, rest_api_id: str, stage_name: str, rate: float, burst: int) -> None:
    """Throttle every method of the API's stage (Chalice creates the stage without; the usage plan's throttle
    covers only requests with its key): beyond it API Gateway answers 429 before the function is invoked."""
    apigateway.update_stage(
        restApiId=rest_api_id,
        stageName=stage_name,
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(rate)},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(burst)},
        ],
    )


def invoke_migrate(lambda_client: Any, stage: str, source: str) -> dict[str, Any]:
    """Run the ``migrate`` function for ``source`` and return its answer; a failure stops the deploy."""
    name = aws_stage.function_name(stage, "migrate")
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=name)  # a VPC function's update takes a while
    answer = lambda_client.invoke(
        FunctionName=name,
        InvocationType="RequestResponse",
        Payload=json.dumps({"source": source}).encode(),
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        raise SystemExit(f"[deploy] migrate {source} failed: {json.dumps(payload)}")
    return payload


def chalice(*arguments: str, stage: str) -> None:
    executable = Path(sys.executable).with_name("chalice")
    env = {**os.environ, "CHALICE_STAGE": stage}
    subprocess.run([str(executable), *arguments, "--stage", stage], cwd=PROJECT_DIR, env=env, check=True)


def _refuse_emulator() -> None:
    if os.environ.get("AWS_ENDPOINT_URL"):
        raise SystemExit("AWS_ENDPOINT_URL is set (the local emulator?); unset it to deploy to AWS")
    import boto3

    session = boto3.session.Session()
    if not session.region_name:
        raise SystemExit("no AWS region: export AWS_DEFAULT_REGION=<region> (or set region in your AWS profile)")
    if session.get_credentials() is None:
        raise SystemExit(
            "no AWS credentials: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE=<a profile>)"
        )


def deployed_region(iam: Any, stage: str) -> str | None:
    """The region the stage's functions were deployed to, from its API function's IAM role (IAM is global,
    Chalice names roles <app>-<stage>-<function>), or None when it was never deployed."""
    role = f"{aws_stage.APP_NAME}-{stage}-{aws_stage.REST_API_FUNCTION}"
    try:
        document = iam.get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"]
    except iam.exceptions.NoSuchEntityException:
        return None
    if isinstance(document, str):  # botocore decodes it; the raw API answers URL-encoded JSON
        document = json.loads(urllib.parse.unquote(document))
    for statement in document.get("Statement", []):
        if statement.get("Sid") == "CreateOwnLogGroup":
            return statement["Resource"][0].split(":")[3]
    return None


def check_region(iam: Any, stage: str, region: str) -> None:
    """Refuse to deploy ``stage`` into a second region: its IAM roles are global and would be rewritten for this
    region, breaking the first deployment's functions."""
    first = deployed_region(iam, stage)
    if first and first != region:
        raise SystemExit(
            f"stage {stage} is deployed in {first}; its IAM roles (global, named by app and stage) would be "
            f"rewritten for {region} and the functions in {first} would lose their permissions. Deploy to "
            f"{first}, or tear {stage} down there first (make teardown STAGE={stage} AWS_DEFAULT_REGION={first})"
        )


LAMBDA_MIN_UNRESERVED = 10  # Lambda refuses a reservation that leaves the account fewer unreserved executions


def check_concurrency(lambda_client: Any, stage: str, config_path: Path) -> None:
    """Fail before creating anything when the functions could open more MySQL connections than the database
    allows, or the account cannot grant the stage's reserved concurrency (new accounts often have a limit of 10
    concurrent executions, all of which must stay unreserved)."""
    section = json.loads(config_path.read_text())["stages"][stage]
    try:
        aws_stage.check_connection_budget(section)
    except ValueError as exc:
        raise SystemExit(f"stage {stage}: {exc}") from None
    functions = section.get("lambda_functions", {})
    reserved = sum(entry.get("reserved_concurrency") or 0 for entry in functions.values())
    limit = lambda_client.get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
    if reserved and limit - reserved < LAMBDA_MIN_UNRESERVED:
        raise SystemExit(
            f"this account allows {limit} concurrent Lambda executions; reserving {reserved} would leave fewer than "
            f"{LAMBDA_MIN_UNRESERVED} unreserved. Ask for more (Service Quotas > AWS Lambda > Concurrent "
            f"executions) or remove reserved_concurrency from stages.{stage}.lambda_functions in .chalice/config.json"
        )


def scope_policies_arns(stage: str, outputs: Mapping[str, str], rest_api_id: str) -> dict[str, list[str]]:
    """What each scope's IAM policy allows: the app's routes as declared (``json_route(..., scope=...)``) less the
    ones the stage leaves open."""
    from app import app
    from chalicelib.core.http import route_scopes
    from chalicelib.core.settings import parse_auth_settings

    open_routes = parse_auth_settings(stage_environment(stage)).open_routes
    return aws_stage.scope_invoke_arns(outputs, rest_api_id, api_stage(stage), route_scopes(app), open_routes)


def api_stage(stage: str) -> str:
    """API Gateway's stage of the Chalice stage (the ``/api`` of the URL)."""
    return json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())["stages"][stage]["api_gateway_stage"]


def deploy(stage: str) -> None:
    _refuse_emulator()
    import boto3

    check_region(_client("iam"), stage, boto3.session.Session().region_name)
    check_concurrency(_client("lambda"), stage, PROJECT_DIR / ".chalice" / "config.json")
    cloudformation = _client("cloudformation")
    platform_stack, access_stack = stack_names(stage)
    options = deploy_options(os.environ)
    section = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())["stages"][stage]
    parameters = platform_parameters(stage, options, public_db_cidr(os.environ), section)
    outputs = deploy_stack(cloudformation, platform_stack, INFRA_DIR / "platform.yaml", parameters)

    aws_stage.write_stage(PROJECT_DIR, stage, outputs, options)
    print(f"[deploy] wrote stage {stage} into .chalice/config.json and .chalice/policy-{stage}-*.json")
    token = redis_token(_client("secretsmanager"), outputs)
    write_parameters(_client("ssm"), aws_stage.ssm_parameters(outputs, token), outputs["PlatformKeyArn"])
    print(f"[deploy] Redis token in SSM under {outputs['ParameterPath']} (SecureString)")
    print(f"[deploy] MySQL CA bundle: {fetch_ca_bundle(PROJECT_DIR)}")

    chalice("deploy", stage=stage)
    apply_filter_policies(_client("sns"), PROJECT_DIR, stage)
    api = deployed_rest_api(PROJECT_DIR, stage)
    rate, burst = aws_stage.api_throttle(section)
    throttle_api_stage(_client("apigateway"), api["rest_api_id"], section["api_gateway_stage"], rate, burst)
    print(f"[deploy] API stage throttled at {rate:g} requests/s, burst {burst}")
    access = deploy_stack(
        cloudformation,
        access_stack,
        INFRA_DIR / "app-access.yaml",
        {
            "Stage": stage,
            "AppName": aws_stage.APP_NAME,
            "RestApiId": api["rest_api_id"],
            "AsyncFailureQueueArn": outputs["AsyncFailureQueueArn"],
            **aws_stage.access_parameters(scope_policies_arns(stage, outputs, api["rest_api_id"])),
        },
    )
    # API Gateway serves a changed gateway response (the 401/403 bodies) only from its next deployment
    _client("apigateway").create_deployment(restApiId=api["rest_api_id"], stageName=api_stage(stage))
    lambda_client = _client("lambda", read_timeout=900, retries={"max_attempts": 0})
    for source in aws_stage.MIGRATED_SOURCES:
        result = invoke_migrate(lambda_client, stage, source)
        print(f"[deploy] users of {source}: {', '.join(result.get('users') or []) or 'none declared'}")
        print(f"[deploy] schema of {source}: applied {result.get('applied') or 'nothing (up to date)'}")
    print(
        f"[deploy] done. API: {api['rest_api_url']} (API key {access['ApiKeyId']})\n"
        f'  eval "$(.venv/bin/python -m devtools.deploy env --stage {stage})"  # sets API, API_KEY, DATA_BUCKET'
    )


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every version and delete marker of ``bucket`` (a versioned bucket must be empty to be deleted)."""
    deleted = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            objects = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
                deleted += len(objects)
    except s3.exceptions.NoSuchBucket:
        pass  # a previous teardown got as far as deleting it
    return deleted


def delete_parameters(ssm: Any, path: str) -> int:
    names = [
        parameter["Name"]
        for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True)
        for parameter in page["Parameters"]
    ]
    for start in range(0, len(names), 10):  # DeleteParameters takes at most 10 names
        ssm.delete_parameters(Names=names[start : start + 10])
    return len(names)


def delete_stack(cloudformation: Any, name: str) -> None:
    if stack_outputs(cloudformation, name) is None:
        return
    from botocore.exceptions import WaiterError

    print(f"[teardown] deleting stack {name}")
    cloudformation.delete_stack(StackName=name)
    try:
        cloudformation.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=STACK_WAIT)
    except WaiterError as exc:
        raise SystemExit(
            f"[teardown] stack {name} was not deleted ({exc}). A subnet or security group still in use means Lambda "
            "has not yet released the functions' network interfaces: wait 20-40 minutes and run the teardown "
            "again. A database with deletion protection (prod) must have it turned off first (docs/deploy.md)."
        ) from exc


def teardown(stage: str, confirmed: bool) -> None:
    _refuse_emulator()
    platform_stack, access_stack = stack_names(stage)
    if not confirmed and input(f"Delete stage {stage} and ALL its data? Type the stage name: ").strip() != stage:
        raise SystemExit("not confirmed; nothing deleted")
    cloudformation = _client("cloudformation")
    delete_stack(cloudformation, access_stack)
    if (PROJECT_DIR / ".chalice" / "deployed" / f"{stage}.json").exists():
        chalice("delete", stage=stage)
    outputs = stack_outputs(cloudformation, platform_stack)
    if outputs is None:
        print(f"[teardown] stack {platform_stack} does not exist; nothing more to delete")
        return
    s3 = _client("s3")
    for bucket in (outputs["DataBucketName"], outputs["ArchiveBucketName"]):
        print(f"[teardown] emptied {bucket}: {empty_bucket(s3, bucket)} object versions")
    print(f"[teardown] deleted {delete_parameters(_client('ssm'), outputs['ParameterPath'])} SSM parameters")
    delete_stack(cloudformation, platform_stack)
    print("[teardown] done; final snapshots of the two databases are kept (aws rds describe-db-snapshots)")


def shell_environment(stage: str, cloudformation: Any, apigateway: Any, project_dir: Path) -> dict[str, str]:
    """What a user needs to call the deployed stage: its URL, the write routes' key, the buckets, and where its
    callers get tokens (the user pool, its app client and token endpoint: docs/auth.md)."""
    import shlex

    platform_stack, access_stack = stack_names(stage)
    access = stack_outputs(cloudformation, access_stack)
    platform = stack_outputs(cloudformation, platform_stack)
    if access is None or platform is None:
        raise SystemExit(f"stack {platform_stack} or {access_stack} is missing; run make deploy STAGE={stage}")
    key = apigateway.get_api_key(apiKey=access["ApiKeyId"], includeValue=True)["value"]
    settings = json.loads((project_dir / ".chalice" / "config.json").read_text())["stages"][stage]
    values = {
        "API": deployed_rest_api(project_dir, stage)["rest_api_url"].rstrip("/"),
        "API_KEY": key,
        "DATA_BUCKET": settings["environment_variables"]["DATA_BUCKET"],
        "ARCHIVE_BUCKET": settings["environment_variables"]["ARCHIVE_BUCKET"],
        "USER_POOL_ID": platform["UserPoolId"],
        "CLIENT_ID": platform["UserPoolClientId"],
        "TOKEN_URL": platform["TokenUrl"],
    }
    return {name: shlex.quote(value) for name, value in values.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "command",
        choices=["deploy", "teardown", "env", "package"],
        help="env: print export lines for eval; package: the stage as terraform (chalice package + filter policies)",
    )
    parser.add_argument("--stage", required=True, choices=["dev", "prod"])
    parser.add_argument("--yes", action="store_true", help="teardown without asking")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "build" / "terraform", help="package: directory")
    args = parser.parse_args(argv)
    if args.command == "deploy":
        deploy(args.stage)
    elif args.command == "package":
        package(PROJECT_DIR, args.stage, args.out, os.environ)
        print(f"[package] {args.out / 'chalice.tf.json'}")
    elif args.command == "env":
        _refuse_emulator()
        values = shell_environment(args.stage, _client("cloudformation"), _client("apigateway"), PROJECT_DIR)
        print("\n".join(f"export {name}={value}" for name, value in values.items()))
    else:
        teardown(args.stage, args.yes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
