"""The tenant's invoice settings (numbering, time zone, issuer) and clients' billing details:
validation that names the field, storage through billing_core.dal.invoices."""
from __future__ import annotations  # invoicing in annotations only: loaded by what uses it, not by every write's calendar

import re
from typing import TYPE_CHECKING

from . import fields
from .dal import invoices as dal
from .errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from . import invoicing

DEFAULTS = {"prefix": "INV-", "digits": 5, "credit_prefix": "CN-", "time_zone": "UTC", "issuer": {}}
SETTINGS_FIELDS = {"prefix", "next_number", "digits", "credit_prefix", "credit_next_number", "time_zone", "issuer"}
ISSUER_FIELDS = {"legal_name", "address", "tax_id", "iban", "country", "email"}
BILLING_FIELDS = {"legal_name", "address", "tax_id", "email", "tax_rate", "tax_code", "payment_terms_days", "locale",
                  "detail", "country"}
_PREFIX = re.compile(r"[A-Za-z0-9/_.#-]{0,20}")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_NUMBER = 10**12


def _object(name: str, value, allowed: set) -> dict:
    if not isinstance(value, dict):
        raise InvalidInput(name, "must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InvalidInput(f"{name}.{unknown[0]}", "is not a field of this object")
    return value


def _whole(name: str, value, least: int, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise InvalidInput(name, f"must be a whole number from {least} to {most}")
    return value


def _optional_text(name: str, value, most: int, pattern: re.Pattern | None = None, shape: str = "") -> str | None:
    if value is None:
        return None
    value = fields.text(name, value, most)
    if pattern is not None and not pattern.fullmatch(value):
        raise InvalidInput(name, f"must be {shape}")
    return value


def _prefix(name: str, value) -> str:
    if not isinstance(value, str) or not _PREFIX.fullmatch(value):
        raise InvalidInput(name, "must be up to 20 letters, digits or - _ / . #")
    return value


def _country(name: str, value) -> str | None:
    return _optional_text(name, value, 2, _COUNTRY, "a 2-letter ISO 3166 country code such as \"FR\"")


def time_zone(tenant_id: str) -> str:
    """The tenant's time zone (its invoice settings'; UTC until set): the one its dates are written in."""
    return settings(tenant_id)["time_zone"]


def parse_billing(value) -> invoicing.Billing:
    """A client's `billing` object (every field optional; defaults: tax 0.00, 30 days, en, sessions)."""
    from . import invoicing

    value = _object("billing", value, BILLING_FIELDS)
    extra = {}
    if value.get("country") is not None:
        extra["country"] = _country("billing.country", value["country"])
    return invoicing.Billing(
        tax_rate=invoicing.tax_rate("billing.tax_rate", value.get("tax_rate", "0.00")),
        locale=invoicing.locale("billing.locale", value.get("locale", "en")),
        detail=_choice("billing.detail", value.get("detail", "sessions"), invoicing.DETAILS),
        payment_terms_days=_whole("billing.payment_terms_days", value.get("payment_terms_days", 30), 0, 365),
        legal_name=None if value.get("legal_name") is None else fields.name("billing.legal_name", value["legal_name"]),
        address=_optional_text("billing.address", value.get("address"), 500),
        tax_id=_optional_text("billing.tax_id", value.get("tax_id"), 32),
        tax_code=_optional_text("billing.tax_code", value.get("tax_code"), 32),
        email=_optional_text("billing.email", value.get("email"), 254, _EMAIL, "an e-mail address"),
        extra=extra,
    )


def _choice(name: str, value, choices) -> str:
    if value not in choices:
        raise InvalidInput(name, f"must be one of {', '.join(choices)}")
    return value


def billing_view(billing: invoicing.Billing) -> dict:
    return {**billing.view(), "country": billing.extra.get("country")}


def billing_from(values: dict | None) -> invoicing.Billing:
    """Stored billing details (or none: the defaults) as a value."""
    from . import invoicing

    if not values:
        return invoicing.Billing()
    return parse_billing({k: v for k, v in values.items() if v is not None})


def put_billing(tenant_id: str, group_id: str, billing: invoicing.Billing) -> dict:
    view = billing_view(billing)
    dal.save_billing(tenant_id, group_id, view)
    return view


def get_billing(tenant_id: str, group_ids) -> dict[str, dict]:
    return dal.read_billings(tenant_id, group_ids)


def client_billing(tenant_id: str, group_id: str) -> dict:
    """A client's billing details as its invoices take them (the defaults until set); 404 for no such client."""
    group, _, values = dal.read_client(tenant_id, group_id)
    if group is None:
        raise NotFound(f"group {group_id} not found")
    return {"group_id": group_id, "billing": billing_view(billing_from(values))}


# ------------------------------------------------------------------ tenant settings

def _issuer(value) -> dict:
    value = _object("issuer", value, ISSUER_FIELDS)
    if "legal_name" not in value:
        raise InvalidInput("issuer.legal_name", "is required")
    return {
        "legal_name": fields.name("issuer.legal_name", value["legal_name"]),
        "address": _optional_text("issuer.address", value.get("address"), 500),
        "tax_id": _optional_text("issuer.tax_id", value.get("tax_id"), 32),
        "iban": _optional_text("issuer.iban", value.get("iban"), 34, _IBAN, "an IBAN in capitals without spaces"),
        "country": _country("issuer.country", value.get("country")),
        "email": _optional_text("issuer.email", value.get("email"), 254, _EMAIL, "an e-mail address"),
    }


def settings(tenant_id: str) -> dict:
    return settings_values(dal.read_settings(tenant_id))


def settings_values(item) -> dict:
    """The settings as answered, defaults filled in."""
    stored = fields_of(item)
    return {**DEFAULTS, **stored,
            "next_number": int(item.next_number) if item else 1,
            "credit_next_number": int(item.credit_next_number) if item else 1,
            "last_issued": int(item.last_issued) if item and item.last_issued is not None else None}


def fields_of(item) -> dict:
    from . import jsonio

    return jsonio.parse_object(item.values, "settings") if item and item.values and item.values != "{}" else {}


def put_settings(tenant_id: str, values: dict) -> dict:
    """Changes the given settings (the others kept). A next number at or below the last number
    issued is refused: numbers stay unique."""
    current = fields_of(dal.read_settings(tenant_id))
    changed = dict(current)
    for name in ("prefix", "credit_prefix"):
        if name in values:
            changed[name] = _prefix(name, values[name])
    if "digits" in values:
        changed["digits"] = _whole("digits", values["digits"], 1, 12)
    if "time_zone" in values:
        changed["time_zone"] = fields.time_zone("time_zone", values["time_zone"])
    if "issuer" in values:
        changed["issuer"] = _issuer(values["issuer"])
    next_number = _whole("next_number", values["next_number"], 1, MAX_NUMBER) if "next_number" in values else None
    credit_next = _whole("credit_next_number", values["credit_next_number"], 1, MAX_NUMBER) if "credit_next_number" in values else None
    if not dal.save_settings(tenant_id, changed, next_number, credit_next):
        last = settings(tenant_id)["last_issued"]
        raise Conflict(f"next_number: {next_number} is not above the last number issued ({last}): numbers must stay unique",
                       "number_already_issued")
    return settings(tenant_id)
