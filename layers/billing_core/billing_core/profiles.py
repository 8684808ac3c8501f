"""Accounting profiles: versioned tariffs. An update writes version n+1 and keeps every older
one; the contracts that use the profile take the new tariff for their to_account sessions."""
from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

from . import deadline, fields
from .dal import profiles as dal_profiles
from .dal.contracts import answered
from .dal import store
from .dal.models import ProfileVersion
from .dal.outcomes import AlreadyExists, LostRace
from .errors import Conflict, InvalidInput, NotFound, Unavailable
from .tariff import COST_LIMIT, OPTIONAL_FIELDS, PAY_PER_USE, TARIFF_FIELDS, Tariff, over_limit, price
from .tariff_fields import parse_tariff, tariff_values

if TYPE_CHECKING:  # annotations only: idempotency is loaded by a request that sends a key
    from .idempotency import Claim

REFRESH_RESERVE_SECONDS = 0.5  # kept back to answer: one refresh is one round trip
PROFILE_FIELDS = {"profile_id", "name", "type"} | {
    name for kinds in (TARIFF_FIELDS, OPTIONAL_FIELDS) for names in kinds.values() for name in names
}


def profile_view(profile: ProfileVersion) -> dict:
    return {
        "profile_id": profile.profile_id,
        "name": profile.name,
        "version": profile.version,
        "created_at": fields.utc_text(profile.created_at),
        **tariff_values(profile.tariff),
    }


def parse_profile(values: dict, *, profile_id: str | None = None) -> tuple[str, str, Tariff]:
    """The profile a request describes: (profile_id, name, tariff). Fields of the other type are refused."""
    profile_type = values.get("type")
    if profile_type is None:
        raise InvalidInput("type", "is required")
    if not isinstance(profile_type, str) or profile_type not in TARIFF_FIELDS:
        raise InvalidInput("type", f"must be one of {', '.join(TARIFF_FIELDS)}")
    foreign = sorted(set(values) - {"profile_id", "name", "type", *TARIFF_FIELDS[profile_type], *OPTIONAL_FIELDS[profile_type]})
    if foreign:
        raise InvalidInput(foreign[0], f"is not a field of a {profile_type} profile")
    if profile_id is None:
        profile_id = fields.identifier("profile_id", values["profile_id"]) if "profile_id" in values else f"prof_{secrets.token_hex(6)}"
    elif "profile_id" in values and values["profile_id"] != profile_id:
        raise InvalidInput("profile_id", "must match the profile in the path")
    if "name" not in values:
        raise InvalidInput("name", "is required")
    return profile_id, fields.name("name", values["name"]), parse_tariff(profile_type, values)


def _version(tenant_id, profile_id, number, name, tariff, actor, *, latest=True) -> ProfileVersion:
    return dal_profiles.new_version(tenant_id, profile_id, number, name, tariff, actor, fields.utc_now(), latest=latest)



def create_profile(tenant_id: str, values: dict, actor: str, claim: Claim | None = None) -> dict:
    profile_id, name, tariff = parse_profile(values)
    profile = _version(tenant_id, profile_id, 1, name, tariff, actor)
    answer = profile_view(profile)
    try:
        dal_profiles.create_profile(profile, answered(claim, answer))
    except AlreadyExists:
        raise Conflict(f"profile {profile_id} already exists; PUT it to make a new version", "profile_exists") from None
    return answer


def latest_version(tenant_id: str, profile_id: str) -> ProfileVersion:
    profile = dal_profiles.latest(tenant_id, profile_id)
    if profile is None:
        raise NotFound(f"profile {profile_id} not found")
    return profile


def get_profile(tenant_id: str, profile_id: str, query: dict) -> dict:
    unknown = sorted(set(query) - {"version"})
    if unknown:
        raise InvalidInput(unknown[0], "is not a parameter of this route")
    if query.get("version") in (None, ""):
        return profile_view(latest_version(tenant_id, profile_id))
    version = query["version"]
    if not re.fullmatch(r"[0-9]{1,6}", version) or not 1 <= int(version) <= 999_999:
        raise InvalidInput("version", "must be a version number")
    found = dal_profiles.version(tenant_id, profile_id, int(version))
    if found is None:
        raise NotFound(f"profile {profile_id} has no version {version}")
    return profile_view(found)


