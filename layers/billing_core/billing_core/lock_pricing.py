"""The profile version a lock prices with: the latest, checked inside the lock's own transaction.
A profile update writes version n+1 and then refreshes each contract's copy of the tariff; a lock
that meets the new version first prices with it at once (in memory) and leaves the refresh of the
contract item until after its own transaction, so a profile update never holds a lock up."""
from .contract_views import current_contract
from .contracts import refresh
from .dal import contracts as dal_contracts
from .dal.models import Contract, ProfileVersion
from .dal.outcomes import LostRace


def latest_pricing(tenant_id: str, contract: Contract) -> tuple[Contract, ProfileVersion | None]:
    """The contract to price with: itself when its tariff copy is the profile's latest version,
    else a copy with the latest version's tariff (in memory: the lock checks that version inside
    its own transaction, so it waits for no write to the contract item), and that version, which
    the stored copy is behind (`catch_up` brings it there once the lock is done)."""
    from .profiles import latest_version

    profile = latest_version(tenant_id, contract.profile_id)
    if profile.version == contract.profile_version:
        return contract, None
    return dal_contracts.priced_copy(contract, profile.tariff, profile.version, profile.name), profile


def catch_up(tenant_id: str, contract: Contract, behind: ProfileVersion | None, actor: str | None) -> None:
    """The contract item takes the profile version a lock priced with, when the profile update has
    not refreshed it yet (its own loop may have run out of time): the contract read once more, the
    refresh idempotent and over the contract read (refreshed meanwhile: nothing to do)."""
    if behind is None:
        return
    stored = current_contract(tenant_id, contract.group_id)
    if stored is None or stored.contract_id != contract.contract_id or stored.profile_version >= behind.version:
        return
    try:
        refresh(tenant_id, stored, behind, actor)
    except LostRace:
        pass  # refreshed, re-assigned or a newer version meanwhile


def ensure_latest_profile(tenant_id: str, contract: Contract, actor: str | None) -> Contract:
    """The contract priced by the profile's latest version, its item refreshed to it now."""
    priced, behind = latest_pricing(tenant_id, contract)
    catch_up(tenant_id, contract, behind, actor)
    return priced


def still_priced(now: Contract, priced: Contract) -> Contract:
    """The contract DynamoDB handed back after a lost race, priced by the newer of its own tariff
    copy and the version the attempt priced with (a refresh may not have reached the item yet)."""
    if now.contract_id == priced.contract_id and now.profile_version < priced.profile_version:
        return dal_contracts.priced_copy(now, priced.tariff, priced.profile_version, priced.profile_name)
    return now
