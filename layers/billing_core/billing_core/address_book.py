"""The address book: client groups and their computers (contracts are billing_core.contracts)."""
from . import fields, history
from .dal import store as storage
from .errors import InvalidInput, NotFound
from .dal.models import Computer, Group, keys


def group_view(group: Group) -> dict:
    return {"group_id": group.group_id, "name": group.name, "profile_id": group.profile_id}


def put_group(tenant_id: str, group_id: str, values: dict) -> tuple[bool, dict]:
    """Creates or renames a group; answers (created, group). Creation is conditional, so two
    concurrent first PUTs never overwrite each other (nor a contract's profile on the group)."""
    name = fields.name("name", values.get("name")) if "name" in values else None
    if name is None:
        raise InvalidInput("name", "is required")
    group = Group(
        keys.group(tenant_id, group_id), "GROUP",
        GSI1PK=keys.groups(tenant_id), GSI1SK=group_id,
        group_id=group_id, name=name, created_at=fields.utc_now(),
    )
    try:
        storage.transact(lambda t: t.save(group, condition=Group.PK.does_not_exist()), "the group")
        return True, group_view(group)
    except storage.ConditionFailed:
        pass
    storage.transact(lambda t: t.update(group, actions=[Group.name.set(name)], condition=Group.PK.exists()), "the group")
    return False, group_view(storage.get(Group, group.PK, group.SK) or group)


def list_groups(tenant_id: str) -> dict:
    return {"groups": [group_view(group) for group in storage.query(Group, keys.groups(tenant_id), index="gsi1")]}


def put_computer(tenant_id: str, group_id: str, computer_id: str, values: dict) -> dict:
    """Creates or moves a computer into a group: its uploads are booked there from now on."""
    if "name" not in values:
        raise InvalidInput("name", "is required")
    name = fields.name("name", values["name"])
    computer = Computer(
        keys.computer(tenant_id, computer_id), "COMPUTER",
        GSI1PK=keys.computers_of(tenant_id, group_id), GSI1SK=computer_id,
        computer_id=computer_id, group_id=group_id, name=name,
    )
    def fill(transaction):
        transaction.condition_check(Group, keys.group(tenant_id, group_id), "GROUP", condition=Group.PK.exists())
        transaction.save(computer)

    try:
        storage.transact(fill, "the computer")
    except storage.ConditionFailed:
        raise NotFound(f"group {group_id} not found") from None
    return {"computer_id": computer_id, "group_id": group_id, "name": name}


def list_computers(tenant_id: str, group_id: str) -> dict:
    """The group's computers: one Query of its computers' index partition (plus the group's read,
    so an unknown group is a 404 and not an empty list)."""
    if storage.get(Group, keys.group(tenant_id, group_id), "GROUP") is None:
        raise NotFound(f"group {group_id} not found")
    computers = storage.query(Computer, keys.computers_of(tenant_id, group_id), index="gsi1")
    return {"group_id": group_id, "computers": [
        {"computer_id": c.computer_id, "group_id": c.group_id, "name": c.name} for c in computers]}


def group_history(tenant_id: str, group_id: str) -> dict:
    """One Query of the group's partition: the group, its contract and every entry about them."""
    entries, subjects = history.read(keys.group(tenant_id, group_id))
    if not any(isinstance(item, Group) for item in subjects):
        raise NotFound(f"group {group_id} not found")
    return {"group_id": group_id, "history": entries}
