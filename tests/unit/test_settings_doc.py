from __future__ import annotations

from pathlib import Path

from lienthong.plumbing.settings import env_names
from lienthong.plumbing.settings_doc import BEGIN, END, reference

README = Path(__file__).parents[2] / "README.md"


def test_readme_lists_every_setting_as_the_code_defines_it() -> None:
    text = README.read_text(encoding="utf-8")
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == reference(), "run `lienthong settings show --markdown` into README.md"


def test_reference_names_every_variable() -> None:
    table = reference()
    assert all(f"`{name}`" in table for name in env_names())
