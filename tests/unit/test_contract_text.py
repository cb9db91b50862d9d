"""lienthong.contract.text: what text may hold, and how a terminal is shown the rest."""

from __future__ import annotations

import json

import pytest

from lienthong.contract.text import for_terminal, json_for_terminal, unsafe_character


@pytest.mark.parametrize(
    "text", ["Về việc chỉ đạo", "tab\tand\nline feed", "“quotes” — dashes", "", "emoji 📄"]
)
def test_plain_text_is_accepted_as_it_is(text: str) -> None:
    assert unsafe_character(text) is None
    assert json_for_terminal(json.dumps(text, ensure_ascii=False)) == json.dumps(
        text, ensure_ascii=False
    )


def test_the_first_unsafe_character_is_named() -> None:
    assert unsafe_character("a\x7fb\x1b") == "U+007F (control character)"
    assert unsafe_character("x\u202by") == "U+202B (right-to-left embedding)"


def test_a_terminal_gets_escapes_and_json_stays_the_same_json() -> None:
    text = "a\x1b[2Jb\tc\u202ed\x85"
    assert for_terminal(text) == "a\\x1b[2Jb\\x09c\\u202ed\\x85"
    shown = json_for_terminal(json.dumps({"s": text}, ensure_ascii=False))
    assert not {"\x1b", "\u202e", "\x85"} & set(shown)
    assert json.loads(shown) == {"s": text}
