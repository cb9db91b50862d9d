"""A national-sized directory: about 101k agencies, most of them under the 34 provinces."""

from __future__ import annotations

import pytest

from lienthong.directory.loader import parse_directory
from lienthong.directory.model import Directory
from lienthong.directory.policy import violations
from lienthong.directory.resolve import resolve_recipients

PROVINCES = 34
DEPARTMENTS = 99  # level 2 under each province: 000.00.<dd>.H<pp>
UNITS = 29  # level 3 under each department: 000.<uu>.<dd>.H<pp>
PER_PROVINCE = 1 + DEPARTMENTS + DEPARTMENTS * UNITS
MINISTRIES = 16
AGENCIES = 1 + MINISTRIES + PROVINCES * PER_PROVINCE


def national_directory_yaml() -> str:
    """Return a directory file with one endpoint per province and 100k agencies."""
    lines = [
        "version: 1",
        "endpoints:",
        "  - {id: vpcp, name: Văn phòng Chính phủ}",
        "  - {id: bo-nganh, name: Các bộ và cơ quan ngang bộ}",
    ]
    lines += [f"  - {{id: tinh-h{p:02d}, name: Tỉnh {p}}}" for p in range(1, PROVINCES + 1)]
    lines += ["agencies:", "  - {code: 000.00.00.G22, name: Văn phòng Chính phủ, endpoint: vpcp}"]
    lines += [
        f"  - {{code: 000.00.00.G{m:02d}, name: Bộ {m}, endpoint: bo-nganh}}"
        for m in range(1, MINISTRIES + 1)
    ]
    for p in range(1, PROVINCES + 1):
        province, endpoint = f"000.00.00.H{p:02d}", f"tinh-h{p:02d}"
        lines.append(f"  - {{code: {province}, name: Tỉnh {p}, endpoint: {endpoint}}}")
        for d in range(1, DEPARTMENTS + 1):
            department = f"000.00.{d:02d}.H{p:02d}"
            lines.append(
                f"  - {{code: {department}, name: Sở {d}, parent: {province},"
                f" endpoint: {endpoint}}}"
            )
            lines.extend(
                f"  - {{code: 000.{u:02d}.{d:02d}.H{p:02d}, name: Đơn vị {u},"
                f" parent: {department}, endpoint: {endpoint}}}"
                for u in range(1, UNITS + 1)
            )
    lines += [
        "groups:",
        "  - {name: all-provinces, pattern: '^000\\.00\\.00\\.H[0-9]{2}$'}",
        "  - {name: all-ministries, pattern: '^000\\.00\\.00\\.G(?!22)[0-9]{2}$'}",
        "  - {name: ministries-and-provinces, members: [all-ministries, all-provinces]}",
        "  - {name: province-07-and-units, under: [000.00.00.H07],",
        "     senders: [province-07-and-units, ministries-and-provinces]}",
        "  - {name: everyone, pattern: '.', senders: [everyone]}",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def national() -> Directory:
    return parse_directory(national_directory_yaml(), "national.yaml")


def test_a_national_directory_loads(national: Directory) -> None:
    assert len(national.agencies) == AGENCIES > 100_000
    assert national.warnings == ()
    assert len(national.children_of("000.00.00.H07")) == DEPARTMENTS
    assert len(national.agencies_at("tinh-h07")) == PER_PROVINCE


def test_all_provinces_resolves_to_one_agency_at_each_province_endpoint(
    national: Directory,
) -> None:
    resolution = resolve_recipients(national, ["all-provinces"], sender="000.00.00.G22")
    assert len(resolution.targets) == PROVINCES
    assert resolution.targets["tinh-h07"] == ("000.00.00.H07",)
    assert all(len(codes) == 1 for codes in resolution.targets.values())


def test_groups_of_a_national_directory_resolve_with_the_right_counts(
    national: Directory,
) -> None:
    sender = "000.00.00.G22"
    both = resolve_recipients(national, ["ministries-and-provinces"], sender=sender)
    assert len(both.targets["bo-nganh"]) == MINISTRIES
    subtree = resolve_recipients(national, ["province-07-and-units"], sender=sender)
    assert {k: len(v) for k, v in subtree.targets.items()} == {"tinh-h07": PER_PROVINCE}
    everyone = resolve_recipients(national, ["everyone", "all-provinces"], sender=sender)
    assert sum(len(codes) for codes in everyone.targets.values()) == AGENCIES - 1
    assert "vpcp" not in everyone.targets  # the sender was its only agency


def test_the_sending_policy_of_a_national_directory(national: Directory) -> None:
    # Restricting a group to everyone shares the group's expansion rather than copying it.
    assert national.allowed_senders["everyone"] is national.group_members("everyone")
    assert (
        len(national.allowed_senders["province-07-and-units"])
        == PER_PROVINCE + PROVINCES - 1 + MINISTRIES
    )
    unit_07, unit_08 = "000.29.99.H07", "000.29.99.H08"
    assert violations(national, unit_07, ["province-07-and-units", "everyone"]) == ()
    allowed = "province-07-and-units, ministries-and-provinces"
    assert violations(national, unit_08, ["province-07-and-units", unit_07]) == (
        f"{unit_08} may not address province-07-and-units (allowed senders: {allowed})",
    )
