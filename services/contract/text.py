"""Characters no text of the contract may carry, and how a terminal is shown the ones it does.

A subject or a name is shown on recipients' screens and printed by the CLI: a control
character (an ANSI escape clears a terminal or paints a fake "REVOKED") or a bidi override
(which reorders what follows) would show something other than what was sent. Tab and line
feed are the only control characters text may hold.
"""

from __future__ import annotations

import re
import unicodedata

# DEL and C1, then the embeddings, overrides and isolates of Unicode's bidi algorithm (UAX #9).
_DEL_C1_BIDI = "\x7f-\x9f\u202a-\u202e\u2066-\u2069"
# Refused in text: C0 but tab and line feed, and the above.
_REFUSED_CLASS = "\x00-\x08\x0b-\x1f" + _DEL_C1_BIDI
_REFUSED = re.compile(f"[{_REFUSED_CLASS}]")
# The same rule as a JSON Schema pattern, for the OpenAPI document (clients and fuzzers).
PLAIN_TEXT_PATTERN = f"^[^{_REFUSED_CLASS}]*$"
# What a terminal is never handed raw: the same, and tab and line feed too (one line a field).
_ESCAPED = re.compile(f"[\x00-\x1f{_DEL_C1_BIDI}]")


def _named(char: str) -> str:
    name = unicodedata.name(char, "").lower() or "control character"
    return f"U+{ord(char):04X} ({name})"


def unsafe_character(text: str) -> str | None:
    """Return the first character text may not hold, named: `U+001B (control character)`."""
    found = _REFUSED.search(text)
    return None if found is None else _named(found.group())


def for_terminal(text: str) -> str:
    """Return text with every control and bidi character shown as an escape (ESC: x1b)."""
    return _ESCAPED.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"  # noqa: PLR2004 - one byte


# In JSON text (json.dumps escapes C0 already): what a terminal acts on, as JSON escapes.
_ESCAPED_IN_JSON = re.compile(f"[{_DEL_C1_BIDI}]")


def json_for_terminal(text: str) -> str:
    """Return JSON text with DEL, C1 and bidi characters as JSON escapes: still the same JSON."""
    return _ESCAPED_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
