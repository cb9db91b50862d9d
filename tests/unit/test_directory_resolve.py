from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lienthong.directory.loader import parse_directory
from lienthong.directory.model import Directory
from lienthong.directory.resolve import resolve_recipients

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
  - {code: 000.00.00.G02, name: Bộ Công an, endpoint: bo}
  - {code: 000.00.00.G06, name: Bộ Tài chính, endpoint: bo}
  - {code: 000.00.00.H41, name: Tỉnh Nghệ An, endpoint: nghe-an}
  - {code: 000.00.04.H41, name: Sở Y tế, parent: 000.00.00.H41, endpoint: nghe-an}
  - {code: 000.01.04.H41, name: Bệnh viện, parent: 000.00.04.H41, endpoint: nghe-an}
  - {code: 000.00.00.H24, name: Thành phố Hà Nội, endpoint: other}
  - {code: 000.00.00.H01, name: Tỉnh An Giang, endpoint: other}
groups:
  - {name: ministries, members: [000.00.00.G01, 000.00.00.G02, 000.00.00.G06]}
  - {name: provinces, pattern: '^000\\.00\\.00\\.H[0-9]{2}$'}
  - {name: nghe-an-and-units, under: [000.00.00.H41]}
  - {name: ministries-and-provinces, members: [ministries, provinces]}
  - {name: everyone, members: [ministries-and-provinces, nghe-an-and-units, 000.00.00.G22]}
""",
    "test",
)
G22, G01, G02, G06 = "000.00.00.G22", "000.00.00.G01", "000.00.00.G02", "000.00.00.G06"
H41, H41_HEALTH, H41_HOSPITAL = "000.00.00.H41", "000.00.04.H41", "000.01.04.H41"
H24, H01 = "000.00.00.H24", "000.00.00.H01"
PROVINCES = {"nghe-an": (H41,), "other": (H01, H24)}

CASES = {
    "a code": ([H41], G22, {"nghe-an": (H41,)}, ()),
    "a group": (["provinces"], G22, PROVINCES, ()),
    "a subtree": (["nghe-an-and-units"], G22, {"nghe-an": (H41, H41_HEALTH, H41_HOSPITAL)}, ()),
    "groups of groups": (
        ["ministries-and-provinces"],
        G22,
        {"bo": (G01, G02, G06), **PROVINCES},
        (),
    ),
    "group and code overlap": ([H24, "provinces", H24, "provinces"], G22, PROVINCES, ()),
    "overlapping groups": (
        ["nghe-an-and-units", "provinces", H41_HEALTH],
        G22,
        {"nghe-an": (H41, H41_HEALTH, H41_HOSPITAL), "other": (H01, H24)},
        (),
    ),
    "unknown names": (
        ["000.00.00.H99", "nope", H41, "nope"],
        G22,
        {"nghe-an": (H41,)},
        ("000.00.00.H99", "nope"),
    ),
    "sender left out of a group": (["ministries"], G06, {"bo": (G01, G02)}, ()),
    "sender kept when named": (["ministries", G06], G06, {"bo": (G01, G02, G06)}, ()),
    "sender's endpoint left empty": (["provinces"], H41, {"other": (H01, H24)}, ()),
    "sender named alone": ([G22], G22, {"vpcp": (G22,)}, ()),
    "nothing to resolve": ([], G22, {}, ()),
}


@pytest.mark.parametrize(
    ("recipients", "sender", "targets", "unknown"), CASES.values(), ids=CASES.keys()
)
def test_resolution(
    recipients: list[str],
    sender: str,
    targets: dict[str, tuple[str, ...]],
    unknown: tuple[str, ...],
) -> None:
    resolution = resolve_recipients(DIRECTORY, recipients, sender=sender)
    assert dict(resolution.targets) == targets
    assert resolution.unknown == unknown


def test_order_of_recipients_does_not_change_the_result() -> None:
    recipients = ["provinces", G06, "nghe-an-and-units", "ministries"]
    results = {
        tuple(resolve_recipients(DIRECTORY, list(order), sender=G01).targets.items())
        for order in itertools.permutations(recipients)
    }
    assert len(results) == 1
    (items,) = results
    assert [endpoint for endpoint, _ in items] == ["bo", "nghe-an", "other"]


NAMES = [*DIRECTORY.agencies, *DIRECTORY.groups, "000.00.00.H99", "nope"]


@given(
    recipients=st.lists(st.sampled_from(NAMES), max_size=8),
    sender=st.sampled_from([*DIRECTORY.agencies, "000.00.00.X00"]),
)
def test_every_target_was_addressed_and_sits_at_its_own_endpoint(
    recipients: list[str], sender: str
) -> None:
    resolution = resolve_recipients(DIRECTORY, recipients, sender=sender)
    assert list(resolution.targets) == sorted(resolution.targets)
    delivered: list[str] = []
    for endpoint_id, codes in resolution.targets.items():
        assert codes
        assert list(codes) == sorted(set(codes))
        assert all(DIRECTORY.agency(code).endpoint == endpoint_id for code in codes)
        delivered.extend(codes)
    assert len(delivered) == len(set(delivered)), "an agency at two endpoints"
    assert set(delivered) == _expected(DIRECTORY, recipients, sender)
    assert resolution.unknown == tuple(
        dict.fromkeys(
            r for r in recipients if r not in DIRECTORY.agencies and r not in DIRECTORY.groups
        )
    )


def _expected(directory: Directory, recipients: list[str], sender: str) -> set[str]:
    named = {r for r in recipients if directory.is_agency(r)}
    via_groups = set().union(
        *(directory.group_members(r) for r in recipients if directory.is_group(r))
    )
    return named | (via_groups - ({sender} - named))
