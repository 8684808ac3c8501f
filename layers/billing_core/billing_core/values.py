"""Immutable value records (tariffs, prices, balances): what `@dataclass(frozen=True)` makes,
written once. A dataclass generates and execs six methods when its module loads, ~0.45 ms a
class on Python 3.11/3.12; the eleven of `tariff` and `ledger` cost every handler ~5 ms of its
cold start (measured: `make bench`, table 2). A record here declares its fields in `__slots__`
and a plain `__init__` that hands them to `_set` in that order (0.8 µs a record of five fields,
against a dataclass's 0.6); equality, hashing, `repr` and `replace` come from this base."""

_SET = object.__setattr__  # a record's own __setattr__ refuses


class Value:
    __slots__ = ()
    _compared: tuple[str, ...] | None = None  # the fields equality and hashing read; None: all

    def _set(self, *values) -> None:
        """Sets the fields, in `__slots__` order (once, from __init__)."""
        for name, value in zip(type(self).__slots__, values):
            _SET(self, name, value)

    def _fields(self) -> tuple[str, ...]:
        return type(self).__slots__

    def _key(self) -> tuple:
        names = self._compared if self._compared is not None else self._fields()
        return tuple(getattr(self, name) for name in names)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable: use replace()")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields())
        return f"{type(self).__name__}({shown})"

    def replace(self, **changes):
        """A copy with these fields changed."""
        values = {name: getattr(self, name) for name in self._fields()}
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]}")
        return type(self)(**{**values, **changes})
