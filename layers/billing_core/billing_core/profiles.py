"""Accounting profiles: versioned tariffs. An update writes version n+1 and keeps every older
one; the contracts that use the profile take the new tariff for their to_account sessions."""
import re
import secrets

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from . import fields, history, models
from .errors import Conflict, InvalidInput, NotFound
from .models import Contract, ProfileVersion, keys
from .tariff import TARIFF_FIELDS, Tariff, parse_tariff, tariff_values

PROFILE_FIELDS = {"profile_id", "name", "type"} | {name for names in TARIFF_FIELDS.values() for name in names}


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
    foreign = sorted(set(values) - {"profile_id", "name", "type", *TARIFF_FIELDS[profile_type]})
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


def create_profile(tenant_id: str, values: dict, actor: str) -> dict:
    profile_id, name, tariff = parse_profile(values)
    profile = _version(tenant_id, profile_id, 1, name, tariff, actor)
    models.bind()
    try:
        profile.save(condition=ProfileVersion.PK.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(f"profile {profile_id} already exists; PUT it to make a new version", "profile_exists") from None
        raise
    return profile_view(profile)


def latest_version(tenant_id: str, profile_id: str) -> ProfileVersion:
    models.bind()
    for profile in ProfileVersion.query(keys.profile(tenant_id, profile_id), scan_index_forward=False, limit=1, consistent_read=True):
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
    models.bind()
    try:
        return profile_view(ProfileVersion.get(keys.profile(tenant_id, profile_id), keys.version(int(version))))
    except ProfileVersion.DoesNotExist:
        raise NotFound(f"profile {profile_id} has no version {version}") from None


def profile_versions(tenant_id: str, profile_id: str) -> dict:
    """Every version, oldest first: a profile's own history."""
    models.bind()
    versions = [profile_view(p) for p in ProfileVersion.query(keys.profile(tenant_id, profile_id), consistent_read=True)]
    if not versions:
        raise NotFound(f"profile {profile_id} not found")
    return {"profile_id": profile_id, "versions": versions}


def list_profiles(tenant_id: str) -> dict:
    models.bind()
    return {"profiles": [profile_view(p) for p in ProfileVersion.gsi1.query(keys.profiles(tenant_id))]}


def update_profile(tenant_id: str, profile_id: str, values: dict, actor: str) -> dict:
    """Writes version n+1, moves the 'latest' listing key to it, and re-prices the contracts."""
    profile_id, name, tariff = parse_profile(values, profile_id=profile_id)
    current = latest_version(tenant_id, profile_id)
    new = _version(tenant_id, profile_id, current.version + 1, name, tariff, actor)
    try:
        with TransactWrite(connection=models.connection()) as transaction:
            transaction.save(new, condition=ProfileVersion.PK.does_not_exist())
            transaction.update(
                current,
                actions=[ProfileVersion.GSI1PK.remove(), ProfileVersion.GSI1SK.remove()],
                condition=ProfileVersion.GSI1PK.exists(),
            )
    except TransactWriteError as error:
        if error.cause_response_code == "TransactionCanceledException":
            raise Conflict(f"profile {profile_id} was updated concurrently; retry", "retry") from None
        raise
    refresh_contracts(tenant_id, new, actor)
    return profile_view(new)


def refresh_contracts(tenant_id: str, profile: ProfileVersion, actor: str | None = None) -> None:
    """Every contract on the profile takes its latest tariff, with an entry in its group's history;
    `revision` makes a lock priced on the old tariff fail and price again."""
    models.bind()
    for contract in Contract.gsi1.query(keys.contracts_of(tenant_id, profile.profile_id)):
        changes = {
            "profile_version": history.change(contract.profile_version, profile.version),
            "tariff": history.change(tariff_values(contract.tariff), tariff_values(profile.tariff)),
        }
        try:
            with TransactWrite(connection=models.connection()) as transaction:
                transaction.update(
                    contract,
                    actions=[
                        Contract.tariff.set(Contract.tariff.serialize(profile.tariff)),
                        Contract.profile_version.set(profile.version),
                        Contract.profile_name.set(profile.name),
                        Contract.revision.add(1),
                    ],
                    condition=(Contract.profile_id == profile.profile_id) & (Contract.profile_version < profile.version),
                )
                transaction.save(history.entry(contract.PK, actor, history.PROFILE_UPDATED, changes))
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise  # else reassigned or already newer meanwhile: nothing to apply
