"""The address book in the table: groups (in the tenant's list of groups, GSI1) and computers (in
their group's list, GSI1)."""
from datetime import datetime

from . import store
from .models import Computer, Group, keys


def create_group(tenant_id: str, group_id: str, name: str, now: datetime) -> Group | None:
    """The new group, or None when it exists already (never overwritten: nor its contract's profile)."""
    group = Group(keys.group(tenant_id, group_id), "GROUP", GSI1PK=keys.groups(tenant_id), GSI1SK=group_id,
                  group_id=group_id, name=name, created_at=now)
    try:
        store.transact(lambda t: t.save(group, condition=Group.PK.does_not_exist()), "the group")
        return group
    except store.ConditionFailed:
        return None


def rename_group(tenant_id: str, group_id: str, name: str) -> Group:
    group = Group(keys.group(tenant_id, group_id), "GROUP")
    store.transact(lambda t: t.update(group, actions=[Group.name.set(name)], condition=Group.PK.exists()), "the group")
    return store.get(Group, group.PK, group.SK)


def groups(tenant_id: str) -> list[Group]:
    return list(store.query(Group, keys.groups(tenant_id), index="gsi1"))


def group_exists(tenant_id: str, group_id: str) -> bool:
    return store.get(Group, keys.group(tenant_id, group_id), "GROUP") is not None


def put_computer(tenant_id: str, group_id: str, computer_id: str, name: str) -> bool:
    """Creates or moves a computer into a group; False when the group does not exist."""
    computer = Computer(keys.computer(tenant_id, computer_id), "COMPUTER", GSI1PK=keys.computers_of(tenant_id, group_id),
                        GSI1SK=computer_id, computer_id=computer_id, group_id=group_id, name=name)

    def fill(transaction):
        transaction.condition_check(Group, keys.group(tenant_id, group_id), "GROUP", condition=Group.PK.exists())
        transaction.save(computer)

    try:
        store.transact(fill, "the computer")
        return True
    except store.ConditionFailed:
        return False


def computers(tenant_id: str, group_id: str) -> list[Computer]:
    return list(store.query(Computer, keys.computers_of(tenant_id, group_id), index="gsi1"))
