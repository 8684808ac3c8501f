"""The address book: client groups and their computers (contracts are billing_core.contracts)."""
from . import fields, history, invoice_settings
from .dal import address_book as stored
from .dal.models import Group
from .errors import InvalidInput, NotFound


def group_view(group) -> dict:
    return {"group_id": group.group_id, "name": group.name, "profile_id": group.profile_id}


def put_group(tenant_id: str, group_id: str, values: dict) -> tuple[bool, dict]:
    """Creates or renames a group, and sets its billing details when given; answers (created,
    group). Creation is conditional, so two concurrent first PUTs never overwrite each other (nor
    a contract's profile on the group). Every value is checked before anything changes."""
    name = fields.name("name", values.get("name")) if "name" in values else None
    if name is None:
        raise InvalidInput("name", "is required")
    billing = invoice_settings.parse_billing(values["billing"]) if "billing" in values else None
    item = stored.create_group(tenant_id, group_id, name, fields.utc_now())
    created = item is not None
    group = group_view(item if created else stored.rename_group(tenant_id, group_id, name))
    if billing is not None:
        group["billing"] = invoice_settings.put_billing(tenant_id, group_id, billing)
    return created, group


def list_groups(tenant_id: str) -> dict:
    return {"groups": [group_view(group) for group in stored.groups(tenant_id)]}


def put_computer(tenant_id: str, group_id: str, computer_id: str, values: dict) -> dict:
    """Creates or moves a computer into a group: its uploads are booked there from now on."""
    if "name" not in values:
        raise InvalidInput("name", "is required")
    name = fields.name("name", values["name"])
    if not stored.put_computer(tenant_id, group_id, computer_id, name):
        raise NotFound(f"group {group_id} not found")
    return {"computer_id": computer_id, "group_id": group_id, "name": name}


def list_computers(tenant_id: str, group_id: str) -> dict:
    """The group's computers: one Query of its computers' index partition (plus the group's read,
    so an unknown group is a 404 and not an empty list)."""
    if not stored.group_exists(tenant_id, group_id):
        raise NotFound(f"group {group_id} not found")
    return {"group_id": group_id, "computers": [
        {"computer_id": c.computer_id, "group_id": c.group_id, "name": c.name} for c in stored.computers(tenant_id, group_id)]}


def group_history(tenant_id: str, group_id: str) -> dict:
    """One Query of the group's partition: the group, its contract and every entry about them."""
    entries, subjects = history.read(stored.group_partition(tenant_id, group_id))
    if not any(isinstance(item, Group) for item in subjects):
        raise NotFound(f"group {group_id} not found")
    return {"group_id": group_id, "history": entries}
