"""Quotes (SPEC §10, §12): the price of sessions that have not happened, by a stored profile's
latest version or by a tariff given inline, explained line by line. Records and changes nothing."""
from . import fields
from .errors import InvalidInput
from .profiles import latest_version, parse_profile
from .tariff import COST_LIMIT, SUBSCRIPTION, Tariff, connection_seconds, is_recorded, over_limit, price

QUOTE_FIELDS = ("profile_id", "profile", "sessions")
SESSION_FIELDS = ("started_at", "ended_at", "extra_minutes")
MAX_SESSIONS = 100
MAX_SESSION_SECONDS = 31 * 86_400  # SPEC §8: a session lasts at most 31 days
BELOW_MINIMUM = {"recorded": False, "reason": "below_minimum_duration"}


def quote(tenant_id: str, values: dict) -> dict:
    """Every session priced in request order; one bad session refuses the whole quote (400)."""
    tariff, profile_id, profile_version = _quoted_tariff(tenant_id, values)
    sessions = _parse_sessions(values.get("sessions"))
    return {"sessions": [_quote_one(f"sessions[{index}]", tariff, profile_id, profile_version, *session)
                         for index, session in enumerate(sessions)]}


def _quoted_tariff(tenant_id: str, values: dict) -> tuple[Tariff, str | None, int | None]:
    profile_id, inline = values.get("profile_id"), values.get("profile")
    if profile_id is not None and inline is not None:
        raise InvalidInput("profile", "give profile_id or profile, not both")
    if profile_id is not None:
        stored = latest_version(tenant_id, fields.identifier("profile_id", profile_id))
        return stored.tariff, stored.profile_id, stored.version
    if inline is None:
        raise InvalidInput("profile_id", "is required (or profile, a tariff given inline)")
    if not isinstance(inline, dict):
        raise InvalidInput("profile", "must be a profile object {type, currency, ...}")
    if "profile_id" in inline:
        raise InvalidInput("profile.profile_id", "is not a field of an inline profile (quote a stored one with profile_id)")
    try:  # the fields of a profile body; a name is optional here, and no id is made up
        _, _, tariff = parse_profile({"name": "quote", **inline}, profile_id="quote")
    except InvalidInput as error:
        raise InvalidInput(f"profile.{error.field}", error.reason) from None
    return tariff, None, None


def _parse_sessions(value) -> list[tuple]:
    fields.bounded_list("sessions", value, MAX_SESSIONS, "a non-empty list of {started_at, ended_at, extra_minutes?}", "sessions",
                        non_empty=True)
    parsed = []
    for index, session in enumerate(value):
        at = f"sessions[{index}]"
        if not isinstance(session, dict):
            raise InvalidInput(at, "must be an object {started_at, ended_at, extra_minutes?}")
        unknown = sorted(set(session) - set(SESSION_FIELDS))
        if unknown:
            raise InvalidInput(f"{at}.{unknown[0]}", "is not a field of a quoted session")
        for required in ("started_at", "ended_at"):
            if session.get(required) is None:
                raise InvalidInput(f"{at}.{required}", "is required")
        started_at = fields.timestamp(f"{at}.started_at", session["started_at"])
        ended_at = fields.timestamp(f"{at}.ended_at", session["ended_at"])
        if ended_at < started_at:
            raise InvalidInput(f"{at}.ended_at", "must not be before started_at")
        connection = connection_seconds(started_at, ended_at)
        if connection > MAX_SESSION_SECONDS:
            raise InvalidInput(f"{at}.ended_at", "a session lasts at most 31 days")
        extra = 0 if session.get("extra_minutes") is None else fields.extra_minutes(f"{at}.extra_minutes", session["extra_minutes"])
        parsed.append((started_at, connection, extra))
    return parsed


def _quote_one(at: str, tariff: Tariff, profile_id, profile_version, started_at, connection: int, extra: int) -> dict:
    if not is_recorded(tariff, connection):
        return dict(BELOW_MINIMUM)
    pricing = price(tariff, connection, extra, started_at)
    if over_limit(pricing.cost):
        raise InvalidInput(at, f"would cost {fields.money_text(pricing.cost)}, above the limit of {COST_LIMIT}")
    return {
        "connection_seconds": connection,
        "total_seconds": pricing.total_seconds,
        "billed_minutes": pricing.billed_minutes,
        "cost": None if tariff.type == SUBSCRIPTION else fields.money_text(pricing.cost),
        "currency": tariff.currency,
        "multiplier": pricing.multiplier_text,
        "pricing": pricing.explanation(profile_id, profile_version),
    }
