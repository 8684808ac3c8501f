"""The address book in the table: groups (in the tenant's list of groups, GSI1) and computers (in
their group's list, GSI1). Both lists are stamped by every change and read once settled
(dal.listings)."""
from datetime import datetime

from . import listings, store
from .models import Computer, Group, keys


def create_group(tenant_id: str, group_id: str, name: str, now: datetime) -> Group | None:
    """The new group, or None when it exists already (never overwritten: nor its contract's profile)."""
    group = Group(keys.group(tenant_id, group_id), "GROUP", GSI1PK=keys.groups(tenant_id), GSI1SK=group_id,
                  group_id=group_id, name=name, created_at=now)
    try:
        listings.transact(lambda transaction: transaction.save(group, condition=Group.PK.does_not_exist()),
                          "the group", keys.groups(tenant_id))
        return group
    except store.ConditionFailed:
        return None


def rename_group(tenant_id: str, group_id: str, name: str) -> Group:
    group = Group(keys.group(tenant_id, group_id), "GROUP")
    listings.transact(lambda transaction: transaction.update(group, actions=[Group.name.set(name)], condition=Group.PK.exists()),
                      "the group", keys.groups(tenant_id))
    return store.get(Group, group.PK, group.SK)


def groups(tenant_id: str) -> list[Group]:
    listings.settled(keys.groups(tenant_id))
    return list(store.query(Group, keys.groups(tenant_id), index="gsi1"))


def group_partition(tenant_id: str, group_id: str) -> str:
    """The group's partition: the group, its contract and their history entries."""
    return keys.group(tenant_id, group_id)


def group_exists(tenant_id: str, group_id: str) -> bool:
    return store.get(Group, keys.group(tenant_id, group_id), "GROUP") is not None


def put_computer(tenant_id: str, group_id: str, computer_id: str, name: str) -> bool:
    """Creates or moves a computer into a group; False when the group does not exist. Both the
    group it leaves and the one it joins have their list stamped, so the computer is put over
    the group it was read in (read again when a concurrent move won)."""
    computer = Computer(keys.computer(tenant_id, computer_id), "COMPUTER", GSI1PK=keys.computers_of(tenant_id, group_id),
                        GSI1SK=computer_id, computer_id=computer_id, group_id=group_id, name=name)
    backoff = store.Backoff("the computer")
    while True:
        before = store.get(Computer, computer.PK, computer.SK)

        def fill(transaction):
            transaction.condition_check(Group, keys.group(tenant_id, group_id), "GROUP", condition=Group.PK.exists())
            transaction.save(computer, condition=Computer.group_id == before.group_id if before else Computer.PK.does_not_exist())

        try:
            listings.transact(fill, "the computer", keys.computers_of(tenant_id, group_id),
                              keys.computers_of(tenant_id, before.group_id) if before else None)
            return True
        except store.ConditionFailed as failed:
            if failed.failed(0):
                return False
        backoff.wait()


def computers(tenant_id: str, group_id: str) -> list[Computer]:
    listings.settled(keys.computers_of(tenant_id, group_id))
    return list(store.query(Computer, keys.computers_of(tenant_id, group_id), index="gsi1"))
