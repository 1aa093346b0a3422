"""Checks for config values: each returns the value or raises ``InvalidValueError``.

Call them in a model's or a datamodule's ``__init__`` with the argument's name, e.g.
``lr = positive_number("lr", lr)``; the builders add the node (``model.lr``), and the entry
points print one line that names the key, the value and what is accepted. Hydra passes values
as the YAML or the command line typed them, so ``model.lr=abc`` arrives as the string "abc".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any, TypeVar

from .errors import InvalidValueError

T = TypeVar("T")


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def integer(key: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Check an integer within ``[minimum, maximum]`` (either bound may be open)."""
    inside = _is_int(value) and (minimum is None or value >= minimum)
    if not (inside and (maximum is None or value <= maximum)):
        if minimum is not None and maximum is not None:
            expected = f"an integer in [{minimum}, {maximum}]"
        elif minimum == 1:
            expected = "a positive integer"
        elif minimum == 0:
            expected = "an integer >= 0"
        else:
            expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise InvalidValueError(key, value, expected)
    return int(value)


def positive_int(key: str, value: Any) -> int:
    """Check an integer of at least 1 (a batch size, a count of classes)."""
    return integer(key, value, minimum=1)


def number(
    key: str,
    value: Any,
    *,
    minimum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    maximum: float | None = None,
) -> float:
    """Check a number's bounds: ``minimum``/``maximum`` inclusive, the others strict."""
    ok = _is_number(value)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    ok = ok and (above is None or value > above) and (below is None or value < below)
    if not ok:
        bounds = [
            f">= {minimum}" if minimum is not None else "",
            f"> {above}" if above is not None else "",
            f"< {below}" if below is not None else "",
            f"<= {maximum}" if maximum is not None else "",
        ]
        shown = " and ".join(b for b in bounds if b)
        raise InvalidValueError(key, value, f"a number {shown}" if shown else "a number")
    return float(value)


def positive_number(key: str, value: Any) -> float:
    """Check a number above 0 (a learning rate)."""
    return number(key, value, above=0.0)


def non_negative(key: str, value: Any) -> float:
    """Check a number of at least 0 (a weight decay)."""
    return number(key, value, minimum=0.0)


def fraction(key: str, value: Any, *, open_low: bool = False, open_high: bool = False) -> float:
    """Check a number in [0, 1]; ``open_low``/``open_high`` exclude 0 or 1."""
    return number(
        key,
        value,
        minimum=None if open_low else 0.0,
        above=0.0 if open_low else None,
        maximum=None if open_high else 1.0,
        below=1.0 if open_high else None,
    )


def one_of(key: str, value: Any, choices: Iterable[T]) -> T:
    """Check one of ``choices`` (compared with ``==``)."""
    options = list(choices)
    if value not in options:
        raise InvalidValueError(key, value, "one of " + ", ".join(map(str, options)))
    found: T = value
    return found


def boolean(key: str, value: Any) -> bool:
    """Check ``true`` or ``false``."""
    if not isinstance(value, bool):
        raise InvalidValueError(key, value, "true or false")
    return value


def int_list(key: str, value: Any, *, minimum: int = 1) -> list[int]:
    """Check a list of integers, each at least ``minimum`` (layer widths)."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidValueError(key, value, f"a list of integers >= {minimum}")
    for item in value:
        if not (_is_int(item) and item >= minimum):
            raise InvalidValueError(key, value, f"a list of integers >= {minimum}")
    return [int(item) for item in value]
