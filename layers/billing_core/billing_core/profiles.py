"""Accounting profiles: versioned tariffs. An update writes version n+1 and keeps every older
one; the contracts that use the profile take the new tariff for their to_account sessions."""
import re
import secrets

from . import fields
from .dal import store as storage
from .errors import Conflict, InvalidInput, NotFound
from .idempotency import Claim
from .dal.models import Contract, ProfileVersion, keys
from .tariff import OPTIONAL_FIELDS, TARIFF_FIELDS, Tariff, parse_tariff, tariff_values

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
    return ProfileVersion(
        keys.profile(tenant_id, profile_id),
        keys.version(number),
        GSI1PK=keys.profiles(tenant_id) if latest else None,
        GSI1SK=profile_id if latest else None,
        profile_id=profile_id,
        version=number,
        name=name,
        tariff=tariff,
        created_at=fields.utc_now(),
        created_by=actor or None,
    )


def create_profile(tenant_id: str, values: dict, actor: str, claim: Claim | None = None) -> dict:
    profile_id, name, tariff = parse_profile(values)
    profile = _version(tenant_id, profile_id, 1, name, tariff, actor)
    answer = profile_view(profile)

    def fill(transaction):
        transaction.save(profile, condition=ProfileVersion.PK.does_not_exist())
        if claim:
            claim.save(transaction, answer)

    try:
        storage.transact(fill, "the profile")
    except storage.ConditionFailed:
        raise Conflict(f"profile {profile_id} already exists; PUT it to make a new version", "profile_exists") from None
    return answer


def latest_version(tenant_id: str, profile_id: str) -> ProfileVersion:
    for profile in storage.query(ProfileVersion, keys.profile(tenant_id, profile_id), scan_index_forward=False, limit=1,
                                 consistent_read=True):
        return profile
    raise NotFound(f"profile {profile_id} not found")


def get_profile(tenant_id: str, profile_id: str, query: dict) -> dict:
    unknown = sorted(set(query) - {"version"})
    if unknown:
        raise InvalidInput(unknown[0], "is not a parameter of this route")
    if query.get("version") in (None, ""):
        return profile_view(latest_version(tenant_id, profile_id))
    version = query["version"]
    if not re.fullmatch(r"[0-9]{1,6}", version) or not 1 <= int(version) <= 999_999:
        raise InvalidInput("version", "must be a version number")
    found = storage.get(ProfileVersion, keys.profile(tenant_id, profile_id), keys.version(int(version)))
    if found is None:
        raise NotFound(f"profile {profile_id} has no version {version}")
    return profile_view(found)


def profile_versions(tenant_id: str, profile_id: str) -> dict:
    """Every version, oldest first: a profile's own history."""
    versions = [profile_view(p) for p in storage.query(ProfileVersion, keys.profile(tenant_id, profile_id), consistent_read=True)]
    if not versions:
        raise NotFound(f"profile {profile_id} not found")
    return {"profile_id": profile_id, "versions": versions}


def list_profiles(tenant_id: str) -> dict:
    return {"profiles": [profile_view(p) for p in storage.query(ProfileVersion, keys.profiles(tenant_id), index="gsi1")]}


def update_profile(tenant_id: str, profile_id: str, values: dict, actor: str, claim: Claim | None = None) -> dict:
    """Writes version n+1, moves the 'latest' listing key to it, and re-prices the contracts.
    A profile's type and currency never change: a client's money is never re-denominated."""
    profile_id, name, tariff = parse_profile(values, profile_id=profile_id)
    backoff = storage.Backoff("the profile update")
    while True:
        current = latest_version(tenant_id, profile_id)
        for immutable, before, after in (("type", current.tariff.type, tariff.type),
                                         ("currency", current.tariff.currency, tariff.currency)):
            if before != after:
                raise Conflict(f"{immutable}: a profile's {immutable} never changes ({before}); create another profile",
                               "immutable_field")
        new = _version(tenant_id, profile_id, current.version + 1, name, tariff, actor)
        answer = profile_view(new)

        def fill(transaction):
            transaction.save(new, condition=ProfileVersion.PK.does_not_exist())
            transaction.update(
                current,
                actions=[ProfileVersion.GSI1PK.remove(), ProfileVersion.GSI1SK.remove()],
                condition=ProfileVersion.GSI1PK.exists(),
            )
            if claim:
                claim.save(transaction, answer)

        try:
            storage.transact(fill, "the profile update")
            break
        except storage.ConditionFailed:
            backoff.wait()  # another update won: this one becomes the version after it
    refresh_contracts(tenant_id, new, actor)
    return answer


def refresh_contracts(tenant_id: str, profile: ProfileVersion, actor: str | None = None) -> int:
    """Every contract on the profile takes its latest tariff, with an entry in its group's history.
    Idempotent and resumable: each refresh applies only over the contract as read, and a contract
    this loop has not reached yet (the index is eventually consistent, the request may end) is
    refreshed by its next lock, which checks the latest version inside its own transaction."""
    from .contracts import refresh_action

    refreshed = 0
    for contract in storage.query(Contract, keys.contracts_of(tenant_id, profile.profile_id), index="gsi1"):
        if contract.profile_version >= profile.version:
            continue
        _, fill = refresh_action(tenant_id, contract, profile, actor)
        try:
            storage.transact(fill, "the contract refresh")
            refreshed += 1
        except storage.ConditionFailed:
            pass  # re-assigned, refreshed, or a newer version meanwhile: nothing to apply
    return refreshed
