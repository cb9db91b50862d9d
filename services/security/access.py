r"""The access file: principals the directory does not name, read strictly with their lines.

The file (see deploy/access.example.yaml)::

    version: 1
    readers:                      # read-only readers of delivery topics
      - name: archive             # [a-z0-9][a-z0-9._-]*: user lt-reader-archive
        endpoints: "*"            # every endpoint's delivery topic, or a list of endpoint ids
        dead_letters: true        # optional: may also write the DLQ (a persisting archive)
      - {name: reporting, endpoints: [vpcp]}

Unknown and duplicate keys are errors, reported as `file:line: message` like the directory's.
Endpoint ids are checked against the directory when ACLs are planned (`check_access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from lienthong.directory.errors import DirectoryError, Problem
from lienthong.directory.schema import read_model
from lienthong.security.errors import AccessFileError

if TYPE_CHECKING:
    from lienthong.directory.model import Directory

ALL_ENDPOINTS = "*"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _endpoints(value: object) -> tuple[str, ...] | None:
    """Read `endpoints`: "*" (None: every endpoint) or a non-empty list of endpoint ids."""
    if value == ALL_ENDPOINTS:
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise ValueError(f"give {ALL_ENDPOINTS!r} (every endpoint) or a list of endpoint ids")


class ReaderSpec(_Spec):
    """A `readers` entry."""

    # Part of a user name, a consumer group and a Kubernetes name, like an endpoint id.
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=200)]
    endpoints: Annotated[tuple[str, ...] | None, PlainValidator(_endpoints)]
    dead_letters: bool = False
    description: str = ""


class AccessSpec(_Spec):
    """A whole access file."""

    version: Literal[1]
    readers: list[ReaderSpec] = []


@dataclass(frozen=True, slots=True)
class Reader:
    """A read-only reader of delivery topics, e.g. an archive or the reporting centre."""

    name: str
    endpoints: tuple[str, ...] | None  # None: every endpoint of the directory
    dead_letters: bool = False
    where: str = "<access>"  # `file:line` of its entry, for messages
    description: str = ""

    def reads(self, directory: Directory) -> tuple[str, ...]:
        """Return the sorted ids of the endpoints whose delivery topics it reads."""
        if self.endpoints is None:
            return tuple(sorted(directory.endpoints))
        return tuple(sorted(set(self.endpoints)))


@dataclass(frozen=True, slots=True)
class Access:
    """Everything the access file declares."""

    readers: tuple[Reader, ...] = ()
    source: str = "<no access file>"


NO_ACCESS = Access()


def load_access(path: Path | str) -> Access:
    """Load and check an access file; raise AccessFileError listing every problem."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise AccessFileError(f"{path}:{line}: not UTF-8 (byte {exc.start})") from None
    return parse_access(text, str(path))


def parse_access(text: str, source: str = "<access>") -> Access:
    """Parse and check an access file's YAML text; raise AccessFileError on any problem."""
    try:
        spec, where = read_model(text, source, AccessSpec)
    except DirectoryError as exc:
        raise AccessFileError(str(p) for p in exc.problems) from None
    problems: list[Problem] = []
    first: dict[str, int] = {}
    readers = []
    for index, entry in enumerate(spec.readers):
        line = where.line("readers", index)
        if entry.name in first:
            message = f"duplicate reader {entry.name!r}: first at line {first[entry.name]}"
            problems.append(Problem(source, line, message))
        first.setdefault(entry.name, line)
        where_ = f"{source}:{line}"
        readers.append(
            Reader(entry.name, entry.endpoints, entry.dead_letters, where_, entry.description)
        )
    if problems:
        raise AccessFileError(str(p) for p in problems)
    return Access(tuple(readers), source)


def check_access(access: Access, directory: Directory) -> list[str]:
    """Return a `file:line: message` for every endpoint a reader names that does not exist."""
    problems = []
    for reader in access.readers:
        for endpoint_id in reader.endpoints or ():
            if endpoint_id not in directory.endpoints:
                known = ", ".join(sorted(directory.endpoints))
                problems.append(
                    f"{reader.where}: reader {reader.name!r} names unknown endpoint"
                    f" {endpoint_id!r} (the directory has {known})"
                )
    return problems
