"""A presigned link is only as good as the credentials that signed it: its lifetime is capped at
theirs, and GET /v1/exports/{id} answers a fresh link (signed now) for as long as the file lives."""
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from botocore.credentials import Credentials, RefreshableCredentials

from billing_core import fields
from billing_core.files import s3

WEEK = 7 * 24 * 3600


def refreshable(expires_in: timedelta) -> RefreshableCredentials:
    return RefreshableCredentials("AKIA", "secret", "token", fields.utc_now() + expires_in, refresh_using=lambda: {}, method="test")


def test_long_term_keys_sign_a_link_for_as_long_as_asked():
    assert s3.link_seconds(WEEK, Credentials("AKIA", "secret")) == WEEK


def test_session_credentials_of_unknown_expiry_sign_for_an_hour_at_most():
    assert s3.link_seconds(WEEK, Credentials("ASIA", "secret", "session-token")) == 3600
    assert s3.link_seconds(900, Credentials("ASIA", "secret", "session-token")) == 900


def test_refreshable_credentials_sign_until_shortly_before_they_expire():
    assert 2 * 3600 - 70 <= s3.link_seconds(WEEK, refreshable(timedelta(hours=2))) <= 2 * 3600 - 60
    assert s3.link_seconds(900, refreshable(timedelta(hours=2))) == 900
    assert s3.link_seconds(900, refreshable(timedelta(seconds=30))) == 1  # never 0 or negative


def test_the_status_route_answers_a_fresh_link_each_time(msp):
    from api.conftest import create_group, create_profile, record

    create_profile(msp, profile_id="standard")
    create_group(msp, "acme", "standard", computers=["pc-1"])
    record(msp, "s-1")
    status, created = msp.finance.post("/v1/groups/acme/exports", {"expires_in_minutes": 7 * 24 * 60})
    assert status == 201 and parse_qs(urlparse(created["url"]).query)["X-Amz-Expires"] == ["3600"]
    status, again = msp.finance.get(f"/v1/exports/{created['export_id']}")
    assert status == 200 and again["status"] == "ready" and again["key"] == created["key"]
    assert parse_qs(urlparse(again["url"]).query)["X-Amz-Expires"] == ["3600"]
    assert again["expires_at"] >= created["expires_at"]
