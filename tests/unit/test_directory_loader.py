from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from lienthong.contract.agency import AgencyCodePattern
from lienthong.directory.errors import DirectoryError, Problem
from lienthong.directory.loader import load_directory, parse_directory

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "directory.example.yaml"

# Seven lines; the cases below append agencies from line 8 on, or a `groups:` key at line 8.
HEADER = """\
version: 1
endpoints:
  - {id: vpcp, name: Văn phòng Chính phủ}
  - {id: tinh, name: Tỉnh Nghệ An}
agencies:
  - {code: 000.00.00.G22, name: Văn phòng Chính phủ, endpoint: vpcp}
  - {code: 000.00.00.H41, name: Tỉnh Nghệ An, endpoint: tinh}
"""

BAD = {
    "unknown endpoint": (
        "  - code: 000.00.01.H41\n    name: Sở Y tế\n    endpoint: nowhere\n",
        [(10, "agency '000.00.01.H41': unknown endpoint 'nowhere'")],
    ),
    "duplicate code names both lines": (
        "  - {code: 000.00.00.H41, name: Again, endpoint: tinh}\n",
        [(8, "duplicate agency code '000.00.00.H41': first defined at line 7")],
    ),
    "unknown parent": (
        "  - {code: 000.00.01.H41, name: Sở, parent: 000.00.00.H42, endpoint: tinh}\n",
        [(8, "agency '000.00.01.H41': unknown parent '000.00.00.H42'")],
    ),
    "parent cycle": (
        (
            "  - {code: 000.00.01.H41, name: A, parent: 000.00.02.H41, endpoint: tinh}\n"
            "  - {code: 000.00.02.H41, name: B, parent: 000.00.01.H41, endpoint: tinh}\n"
        ),
        [(8, "parent cycle: 000.00.01.H41 -> 000.00.02.H41 -> 000.00.01.H41")],
    ),
    "bad agency code": (
        "  - {code: 000.00.1.H41, name: Sở, endpoint: tinh}\n",
        [(8, "'000.00.1.H41' is not an agency code")],
    ),
    "unknown key": (
        "  - {code: 000.00.01.H41, name: Sở, endpoint: tinh,\n     parnet: 000.00.00.H41}\n",
        [(9, "unknown key 'parnet' in agencies[2]")],
    ),
    "missing key": (
        "  - {code: 000.00.01.H41, name: Sở}\n",
        [(8, "missing key 'endpoint' in agencies[2]")],
    ),
    "wrong type": (
        "  - {code: 000.00.01.H41, name: 12, endpoint: tinh}\n",
        [(8, "agencies[2].name: Input should be a valid string")],
    ),
    "duplicate YAML key": (
        "  - code: 000.00.01.H41\n    name: Sở\n    endpoint: tinh\n    endpoint: vpcp\n",
        [(11, "duplicate key 'endpoint': first at line 10")],
    ),
    "cyclic group": (
        "groups:\n  - {name: a, members: [b]}\n  - {name: b, members: [a]}\n",
        [(9, "group cycle: a -> b -> a")],
    ),
    "group containing itself": (
        "groups:\n  - {name: a, members: [000.00.00.H41, a]}\n",
        [(9, "group cycle: a -> a")],
    ),
    "unknown member": (
        "groups:\n  - name: g\n    members:\n      - 000.00.00.H41\n      - nobody\n",
        [(12, "group 'g': unknown member 'nobody' (neither an agency code nor a group)")],
    ),
    "unknown under": (
        "groups:\n  - {name: g, under: [000.00.00.H42]}\n",
        [(9, "group 'g': unknown agency '000.00.00.H42' in under")],
    ),
    "bad regex": (
        "groups:\n  - name: g\n    pattern: '^000\\.(['\n",
        [(10, "group 'g': invalid pattern: unterminated character set")],
    ),
    "empty group": (
        "groups:\n  - {name: g, pattern: '^X'}\n",
        [(9, "group 'g' expands to no agencies")],
    ),
    "group with nothing": (
        "groups:\n  - {name: g, description: nothing}\n",
        [(9, "group 'g' has no members, under or pattern")],
    ),
    "group name shape": (
        "groups:\n  - {name: All, members: [000.00.00.H41]}\n",
        [(9, "groups[0].name: String should match pattern")],
    ),
    "members not a list": (
        "groups:\n  - {name: g, members: 000.00.00.H41}\n",
        [(9, "groups[0].members: Input should be a valid list")],
    ),
    "duplicate group": (
        "groups:\n  - {name: g, members: [000.00.00.H41]}\n  - {name: g, under: [000.00.00.H41]}\n",
        [(10, "duplicate group name 'g': first defined at line 9")],
    ),
    "unknown sender": (
        (
            "groups:\n  - name: g\n    members: [000.00.00.H41]\n    senders:\n"
            "      - 000.00.00.G22\n      - nobody\n"
        ),
        [(13, "group 'g': unknown sender 'nobody' (neither an agency code nor a group)")],
    ),
    "unknown sender code in a flow list": (
        "groups:\n  - {name: g, members: [000.00.00.H41],\n     senders: [g, 000.00.00.H42]}\n",
        [(10, "group 'g': unknown sender '000.00.00.H42'")],
    ),
    "senders not a list": (
        "groups:\n  - {name: g, members: [000.00.00.H41], senders: 000.00.00.G22}\n",
        [(9, "groups[0].senders: Input should be a valid list")],
    ),
    "unknown sender does not hide an empty group": (
        "groups:\n  - name: g\n    pattern: '^X'\n    senders: [nobody]\n",
        [(9, "group 'g' expands to no agencies"), (11, "group 'g': unknown sender 'nobody'")],
    ),
    "yaml syntax": (
        "  - {code: 000.00.01.H41, name: Sở, endpoint: tinh\n",
        [(9, "invalid YAML")],
    ),
}


