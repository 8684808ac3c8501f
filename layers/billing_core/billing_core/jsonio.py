"""The one JSON encoding of the product. Numbers are read as Decimal (never float) and
Decimals are written back as exact JSON numbers; money travels as strings ("12.50")."""
import json
from decimal import Decimal

from .errors import InvalidInput, TooLarge

MAX_BODY_BYTES = 1_048_576


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def parse_object(raw: str | bytes | None, what: str = "body") -> dict:
    if raw is None or (isinstance(raw, (str, bytes)) and not raw.strip()):
        raise InvalidInput(what, "must be a JSON object")
    if len(raw) > MAX_BODY_BYTES:
        raise TooLarge(f"the request {what} is larger than {MAX_BODY_BYTES} bytes")
    try:
        value = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise InvalidInput(what, f"is not valid JSON ({str(error)[:120]})") from None
    if not isinstance(value, dict):
        raise InvalidInput(what, "must be a JSON object")
    return value


def _encode(value, out: list) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(format(value, "f"))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} has no JSON form here (a float near money is a bug)")


def dumps(value) -> str:
    out: list[str] = []
    _encode(value, out)
    return "".join(out)
