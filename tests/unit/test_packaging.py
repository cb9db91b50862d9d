from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_subpackage_of_services_is_listed_for_the_wheel() -> None:
    # setuptools maps lienthong -> services/ explicitly; a subpackage missing from the list
    # would work in the editable install and be missing after `pip install`.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(("lienthong", *init.parent.relative_to(ROOT / "services").parts))
        for init in (ROOT / "services").rglob("__init__.py")
    }
    assert on_disk <= listed, f"add to pyproject [tool.setuptools] packages: {on_disk - listed}"
    assert "lienthong.schemas" in listed
