from __future__ import annotations

from pathlib import Path

import pytest

from lienthong.directory.loader import load_directory
from lienthong.security.access import check_access, load_access, parse_access
from lienthong.security.errors import AccessFileError

ROOT = Path(__file__).parents[2]


def test_example_access_file_loads_and_names_known_endpoints() -> None:
    access = load_access(ROOT / "deploy" / "access.example.yaml")
    assert [r.name for r in access.readers] == ["archive", "reporting"]
    archive, reporting = access.readers
    assert archive.endpoints is None
    assert archive.dead_letters
    assert reporting.endpoints == ("vpcp",)
    assert not reporting.dead_letters
    directory = load_directory(ROOT / "deploy" / "directory.example.yaml")
    assert check_access(access, directory) == []
    assert archive.reads(directory) == tuple(sorted(directory.endpoints))


def test_a_reader_remembers_where_it_was_declared() -> None:
    text = (
        "version: 1\nreaders:\n  - {name: a, endpoints: '*'}\n\n  - name: b\n    endpoints: [x]\n"
    )
    access = parse_access(text, "access.yaml")
    assert [r.where for r in access.readers] == ["access.yaml:3", "access.yaml:5"]


def test_no_readers_is_a_valid_file() -> None:
    assert parse_access("version: 1\n").readers == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("readers: []\n", ["f.yaml:1: missing key 'version' in the file"]),
        ("version: 2\n", ["f.yaml:1: version: Input should be 1 (got 2)"]),
        (
            "version: 1\nwriters: []\n",
            ["f.yaml:2: unknown key 'writers' in the file"],
        ),
        (
            "version: 1\nreaders:\n  - {name: a, endpoints: '*', group: g}\n",
            ["f.yaml:3: unknown key 'group' in readers[0]"],
        ),
        (
            "version: 1\nreaders:\n  - {name: a}\n",
            ["f.yaml:3: missing key 'endpoints' in readers[0]"],
        ),
        (
            "version: 1\nreaders:\n  - {name: a, endpoints: all}\n",
            [
                (
                    "f.yaml:3: readers[0].endpoints: Value error, give '*' (every endpoint)"
                    " or a list of endpoint ids (got 'all')"
                )
            ],
        ),
        (
            "version: 1\nreaders:\n  - {name: a, endpoints: []}\n",
            [
                (
                    "f.yaml:3: readers[0].endpoints: Value error, give '*' (every endpoint)"
                    " or a list of endpoint ids"
                )
            ],
        ),
        (
            "version: 1\nreaders:\n  - {name: Archive, endpoints: '*'}\n",
            [
                (
                    "f.yaml:3: readers[0].name: String should match pattern"
                    " '^[a-z0-9][a-z0-9._-]*$' (got 'Archive')"
                )
            ],
        ),
        (
            "version: 1\nreaders:\n  - {name: a, endpoints: '*', dead_letters: 'no'}\n",
            ["f.yaml:3: readers[0].dead_letters: Input should be a valid boolean (got 'no')"],
        ),
        (
            "version: 1\nreaders:\n  - {name: a, endpoints: '*'}\n  - {name: a, endpoints: [x]}\n",
            ["f.yaml:4: duplicate reader 'a': first at line 3"],
        ),
        (
            "version: 1\nversion: 1\n",
            ["f.yaml:2: duplicate key 'version': first at line 1"],
        ),
        ("version: [1\n", None),
        ("version: !!python/name:os.system 1\n", None),
    ],
)
def test_bad_files_are_refused_with_their_lines(text: str, expected: list[str] | None) -> None:
    with pytest.raises(AccessFileError) as caught:
        parse_access(text, "f.yaml")
    if expected is not None:
        assert caught.value.lines == expected
    assert all(line.startswith("f.yaml:") for line in caught.value.lines)


def test_every_problem_is_reported_at_once() -> None:
    text = (
        "version: 1\nreaders:\n  - {name: a, endpoints: '*', x: 1}\n  - {name: B, endpoints: []}\n"
    )
    with pytest.raises(AccessFileError) as caught:
        parse_access(text, "f.yaml")
    assert len(caught.value.lines) == 3


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    path.write_bytes(b"version: 1\nreaders:\n  - {name: \xff}\n")
    with pytest.raises(AccessFileError, match=r"access.yaml:3: not UTF-8"):
        load_access(path)
