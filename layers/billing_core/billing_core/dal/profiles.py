"""Data access of accounting profiles: versions n = 1, 2, … of a profile under its partition, the
latest one also under the tenant's listing key (so "is this still the latest?" is one condition),
and the writes that create a profile or add its next version."""
from datetime import datetime
from typing import Iterator

from . import listings, store
from .contracts import Extra
from .models import ProfileVersion, keys
from .outcomes import AlreadyExists, LostRace


def new_version(tenant_id: str, profile_id: str, number: int, name: str, tariff, actor: str | None, at: datetime,
                *, latest: bool = True) -> ProfileVersion:
    """Version `number` of a profile (not written yet)."""
    return ProfileVersion(
        keys.profile(tenant_id, profile_id), keys.version(number),
        GSI1PK=keys.profiles(tenant_id) if latest else None, GSI1SK=profile_id if latest else None,
        profile_id=profile_id, version=number, name=name, tariff=tariff, created_at=at, created_by=actor or None,
    )


def latest(tenant_id: str, profile_id: str) -> ProfileVersion | None:
    for profile in store.query(ProfileVersion, keys.profile(tenant_id, profile_id), scan_index_forward=False, limit=1,
                               consistent_read=True):
        return profile
    return None


def version(tenant_id: str, profile_id: str, number: int) -> ProfileVersion | None:
    return store.get(ProfileVersion, keys.profile(tenant_id, profile_id), keys.version(number))


def versions(tenant_id: str, profile_id: str) -> Iterator[ProfileVersion]:
    """Every version, oldest first."""
    return store.query(ProfileVersion, keys.profile(tenant_id, profile_id), consistent_read=True)


def listing(tenant_id: str) -> Iterator[ProfileVersion]:
    """The latest version of each of the tenant's profiles."""
    listings.settled(keys.profiles(tenant_id))
    return store.query(ProfileVersion, keys.profiles(tenant_id), index="gsi1")


def create_profile(profile: ProfileVersion, extra: Extra = None) -> None:
    """Version 1 of a new profile. `AlreadyExists` when the id is taken."""

    def fill(transaction):
        transaction.save(profile, condition=ProfileVersion.PK.does_not_exist())
        if extra:
            extra(transaction)

    try:
        listings.transact(fill, "the profile", profile.GSI1PK)
    except store.ConditionFailed:
        raise AlreadyExists() from None


def save_profile_version(current: ProfileVersion, new: ProfileVersion, extra: Extra = None) -> None:
    """Version n+1 becomes the latest (the listing key moves to it). `LostRace`: another update
    wrote version n+1 first."""

    def fill(transaction):
        transaction.save(new, condition=ProfileVersion.PK.does_not_exist())
        transaction.update(current, actions=[ProfileVersion.GSI1PK.remove(), ProfileVersion.GSI1SK.remove()],
                           condition=ProfileVersion.GSI1PK.exists())
        if extra:
            extra(transaction)

    try:
        listings.transact(fill, "the profile update", new.GSI1PK)
    except store.ConditionFailed:
        raise LostRace() from None
