"""Secrets and data (SPEC §7): a token never appears in a log line, an answer or the table after it
is issued; exports live under the tenant's prefix with unguessable keys in a bucket that is never
public, and are handed out only as presigned links to their own tenant; CSV cells cannot run as
spreadsheet formulas."""
import csv
import io
import logging
import re
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from billing_core import tenants
from billing_local import template

from .conftest import ROLES, Caller, count, table_items, upload, valid_requests


class Everything(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def test_a_token_never_appears_in_logs_answers_or_the_table(two_seeded_tenants, gateway_once, capfd):
    a, b = two_seeded_tenants
    root, billing = logging.getLogger(), logging.getLogger("billing")
    handler, levels = Everything(), (root.level, billing.level)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    billing.setLevel(logging.DEBUG)
    revoked = tenants.issue_token(a.tenant.tenant_id, "admin")
    tenants.revoke_token(a.tenant.tenant_id, revoked["token_id"])
    secrets = list(a.tenant.tokens.values()) + list(b.tenant.tokens.values()) + [revoked["token"]]
    try:
        calls = 0
        for role in ROLES:
            for key, (method, path, body, query) in valid_requests(a, unique=role).items():
                getattr(a.tenant, role).call(method, path, body, query)
                calls += 1
        for authorization in (f"Bearer {revoked['token']}", f"Basic {a.tenant.tokens['admin']}", a.tenant.tokens["admin"],
                              f"Bearer {a.tenant.tokens['admin']}x", f"Bearer {b.tenant.tokens['admin']}"):
            caller = Caller(gateway_once, None, a.tenant.seen, authorization=authorization)
            for path in ("/v1/me", f"/v1/groups/{a.subscription_group}/totals", "/v1/nope"):
                caller.get(path)
                calls += 1
        a.tenant.admin.get(f"/v1/groups/{a.subscription_group}/sessions", "limit=" + "9" * 5000)  # an error path that logs
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        billing.setLevel(levels[1])
    printed = capfd.readouterr()
    logged = "\n".join(handler.lines) + printed.out + printed.err
    answered = "\n".join(a.tenant.seen)
    assert len(logged) > 1000  # DEBUG logging really was on (botocore logs every request)
    stored = str(table_items())
    for token in secrets:
        secret_part = token.removeprefix(tenants.TOKEN_PREFIX)
        assert secret_part not in logged, "a token was logged"
        assert secret_part not in answered, "a token was answered after it was issued"
        assert secret_part not in stored, "a token is stored in clear"
    assert len(secrets[0]) - len(tenants.TOKEN_PREFIX) >= 43  # 32 random bytes, url-safe base64
    count("calls scanned for tokens in logs and answers", calls)


def test_the_exports_bucket_is_never_public_and_only_reachable_by_presigned_links():
    resources = template.load()["Resources"]
    (bucket_name,) = [name for name, r in resources.items() if r["Type"] == "AWS::S3::Bucket"]
    bucket = resources[bucket_name]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    assert bucket.get("OwnershipControls", {}).get("Rules") == [{"ObjectOwnership": "BucketOwnerEnforced"}]  # no ACLs at all
    assert "AccessControl" not in bucket and "WebsiteConfiguration" not in bucket
    for name, resource in resources.items():
        if resource["Type"] == "AWS::S3::BucketPolicy":
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                assert not (statement["Effect"] == "Allow" and statement.get("Principal") in ("*", {"AWS": "*"})), statement


def test_an_export_link_is_presigned_for_its_own_tenant_only_with_an_unguessable_key(two_seeded_tenants):
    a, b = two_seeded_tenants
    keys, urls = [], []
    for seeded in (a, b):
        for _ in range(3):
            status, export = seeded.tenant.finance.post(f"/v1/groups/{seeded.subscription_group}/exports", {"expires_in_minutes": 30})
            assert status == 201, export
            prefix = f"tenants/{seeded.tenant.tenant_id}/exports/"
            assert re.fullmatch(re.escape(prefix) + r"[A-Za-z0-9_-]{24,}\.csv", export["key"]), export["key"]
            url = urlparse(export["url"])
            assert url.path.endswith("/" + export["key"]) and prefix in url.path
            signed = parse_qs(url.query)
            assert signed["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and signed["X-Amz-Signature"][0]
            assert signed["X-Amz-Expires"] == ["1800"]
            keys.append(export["key"])
            urls.append((seeded, export))
    assert len(set(keys)) == len(keys)
    for seeded, export in urls:
        other = b if seeded is a else a
        # The other tenant cannot have the link made for it, and its own links never name this tenant.
        status, answer = other.tenant.finance.get(f"/v1/exports/{export['export_id']}")
        assert status == 404, answer
        assert seeded.tenant.tenant_id not in str(answer)
        status, again = seeded.tenant.finance.get(f"/v1/exports/{export['export_id']}")
        assert status == 200 and again["key"] == export["key"] and again["url"].split("?")[0] == export["url"].split("?")[0]
    for seeded, export in urls:
        other = b if seeded is a else a
        assert all(other.tenant.tenant_id not in e["url"] for s, e in urls if s is seeded)


FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]


def test_csv_cells_cannot_run_as_formulas_and_numbers_are_never_altered(two_seeded_tenants):
    a, _ = two_seeded_tenants
    tenant, group = a.tenant, "formulas"
    assert tenant.admin.put(f"/v1/groups/{group}", {"name": "=Formula Ltd"})[0] == 201
    assert tenant.admin.put(f"/v1/groups/{group}/contract", {"profile_id": a.pay_profile})[0] == 200
    for n, text in enumerate(FORMULAS):
        status, body = tenant.agent.post("/v1/sessions", upload(f"={n}+1" if n % 2 else f"f-{n}", group, 30, hour=9 + n,
                                                                technician=text, computer_id=f"@pc{n}", notes=text))
        assert status == 201, body
    # SPEC §8: a carriage return is a control character no note may hold (tab and line feed may).
    assert tenant.agent.post("/v1/sessions", upload("cr", group, 30, hour=14, notes="\rReturn"))[0] == 400
    for n, text in enumerate(["\tTab", "+plus", "-minus"]):
        sid = f"n-{n}"
        assert tenant.agent.post("/v1/sessions", upload(sid, group, 30, hour=15 + n, notes=text))[0] == 201
        assert tenant.technician.patch(f"/v1/sessions/{sid}", {"extra_minutes": -5})[0] == 200
    status, export = tenant.finance.post(f"/v1/groups/{group}/exports", {"delimiter": ";"})
    assert status == 201 and export["rows"] == 8, export
    content = boto3.client("s3").get_object(Bucket=_bucket(), Key=export["key"])["Body"].read().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(content, newline=""), delimiter=";"))
    assert len(rows) == 8
    text_columns = ("session_id", "group_id", "technician", "computer_id", "notes", "currency", "status", "profile_id")
    for row in rows:
        for column in text_columns:
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), (column, row[column])
        for column in ("connection_seconds", "extra_minutes", "total_seconds", "billed_minutes", "profile_version"):
            assert re.fullmatch(r"-?\d+", row[column]), (column, row[column])
        assert re.fullmatch(r"\d+\.\d\d", row["cost"]), row["cost"]
    by_id = {row["session_id"].lstrip("'"): row for row in rows}
    assert by_id["n-0"]["extra_minutes"] == "-5"  # a negative number stays a number
    assert by_id["n-0"]["notes"] == "'\tTab" and by_id["n-1"]["notes"] == "'+plus" and by_id["n-2"]["notes"] == "'-minus"
    assert by_id["f-0"]["technician"] == "'" + FORMULAS[0] and by_id["f-0"]["computer_id"] == "'@pc0"
    assert by_id["=1+1"]["session_id"] == "'=1+1"
    count("CSV cells checked for formula injection", len(rows) * len(text_columns))


def _bucket():
    import os

    return os.environ["EXPORTS_BUCKET"]