def _assert_reported(text: str, expected: list[tuple[int, str]]) -> None:
    with pytest.raises(DirectoryError) as caught:
        parse_directory(text, "dir.yaml")
    found = [(problem.line, problem.message) for problem in caught.value.problems]
    assert len(found) == len(expected), found
    for (line, message), (want_line, fragment) in zip(found, expected, strict=True):
        assert line == want_line, found
        assert fragment in message, found


@pytest.mark.parametrize(("tail", "expected"), BAD.values(), ids=BAD.keys())
def test_bad_input_is_reported_at_its_line(tail: str, expected: list[tuple[int, str]]) -> None:
    _assert_reported(HEADER + tail, expected)


ENDPOINTS_BAD = {
    "duplicate endpoint id": (
        "  - {id: vpcp, name: Again}\n",
        [(5, "duplicate endpoint id 'vpcp': first defined at line 3")],
    ),
    "same topic": (
        "  - {id: other, name: Other, topic: lienthong.deliver.vpcp}\n",
        [(5, "endpoints 'vpcp' (line 3) and 'other' deliver to the same topic")],
    ),
    "topics Kafka cannot tell apart": (
        "  - {id: x_y, name: A}\n  - {id: x.y, name: B}\n",
        [(6, "endpoints 'x_y' (line 5) and 'x.y' deliver to topics Kafka cannot tell apart")],
    ),
    "one key for two endpoints": (
        (
            f"  - {{id: a, name: A, credential_sha256: {'ab' * 32}}}\n"
            f"  - {{id: b, name: B, credential_sha256: {'ab' * 32}}}\n"
        ),
        [(6, "endpoints 'a' (line 5) and 'b' have the same credential_sha256")],
    ),
    "credential not a hash": (
        "  - {id: other, name: Other, credential_sha256: demo-key-other}\n",
        [(5, "endpoints[2].credential_sha256: String should match pattern")],
    ),
}


def _with_endpoint(line: str) -> str:
    """Return HEADER with one more endpoint line after the second (so at line 5)."""
    lines = HEADER.splitlines(keepends=True)
    return "".join(lines[:4]) + line + "".join(lines[4:])


@pytest.mark.parametrize(("extra", "expected"), ENDPOINTS_BAD.values(), ids=ENDPOINTS_BAD.keys())
def test_bad_endpoints_are_reported(extra: str, expected: list[tuple[int, str]]) -> None:
    _assert_reported(_with_endpoint(extra), expected)


def test_a_key_put_where_its_hash_belongs_is_not_echoed() -> None:
    text = _with_endpoint("  - {id: other, name: Other, credential_sha256: s3cret-api-key}\n")
    with pytest.raises(DirectoryError) as caught:
        parse_directory(text, "dir.yaml")
    assert "s3cret" not in str(caught.value)


def test_every_problem_is_reported_once_as_file_line_message() -> None:
    tail = (
        "  - {code: 000.00.01.H41, name: A, endpoint: nowhere}\n"
        "  - {code: 000.00.01.H41, name: B, endpoint: tinh}\n"
    )
    with pytest.raises(DirectoryError) as caught:
        parse_directory(HEADER + tail, "dir.yaml")
    assert str(caught.value).splitlines() == [
        "dir.yaml:8: agency '000.00.01.H41': unknown endpoint 'nowhere'",
        "dir.yaml:9: duplicate agency code '000.00.01.H41': first defined at line 8",
    ]
    assert isinstance(caught.value, ValueError)


