"""JSON as the contract reads it: one value per key, finite numbers, bounded nesting.

Python's `json` takes `NaN` and `Infinity`, keeps the last of two equal keys without a word,
and raises RecursionError (not ValueError) on deep nesting. Each would let a request lie about
what it says, or turn a bad body into a server error.
"""

from __future__ import annotations

import json
from typing import Any


class JsonRefused(ValueError):
    """The text is not JSON the contract accepts; the message says why, in one line."""


def _no_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonRefused(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads(text: str | bytes) -> Any:
    """Parse JSON, refusing NaN, Infinity, duplicate keys and nesting past Python's limit.

    Raises json.JSONDecodeError for text that is not JSON, JsonRefused for the rest.
    """
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise JsonRefused("nested too deeply") from None


def raw_decode(text: str, pos: int) -> tuple[Any, int]:
    """Decode the one JSON value at `pos` as `loads` would; return it and where it ends."""
    try:
        return _DECODER.raw_decode(text, pos)
    except RecursionError:
        raise JsonRefused("nested too deeply") from None


_DECODER = json.JSONDecoder(parse_constant=_no_constant, object_pairs_hook=_unique_keys)
