r"""Load the agency directory from its YAML file, reporting every problem with its line.

The file (see deploy/directory.example.yaml)::

    version: 1                    # the format's version; only 1 exists
    endpoints:                    # connected systems; each owns one topic and one credential
      - id: vpcp                  # [a-z0-9][a-z0-9._-]*, part of the delivery topic's name
        name: Văn phòng Chính phủ — hệ thống QLVB
        topic: null               # optional; default lienthong.deliver.<id>
        credential_sha256: 3f...  # optional; SHA-256 (64 lowercase hex) of the endpoint's
                                  # API key, never the key itself
    agencies:                     # every agency, by its electronic identifier code
      - {code: 000.00.00.G22, name: Văn phòng Chính phủ, endpoint: vpcp}
      - {code: 000.00.04.H41, name: Sở Y tế, parent: 000.00.00.H41, endpoint: tinh-nghe-an}
    groups:                       # named sets of agencies a sender may address as one
      - name: all-provinces       # [a-z][a-z0-9-]*, so it never looks like an agency code
        description: Every province and centrally-run city
        pattern: '^000\.00\.00\.H[0-9]{2}$'   # a regex searched in every agency code
        senders: [government-and-ministries]  # who may address it; absent or [] = anyone
      - {name: ministries-and-provinces, members: [all-ministries, all-provinces]}
      - {name: nghe-an-and-units, under: [000.00.00.H41]}   # the agency and its descendants

A group is the union of its `members` (agency codes and other groups), its `under` subtrees
(by `parent`) and its `pattern` matches; it must name at least one agency. Unknown keys are
errors, and so are duplicate keys, which plain YAML would silently drop.

The sending policy: any agency in the directory may address any agency, and any group without
`senders`. A group's `senders` (agency codes and groups, expanded like `members`) are the only
agencies that may address it; see `Directory.may_address` and `lienthong.directory.policy`.

Problems are reported in two rounds: first the file's syntax and shape (types, unknown or
missing keys), all of them at once; then, on a well-shaped file, its meaning: agency codes
against the configured pattern, duplicate codes, ids and names, unknown endpoints, parents,
members, `under` codes and senders, parent and group cycles, invalid patterns, empty groups and
endpoints sharing a topic. An endpoint serving no agency is a warning, kept on
`Directory.warnings`. Meaning is not checked on a badly shaped file: half-read entries would
bury the real problem under follow-on ones.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from lienthong.contract.agency import AgencyCodePattern
from lienthong.directory.checks import check_expansions, check_spec
from lienthong.directory.errors import DirectoryError, Problem
from lienthong.directory.model import Agency, Directory, Endpoint, Group
from lienthong.directory.schema import read_spec

if TYPE_CHECKING:
    from collections.abc import Iterator

_DEFAULT_AGENCY_CODES = AgencyCodePattern()


def load_directory(
    path: Path | str, *, agency_codes: AgencyCodePattern = _DEFAULT_AGENCY_CODES
) -> Directory:
    """Load and check a directory file; raise DirectoryError listing every problem."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problem = Problem(str(path), line, f"not UTF-8 (byte {exc.start}): save the file as UTF-8")
        raise DirectoryError([problem]) from None
    return parse_directory(text, str(path), agency_codes=agency_codes)


def parse_directory(
    text: str,
    source: str = "<directory>",
    *,
    agency_codes: AgencyCodePattern = _DEFAULT_AGENCY_CODES,
) -> Directory:
    """Parse and check a directory's YAML text; raise DirectoryError listing every problem."""
    with _collector_paused():
        # The YAML node tree (millions of objects) is freed when _parse returns, before the
        # collector resumes, so that its first run does not walk it.
        directory, errors = _parse(text, source, agency_codes)
    if errors:
        raise DirectoryError(errors)
    return directory


def _parse(
    text: str, source: str, agency_codes: AgencyCodePattern
) -> tuple[Directory, list[Problem]]:
    """Return the directory and the errors found in it."""
    spec, where = read_spec(text, source)
    found = check_spec(spec, where, source, agency_codes)
    directory = Directory.build(
        agencies=(Agency(a.code, a.name, a.parent, a.endpoint) for a in spec.agencies),
        endpoints=(Endpoint(e.id, e.name, e.topic, e.credential_sha256) for e in spec.endpoints),
        groups=(
            Group(
                g.name, g.description, tuple(g.members), tuple(g.under), g.pattern, tuple(g.senders)
            )
            for g in spec.groups
        ),
        warnings=found.warnings,
    )
    check_expansions(directory, spec, where, found)
    return directory, found.errors


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, and resume it only if it was running."""
    # Loading allocates millions of objects that all stay alive; each automatic collection
    # re-walks every one of them, which made loading 100k agencies three times slower.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