def profile_versions(tenant_id: str, profile_id: str) -> dict:
    """Every version, oldest first: a profile's own history."""
    versions = [profile_view(p) for p in dal_profiles.versions(tenant_id, profile_id)]
    if not versions:
        raise NotFound(f"profile {profile_id} not found")
    return {"profile_id": profile_id, "versions": versions}


def list_profiles(tenant_id: str) -> dict:
    return {"profiles": [profile_view(p) for p in dal_profiles.listing(tenant_id)]}


def update_profile(tenant_id: str, profile_id: str, values: dict, actor: str, claim: Claim | None = None) -> dict:
    """Writes version n+1, moves the 'latest' listing key to it, and re-prices the contracts.
    A profile's type and currency never change: a client's money is never re-denominated. An
    update that would price an open session above the money limit is refused, naming them."""
    profile_id, name, tariff = parse_profile(values, profile_id=profile_id)
    backoff = store.Backoff("the profile update")
    while True:
        current = latest_version(tenant_id, profile_id)
        for immutable, before, after in (("type", current.tariff.type, tariff.type),
                                         ("currency", current.tariff.currency, tariff.currency)):
            if before != after:
                raise Conflict(f"{immutable}: a profile's {immutable} never changes ({before}); create another profile",
                               "immutable_field")
        refuse_costs_past_limit(tenant_id, profile_id, tariff)
        new = _version(tenant_id, profile_id, current.version + 1, name, tariff, actor)
        answer = profile_view(new)
        try:
            dal_profiles.save_profile_version(current, new, answered(claim, answer))
            break
        except LostRace:
            backoff.wait()  # another update won: this one becomes the version after it
    refresh_contracts(tenant_id, new, actor)
    return answer


def refresh_contracts(tenant_id: str, profile: ProfileVersion, actor: str | None = None) -> int:
    """Every contract on the profile takes its latest tariff, with an entry in its group's history,
    while the request has time (`deadline`). Idempotent and resumable: each refresh applies only
    over the contract as read, and a contract this loop has not reached (the index is eventually
    consistent, the request's time may end first) is refreshed by its next lock, which checks the
    latest version inside its own transaction, or by the next read that prices with it."""
    from .contracts import refresh
    from .dal import contracts as dal_contracts

    refreshed = 0
    for contract in dal_contracts.on_profile(tenant_id, profile.profile_id):
        if deadline.remaining() < REFRESH_RESERVE_SECONDS:
            break  # answered in time: what is left is refreshed where it is next used
        if contract.profile_version >= profile.version:
            continue
        try:
            refresh(tenant_id, contract, profile, actor)
            refreshed += 1
        except LostRace:
            pass  # re-assigned, refreshed, or a newer version meanwhile: nothing to apply
    return refreshed


def refuse_costs_past_limit(tenant_id: str, profile_id: str, tariff: Tariff) -> None:
    """The open sessions of every group on the profile, priced by `tariff` as they would be once
    it is the latest: one above the money limit refuses the update (409), naming them."""
    from .dal import contracts as dal_contracts
    from .dal import sessions as dal_sessions

    if tariff.type != PAY_PER_USE:
        return  # a subscription's open sessions have no price until a lock (overage is checked there)
    over = []
    for contract in dal_contracts.on_profile(tenant_id, profile_id):
        for session in dal_sessions.open_sessions(tenant_id, contract.group_id):
            if deadline.remaining() <= 0:
                raise Unavailable("the profile's open sessions could not all be checked in time; retry")
            cost = price(tariff, session.connection_seconds, session.extra_minutes, session.started_at).cost
            if over_limit(cost):
                over.append(f"{session.session_id} ({fields.money_text(cost)})")
    if over:
        shown = ", ".join(over[:10]) + (f" and {len(over) - 10} more" if len(over) > 10 else "")
        raise Conflict(f"this version would price open sessions above the limit of {COST_LIMIT}: {shown}", "cost_limit")
