from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lienthong.contract import examples
from lienthong.directory.loader import load_directory, parse_directory
from lienthong.directory.model import Agency, Directory, Endpoint, Group
from lienthong.directory.policy import violations

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "directory.example.yaml"

DIRECTORY = parse_directory(
    """\
version: 1
endpoints:
  - {id: vpcp, name: Văn phòng Chính phủ}
  - {id: bo, name: Các bộ}
  - {id: nghe-an, name: Tỉnh Nghệ An}
  - {id: other, name: Các tỉnh khác}
agencies:
  - {code: 000.00.00.G22, name: Văn phòng Chính phủ, endpoint: vpcp}
  - {code: 000.00.00.G01, name: Bộ Quốc phòng, endpoint: bo}
  - {code: 000.00.00.G06, name: Bộ Tài chính, endpoint: bo}
  - {code: 000.00.01.G06, name: Cục Thuế, parent: 000.00.00.G06, endpoint: bo}
  - {code: 000.00.00.H41, name: Tỉnh Nghệ An, endpoint: nghe-an}
  - {code: 000.00.04.H41, name: Sở Y tế, parent: 000.00.00.H41, endpoint: nghe-an}
  - {code: 000.01.04.H41, name: Bệnh viện, parent: 000.00.04.H41, endpoint: nghe-an}
  - {code: 000.00.00.H24, name: Thành phố Hà Nội, endpoint: other}
  - {code: 000.00.00.H01, name: Tỉnh An Giang, endpoint: other}
groups:
  - {name: ministries, members: [000.00.00.G01, 000.00.00.G06]}
  - {name: centre, members: [000.00.00.G22, ministries], senders: [centre]}
  - {name: provinces, pattern: '^000\\.00\\.00\\.H[0-9]{2}$', senders: [centre]}
  - {name: nghe-an-and-units, under: [000.00.00.H41], senders: [nghe-an-and-units, centre]}
  - {name: finance, under: [000.00.00.G06], senders: [000.00.00.G06]}
  - {name: wide, members: [centre, nghe-an-and-units]}
  - {name: ha-noi, members: [000.00.00.H24], senders: [wide]}
""",
    "test",
)
G22, G01, G06, TAX = "000.00.00.G22", "000.00.00.G01", "000.00.00.G06", "000.00.01.G06"
H41, H41_HEALTH, H41_HOSPITAL = "000.00.00.H41", "000.00.04.H41", "000.01.04.H41"
H24, H01 = "000.00.00.H24", "000.00.00.H01"
STRANGER = "000.00.00.X99"


def refused(sender: str, group: str, allowed: str) -> str:
    return f"{sender} may not address {group} (allowed senders: {allowed})"


CASES = {
    "agency recipients are always allowed": (H01, [G22, H41, TAX, H41_HOSPITAL], ()),
    "a group without senders is open": (H01, ["ministries", "wide"], ()),
    "a listed sender": (G22, ["provinces", "centre", "ha-noi"], ()),
    "a sender through a nested group": (G01, ["provinces"], ()),
    "a restricted group": (H41, ["provinces"], (refused(H41, "provinces", "centre"),)),
    "a sender by agency code": (G06, ["finance"], ()),
    "a unit is not its parent": (TAX, ["finance"], (refused(TAX, "finance", G06),)),
    "a group's own members": (H41_HOSPITAL, ["nghe-an-and-units"], ()),
    "another province": (
        H24,
        ["nghe-an-and-units"],
        (refused(H24, "nghe-an-and-units", "nghe-an-and-units, centre"),),
    ),
    "senders two groups deep": (G01, ["ha-noi"], ()),
    "senders through a nested subtree": (H41_HEALTH, ["ha-noi"], ()),
    "outside nested senders": (H01, ["ha-noi"], (refused(H01, "ha-noi", "wide"),)),
    "unknown recipients are left to resolution": (H01, ["nope", "000.00.00.H99", H24], ()),
    "each refusal once, in input order": (
        H01,
        ["provinces", G22, "centre", "ministries", "provinces", "nope", "centre"],
        (refused(H01, "provinces", "centre"), refused(H01, "centre", "centre")),
    ),
    "an unknown sender, once": (
        STRANGER,
        ["provinces", G22, "centre"],
        (f"sender {STRANGER} is not in the directory",),
    ),
    "an unknown sender with no recipients": (
        STRANGER,
        [],
        (f"sender {STRANGER} is not in the directory",),
    ),
    "a group name is not a sender": ("centre", [G22], ("sender centre is not in the directory",)),
    "no recipients": (H01, [], ()),
}


@pytest.mark.parametrize(("sender", "recipients", "expected"), CASES.values(), ids=CASES.keys())
def test_violations(sender: str, recipients: list[str], expected: tuple[str, ...]) -> None:
    assert violations(DIRECTORY, sender, recipients) == expected


MAY_ADDRESS = {
    "agency to agency": (H01, H24, True),
    "agency to itself": (H01, H01, True),
    "open group": (H01, "ministries", True),
    "restricted group, allowed": (G01, "provinces", True),
    "restricted group, refused": (H01, "provinces", False),
    "unknown recipient": (G22, "nope", False),
    "unknown sender to an agency": (STRANGER, G22, False),
    "unknown sender to an open group": (STRANGER, "ministries", False),
}


