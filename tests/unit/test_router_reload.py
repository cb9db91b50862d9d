from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from lienthong.directory.errors import DirectoryError
from lienthong.directory.live import DirectoryHolder
from lienthong.directory.loader import load_directory
from lienthong.plumbing.settings import DirectorySettings, RouterSettings, Settings
from lienthong.router.bootstrap import build_router
from tests.support.api import EXAMPLE_DIRECTORY

EXTRA_GROUP = """
  - name: south-central
    description: test group added by a reload
    members: [000.00.00.H41]
"""


def _holder(path: Path, outcomes: list[str], now: list[float]) -> DirectoryHolder:
    return DirectoryHolder(
        path, load_directory, check_interval_s=5, on_reload=outcomes.append, clock=lambda: now[0]
    )


def _touch(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_changed_file_is_applied_at_the_next_check(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    text = EXAMPLE_DIRECTORY.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    outcomes: list[str] = []
    now = [0.0]
    holder = _holder(path, outcomes, now)
    first = holder.current
    _touch(path, text + EXTRA_GROUP)
    assert not holder.maybe_reload()  # not yet time to look
    now[0] = 6.0
    assert holder.maybe_reload()
    assert holder.current is not first
    assert holder.current.is_group("south-central")
    assert outcomes == ["applied"]
    now[0] = 12.0
    assert not holder.maybe_reload()  # unchanged since


def test_bad_new_directory_is_refused_and_the_old_one_kept(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(EXAMPLE_DIRECTORY.read_text(encoding="utf-8"), encoding="utf-8")
    outcomes: list[str] = []
    now = [0.0]
    holder = _holder(path, outcomes, now)
    good = holder.current
    _touch(path, "version: 1\nagencies: [{code: nope}]\n")
    holder.request()  # SIGHUP: no need to wait for the interval
    assert not holder.maybe_reload()
    assert holder.current is good
    assert outcomes == ["refused"]


def test_reload_request_rereads_even_an_unchanged_file(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(EXAMPLE_DIRECTORY.read_text(encoding="utf-8"), encoding="utf-8")
    outcomes: list[str] = []
    holder = _holder(path, outcomes, [0.0])
    holder.request()
    assert holder.maybe_reload()
    assert outcomes == ["applied"]


def test_a_directory_holding_the_axiss_own_id_is_refused_by_the_router(tmp_path: Path) -> None:
    # The Government Office's code was the axis's default: vpcp could send 02s in its name.
    settings = Settings(
        directory=DirectorySettings(path=EXAMPLE_DIRECTORY),
        router=RouterSettings(axis_organ_id="000.00.00.G22"),
    )
    with pytest.raises(DirectoryError) as caught:
        build_router(settings, registry=CollectorRegistry())
    [problem] = caught.value.problems
    assert "agency 000.00.00.G22 (Văn phòng Chính phủ, served by endpoint vpcp)" in str(problem)
    assert "the axis's id must be one no endpoint serves" in str(problem)
    # The default is one no endpoint of the example serves.
    assert Settings().router.axis_organ_id not in load_directory(EXAMPLE_DIRECTORY).agencies
