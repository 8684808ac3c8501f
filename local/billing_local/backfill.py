"""Backfill after an upgrade: the open-session index and the running totals for data written
before SPEC §9 (billing_core.backfill). Safe while traffic flows; run it again at will.

    python -m billing_local.backfill [--table NAME] [--endpoint URL | --stack STATE] [--region R]
                                     [--tenant T [--group G]] [--check]

--check reports and writes nothing (an audit: exit code 1 when something needs writing). The
table is --table or TABLE_NAME (the stack's TableName output in AWS, with the usual AWS
credentials); --stack .local/stack.json reads the local stack's endpoint and table. Without
--tenant every tenant is backfilled (found by a Scan of the table). Prints the report as JSON
(with the DynamoDB round trips it took); each group's progress on stderr. Exit code 1 also when a
day kept changing under it (run it again), 2 on an error."""
import argparse
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

from .admin_cli import AdminError, EXIT_ERROR, explain

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m billing_local.backfill", description=__doc__.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    main.add_argument("--table", help="DynamoDB table (default: $TABLE_NAME)")
    main.add_argument("--endpoint", help="DynamoDB endpoint URL (default: $AWS_ENDPOINT_URL, else AWS)")
    main.add_argument("--stack", type=Path, metavar="STATE", help="the local stack described by this file (.local/stack.json)")
    main.add_argument("--region", help="AWS region (default: $AWS_REGION or your AWS config)")
    main.add_argument("--tenant", help="only this tenant")
    main.add_argument("--group", help="only this group (with --tenant)")
    main.add_argument("--check", action="store_true", help="report only, write nothing")
    return main


def configure(args: argparse.Namespace) -> None:
    """Settings are environment variables (billing_core.settings reads them): set before any client."""
    from . import admin_cli

    if args.group and not args.tenant:
        raise AdminError("--group needs --tenant")
    if args.stack is not None and args.endpoint:
        raise AdminError("give --stack or --endpoint, not both")
    if args.endpoint:
        if urlparse(args.endpoint).scheme not in ("http", "https"):
            raise AdminError(f"--endpoint {args.endpoint} is not an http(s) URL")
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint
        if urlparse(args.endpoint).hostname in LOOPBACK and not os.environ.get("AWS_ACCESS_KEY_ID"):
            os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"})  # a local fake takes any
    admin_cli.configure(args)


def refused(error: Exception) -> str | None:
    """The raw reads (Scan, Query) fail as botocore's ClientError, not as pynamodb's errors."""
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError):
        return None
    code = error.response.get("Error", {}).get("Code")
    if code == "ResourceNotFoundException":
        return (f"table {os.environ.get('TABLE_NAME')} not found (region {os.environ.get('AWS_REGION', '?')}, "
                f"endpoint {os.environ.get('AWS_ENDPOINT_URL', 'AWS')})")
    return f"DynamoDB refused the request: {code}: {error.response.get('Error', {}).get('Message')}"


def every_tenant() -> list[str]:
    """Every tenant of the table: one Scan (projected, filtered on the item kind). No index lists
    tenants, and the functions' code never Scans (tests/test_storage.py): this one-off of an
    operator's tool reads the whole table once, which `--tenant` avoids."""
    from billing_core import settings
    from billing_core.dal import models

    client = models.connection().client
    pages = client.get_paginator("scan").paginate(
        TableName=settings.table_name(), ProjectionExpression="tenant_id", FilterExpression="#k = :tenant",
        ExpressionAttributeNames={"#k": "kind"}, ExpressionAttributeValues={":tenant": {"S": "tenant"}})
    return sorted(item["tenant_id"]["S"] for page in pages for item in page.get("Items", ()))


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        configure(args)
        from billing_core import backfill, fields
        from billing_core.dal import models

        from .bench import RoundTrips

        models.reset()
        tenant = None if args.tenant is None else fields.identifier("tenant", args.tenant)
        group = None if args.group is None else fields.identifier("group", args.group)

        def progress(tenant_id: str, group_id: str, report) -> None:
            print(f"{tenant_id}/{group_id}: {report.months_checked} months checked so far", file=sys.stderr, flush=True)

        with RoundTrips() as trips:
            report = backfill.backfill([tenant] if tenant else every_tenant(), group, check=args.check, progress=progress)
    except Exception as error:
        message = explain(error, argparse.Namespace(command="backfill", tenant_id=args.tenant)) or refused(error)
        if message is None:
            raise
        print(f"backfill: {message}", file=sys.stderr)
        return EXIT_ERROR
    print(json.dumps({**report.view(), "round_trips": trips.dynamodb}, indent=2), flush=True)
    return 1 if report.months_moving or (args.check and report.needs_writing) else 0


if __name__ == "__main__":
    sys.exit(main())