@pytest.mark.parametrize(
    ("sender", "recipient", "allowed"), MAY_ADDRESS.values(), ids=MAY_ADDRESS.keys()
)
def test_may_address(sender: str, recipient: str, *, allowed: bool) -> None:
    assert DIRECTORY.may_address(sender, recipient) is allowed


def test_senders_are_expanded_once_at_load() -> None:
    assert DIRECTORY.allowed_senders == {
        "centre": {G22, G01, G06},
        "provinces": {G22, G01, G06},
        "nghe-an-and-units": {H41, H41_HEALTH, H41_HOSPITAL, G22, G01, G06},
        "finance": {G06},
        "ha-noi": {G22, G01, G06, H41, H41_HEALTH, H41_HOSPITAL},
    }
    # A lone group of senders shares that group's expansion instead of copying it.
    assert DIRECTORY.allowed_senders["ha-noi"] is DIRECTORY.group_members("wide")


def test_a_long_list_of_senders_is_cut_short_in_the_message() -> None:
    senders = (G22, G01, G06, TAX, H41)
    directory = _built(Group("g", members=(H24,), senders=senders))
    assert violations(directory, H01, ["g"]) == (
        refused(H01, "g", f"{G22}, {G01}, {G06} and 2 more"),
    )


def test_senders_the_directory_does_not_know_allow_no_one() -> None:
    # Only Directory.build sees such a group; the loader rejects the file first.
    directory = _built(Group("g", members=(H24,), senders=("ghost",)))
    assert directory.allowed_senders == {"g": frozenset()}
    assert not directory.may_address(H24, "g")
    assert violations(directory, H24, ["g"]) == (refused(H24, "g", "ghost"),)


def _built(*groups: Group) -> Directory:
    return Directory.build(
        agencies=DIRECTORY.agencies.values(), endpoints=[Endpoint("e", "E")], groups=groups
    )


NAMES = [*DIRECTORY.agencies, *DIRECTORY.groups, "000.00.00.H99", "nope"]


@given(
    sender=st.sampled_from([*DIRECTORY.agencies, STRANGER]),
    recipients=st.lists(st.sampled_from(NAMES), max_size=8),
)
def test_violations_name_exactly_the_restricted_groups_the_sender_is_not_allowed(
    sender: str, recipients: list[str]
) -> None:
    found = violations(DIRECTORY, sender, recipients)
    if sender == STRANGER:
        assert found == (f"sender {STRANGER} is not in the directory",)
        return
    expected = [
        r for r in dict.fromkeys(recipients) if r in DIRECTORY.groups and not _may(sender, r)
    ]
    assert [message.split(" (")[0] for message in found] == [
        f"{sender} may not address {group}" for group in expected
    ]
    # Each recipient is judged alone: the answer for a list is the answers for its parts.
    parts = [violations(DIRECTORY, sender, [r]) for r in dict.fromkeys(recipients)]
    assert found == tuple(message for part in parts for message in part)


def _may(sender: str, group: str) -> bool:
    """Decide from the group's `senders` as written, expanding each name on demand."""
    senders = DIRECTORY.group(group).senders
    return not senders or any(
        sender == name or (name in DIRECTORY.groups and sender in DIRECTORY.group_members(name))
        for name in senders
    )


@pytest.fixture(scope="module")
def example() -> Directory:
    return load_directory(EXAMPLE)


EXAMPLE_CASES = {
    "the Government Office to every province": (G22, ["all-provinces"], ()),
    "a ministry to the ministries and provinces": (
        "000.00.00.G13",
        ["ministries-and-provinces"],
        (),
    ),
    "a province to the Government Office and a ministry": (H41, [G22, "000.00.00.G13"], ()),
    "a province to every province": (
        H41,
        ["all-provinces", "all-ministries"],
        (
            refused(H41, "all-provinces", "government-and-ministries"),
            refused(H41, "all-ministries", "government-and-ministries"),
        ),
    ),
    "a ministry's unit to every province": (
        TAX,
        ["all-provinces"],
        (refused(TAX, "all-provinces", "government-and-ministries"),),
    ),
    "a hospital of Nghệ An to its province": (H41_HOSPITAL, ["nghe-an-and-units"], ()),
    "a ministry to Nghệ An and its units": ("000.00.00.G13", ["nghe-an-and-units"], ()),
    "Hà Nội to Nghệ An and its units": (
        H24,
        ["nghe-an-and-units", H41],
        (refused(H24, "nghe-an-and-units", "nghe-an-and-units, government-and-ministries"),),
    ),
}


@pytest.mark.parametrize(
    ("sender", "recipients", "expected"), EXAMPLE_CASES.values(), ids=EXAMPLE_CASES.keys()
)
def test_the_example_policy(
    example: Directory, sender: str, recipients: list[str], expected: tuple[str, ...]
) -> None:
    assert violations(example, sender, recipients) == expected


def test_the_example_document_is_allowed(example: Directory) -> None:
    document = examples.document()
    sender = document["from_organ"]["organ_id"]
    assert violations(example, sender, document["recipients"]) == ()


def test_an_agency_built_directly_defaults_to_the_open_policy() -> None:
    agency = Agency(H01, "An Giang", None, "e")
    directory = Directory.build(
        agencies=[agency], endpoints=[Endpoint("e", "E")], groups=[Group("g", members=(H01,))]
    )
    assert directory.allowed_senders == {}
    assert directory.may_address(H01, "g")
