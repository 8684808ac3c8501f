"""The one JSON encoding of the product. Numbers are read as Decimal (never float) and
Decimals are written back as exact JSON numbers; money travels as strings ("12.50")."""
import json
from decimal import Decimal

from .errors import InvalidInput, TooLarge
from .fields import ExponentDecimal

MAX_BODY_BYTES = 1_048_576


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _decimal(literal: str) -> Decimal:
    return ExponentDecimal(literal) if "e" in literal or "E" in literal else Decimal(literal)


class DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _object(pairs: list) -> dict:
    """A JSON object whose keys are all different: `{"amount": 1, "amount": 2}` is refused, not
    read as the last one (two readers of one body must never see two requests)."""
    found = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(key)
        found[key] = value
    return found


def parse_object(raw: str | bytes | None, what: str = "body", max_bytes: int = MAX_BODY_BYTES) -> dict:
    if raw is None or (isinstance(raw, (str, bytes)) and not raw.strip()):
        raise InvalidInput(what, "must be a JSON object")
    if len(raw) > max_bytes or (isinstance(raw, str) and max_bytes > MAX_BODY_BYTES and len(raw.encode("utf-8", "surrogatepass")) > max_bytes):
        raise TooLarge(f"the request {what} is larger than {max_bytes} bytes")
    try:
        value = json.loads(raw, parse_float=_decimal, parse_constant=_reject_constant, object_pairs_hook=_object)
    except DuplicateKey as error:
        raise InvalidInput(error.key, "appears twice in one JSON object") from None
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
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(format(value, "f"))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(_string(str(key)))
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


def _string(text: str) -> str:
    """UTF-8 as it is; a text holding a lone surrogate (which UTF-8 cannot encode) in ASCII escapes,
    so that no answer ever fails to encode. Input never gets one stored (fields refuse it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(text)
    return json.dumps(text, ensure_ascii=False)


def dumps(value) -> str:
    out: list[str] = []
    _encode(value, out)
    return "".join(out)
