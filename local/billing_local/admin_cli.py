"""billing-admin: tenants and API tokens, in AWS or in the local stack.

    billing-admin [--table T] [--stack .local/stack.json] [--region R] COMMAND ...
      create-tenant NAME [--tenant-id ID]
      issue-token TENANT_ID ROLE [--label L]      prints the token once (only its SHA-256 is stored)
      list-tokens TENANT_ID
      revoke-token TENANT_ID TOKEN_ID

The table is --table or TABLE_NAME (the stack's TableName output in AWS). In AWS the usual
credentials apply (AWS_PROFILE, environment, SSO...); AWS_ENDPOINT_URL points it at another
endpoint, and --stack reads the local stack's endpoint and table from its state file.
Answers are JSON on stdout; errors one line on stderr, exit code 2."""
import argparse
import json
import os
import sys
from pathlib import Path

EXIT_ERROR = 2


class AdminError(Exception):
    pass


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--table", default=default, help="DynamoDB table (default: $TABLE_NAME)")
    parser.add_argument("--stack", type=Path, default=default, metavar="STATE",
                        help="use the local stack described by this file (e.g. .local/stack.json)")
    parser.add_argument("--region", default=default, help="AWS region (default: $AWS_REGION or your AWS config)")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="billing-admin", description=__doc__.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    _common(main, suppress=False)
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help):
        sub = commands.add_parser(name, help=help, description=help)
        _common(sub, suppress=True)  # the options work before or after the command
        return sub

    create = command("create-tenant", "create a tenant (an MSP)")
    create.add_argument("name")
    create.add_argument("--tenant-id", help="letters, digits, '-' or '_' (default: generated)")
    issue = command("issue-token", "issue an API token for a role; the token is printed once")
    issue.add_argument("tenant_id")
    issue.add_argument("role", help="admin, technician, finance or agent")
    issue.add_argument("--label", help="what the token is for (e.g. 'agent on site A')")
    listing = command("list-tokens", "list a tenant's tokens (never the tokens themselves)")
    listing.add_argument("tenant_id")
    revoke = command("revoke-token", "revoke a token: it is refused from now on")
    revoke.add_argument("tenant_id")
    revoke.add_argument("token_id")
    return main


def configure(args: argparse.Namespace) -> None:
    """Settings are environment variables (billing_core.settings reads them): set them before any client."""
    if args.stack is not None:
        try:
            state = json.loads(args.stack.read_text())
            endpoint, table = state["aws_endpoint_url"], state["table"]
        except FileNotFoundError:
            raise AdminError(f"{args.stack} not found: is the local stack running (make run)?") from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise AdminError(f"{args.stack} is not a local stack description ({error})") from None
        os.environ.update({"AWS_ENDPOINT_URL": endpoint, "TABLE_NAME": args.table or table,
                           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1"})
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):  # the local stack never sees real credentials
            os.environ.pop(name, None)
    elif args.table:
        os.environ["TABLE_NAME"] = args.table
    if not os.environ.get("TABLE_NAME"):
        raise AdminError("no table: give --table (the stack's TableName output), set TABLE_NAME, or --stack .local/stack.json")
    if args.region:
        os.environ["AWS_REGION"] = args.region
    elif not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        import boto3  # the region of the user's AWS config, as the AWS CLI would use it

        region = boto3.session.Session().region_name
        if region:
            os.environ["AWS_REGION"] = region


def run(args: argparse.Namespace) -> dict:
    from billing_core import fields, tenants
    from billing_core.dal import models

    models.reset()
    if args.command == "create-tenant":
        tenant_id = None if args.tenant_id is None else fields.identifier("tenant_id", args.tenant_id)
        return tenants.create_tenant(args.name, tenant_id=tenant_id)
    tenant_id = fields.identifier("tenant_id", args.tenant_id)
    if args.command == "issue-token":
        label = None if args.label is None else fields.name("label", args.label)
        return tenants.issue_token(tenant_id, args.role, label=label)
    if args.command == "list-tokens":
        return {"tenant_id": tenant_id, "tokens": tenants.list_tokens(tenant_id)}
    return {"tenant_id": tenant_id, **tenants.revoke_token(tenant_id, fields.identifier("token_id", args.token_id))}


def explain(error: Exception, args: argparse.Namespace) -> str | None:
    """One line for what went wrong, or None when it is not a known kind of failure."""
    from botocore.exceptions import BotoCoreError, NoCredentialsError, NoRegionError
    from pynamodb.exceptions import PynamoDBException

    from billing_core.errors import BillingError

    table = os.environ.get("TABLE_NAME")
    if isinstance(error, AdminError):
        return str(error)
    if isinstance(error, BillingError):
        return f"{error.code}: {error.message}"
    if isinstance(error, PynamoDBException):
        code = getattr(error, "cause_response_code", None)
        if code == "ConditionalCheckFailedException" and args.command == "create-tenant":
            return f"conflict: tenant {args.tenant_id} already exists"
        if code == "ResourceNotFoundException":
            return f"table {table} not found (region {os.environ.get('AWS_REGION', '?')}, endpoint {os.environ.get('AWS_ENDPOINT_URL', 'AWS')})"
        cause = error.__cause__ or error.cause or error
        if isinstance(cause, (NoCredentialsError, NoRegionError)):
            return f"{cause} (configure AWS credentials and region, or use --stack for the local stack)"
        return f"DynamoDB refused the request: {code or type(cause).__name__}: {getattr(error, 'cause_response_message', None) or cause}"
    if isinstance(error, BotoCoreError):
        return f"{error} (is the endpoint reachable and are AWS credentials configured?)"
    return None


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        configure(args)
        answer = run(args)
    except Exception as error:
        message = explain(error, args)
        if message is None:
            raise
        print(f"billing-admin: {message}", file=sys.stderr)
        return EXIT_ERROR
    try:
        print(json.dumps(answer, indent=2), flush=True)
    except BrokenPipeError:  # `billing-admin ... | head`: the reader left, nothing to report
        sys.stdout = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