def test_all_problems_of_a_file_are_collected() -> None:
    tail = (
        "  - {code: 000.00.01.H41, name: A, parent: 000.00.09.H41, endpoint: nowhere}\n"
        "groups:\n"
        "  - {name: a, members: [b, 000.00.00.H41]}\n"
        "  - {name: b, members: [a, ghost]}\n"
        "  - {name: c, pattern: '('}\n"
    )
    with pytest.raises(DirectoryError) as caught:
        parse_directory(HEADER + tail, "dir.yaml")
    assert [(p.line, p.message.split(":")[0]) for p in caught.value.problems] == [
        (8, "agency '000.00.01.H41'"),  # unknown endpoint
        (8, "agency '000.00.01.H41'"),  # unknown parent
        (10, "group cycle"),
        (11, "group 'b'"),  # unknown member
        (12, "group 'c'"),  # invalid pattern
    ]


def test_senders_may_name_their_own_group_and_each_other() -> None:
    tail = (
        "groups:\n"
        "  - {name: a, members: [000.00.00.H41], senders: [a, b]}\n"
        "  - {name: b, members: [000.00.00.G22], senders: [a]}\n"
    )
    directory = parse_directory(HEADER + tail, "dir.yaml")
    assert directory.group("a").senders == ("a", "b")
    assert directory.allowed_senders == {
        "a": {"000.00.00.H41", "000.00.00.G22"},
        "b": {"000.00.00.H41"},
    }


def test_shape_problems_are_all_reported_together() -> None:
    text = "version: 2\nendpoints: {}\nagencies: []\ncolour: blue\n"
    with pytest.raises(DirectoryError) as caught:
        parse_directory(text, "dir.yaml")
    assert [problem.line for problem in caught.value.problems] == [1, 2, 4]


def test_an_endpoint_without_agencies_is_a_warning() -> None:
    directory = parse_directory(_with_endpoint("  - {id: spare, name: Spare}\n"), "dir.yaml")
    assert directory.warnings == (Problem("dir.yaml", 5, "endpoint 'spare' serves no agencies"),)


def test_a_group_name_matching_the_code_pattern_is_rejected() -> None:
    codes = AgencyCodePattern(r"^[0-9a-z.]+$")  # a deployment with lower-case codes
    text = HEADER + "groups:\n  - {name: mixed, members: [000.00.00.H41]}\n"
    with pytest.raises(DirectoryError, match=r"dir\.yaml:9: group name 'mixed' looks like"):
        parse_directory(
            text.replace("H41", "h41").replace("G22", "g22"), "dir.yaml", agency_codes=codes
        )


def test_load_directory_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(HEADER + "  - {code: bad, name: X, endpoint: tinh}\n", encoding="utf-8")
    with pytest.raises(
        DirectoryError, match=f"^{re.escape(str(path))}:8: 'bad' is not an agency code"
    ):
        load_directory(path)


def test_the_example_loads() -> None:
    directory = load_directory(EXAMPLE)
    assert directory.warnings == ()
    provinces = directory.group_members("all-provinces")
    assert len(provinces) == 34
    assert {"000.00.00.H41", "000.00.00.H24"} <= provinces
    assert "000.01.04.H41" in directory.group_members("nghe-an-and-units")
    assert directory.endpoint_of("000.00.00.G22").id == "vpcp"
    assert directory.group_members("ministries-and-provinces") == (
        directory.group_members("all-ministries") | provinces
    )
    assert len(directory.agencies_at("dia-phuong")) == 32
    assert set(directory.allowed_senders) == {
        "all-ministries",
        "all-provinces",
        "ministries-and-provinces",
        "government-and-ministries",
        "nghe-an-and-units",
    }


def test_the_example_holds_hashes_of_the_demo_keys_not_the_keys() -> None:
    directory = load_directory(EXAMPLE)
    text = EXAMPLE.read_text(encoding="utf-8")
    for endpoint in directory.endpoints.values():
        key = f"demo-key-{endpoint.id}"
        assert endpoint.credential_sha256 == hashlib.sha256(key.encode()).hexdigest()
        assert key not in text


def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    agency = "  - {code: 000.00.01.H41, name: Sở Y tế}\n"
    path.write_bytes(HEADER.encode() + agency.encode("utf-16"))  # an editor's "Unicode"
    with pytest.raises(DirectoryError) as caught:
        load_directory(str(path))
    [problem] = caught.value.problems
    assert problem.line == 8
    assert "not UTF-8" in problem.message
