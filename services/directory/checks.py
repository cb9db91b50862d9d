"""Check what a directory file's types cannot: references, duplicates, cycles, collisions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from lienthong.contract.agency import AgencyCodePattern
from lienthong.contract.errors import InvalidAgencyCode
from lienthong.directory.errors import Problem
from lienthong.directory.model import DELIVER_TOPIC_PREFIX

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from lienthong.directory.model import Directory
    from lienthong.directory.schema import DirectorySpec, EndpointSpec, Locator


@dataclass
class Findings:
    """Errors and warnings found so far, and the groups whose expansion is not to be trusted."""

    source: str
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    broken_groups: set[str] = field(default_factory=set)

    def error(self, line: int, message: str) -> None:
        """Record a problem that rejects the file."""
        self.errors.append(Problem(self.source, line, message))

    def warn(self, line: int, message: str) -> None:
        """Record a problem worth telling about that does not reject the file."""
        self.warnings.append(Problem(self.source, line, message))


_ON_PATH, _DONE = 1, 2  # states of a depth-first walk


@dataclass(frozen=True)
class _FirstIndex:
    """Where each endpoint id, agency code and group name is first defined in its list."""

    endpoints: dict[str, int]
    agencies: dict[str, int]
    groups: dict[str, int]


def check_spec(
    spec: DirectorySpec, where: Locator, source: str, agency_codes: AgencyCodePattern
) -> Findings:
    """Check references, duplicates and cycles across the whole file."""
    found = Findings(source)
    first = _FirstIndex(
        endpoints=_first_index([e.id for e in spec.endpoints], "endpoints", where, found),
        agencies=_first_index([a.code for a in spec.agencies], "agencies", where, found),
        groups=_first_index([g.name for g in spec.groups], "groups", where, found),
    )
    _check_endpoints(spec, where, found, first)
    _check_agencies(spec, where, found, first, agency_codes)
    _check_parent_cycles(spec, where, found, first)
    _check_groups(spec, where, found, first, agency_codes)
    _check_group_cycles(spec, where, found, first)
    return found


def check_expansions(
    directory: Directory, spec: DirectorySpec, where: Locator, found: Findings
) -> None:
    """Reject groups that expand to no agency, unless an earlier problem explains why."""
    for index, group in enumerate(spec.groups):
        if group.name not in found.broken_groups and not directory.group_members(group.name):
            found.error(where.line("groups", index), f"group {group.name!r} expands to no agencies")


_KINDS = {"endpoints": "endpoint id", "agencies": "agency code", "groups": "group name"}


def _first_index(names: list[str], section: str, where: Locator, found: Findings) -> dict[str, int]:
    """Map each name to its first index; report later duplicates naming the first line."""
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:
            line = where.line(section, first[name])
            found.error(
                where.line(section, index),
                f"duplicate {_KINDS[section]} {name!r}: first defined at line {line}",
            )
        else:
            first[name] = index
    return first


def _topic(endpoint: EndpointSpec) -> str:
    return endpoint.topic or DELIVER_TOPIC_PREFIX + endpoint.id


def _check_endpoints(
    spec: DirectorySpec, where: Locator, found: Findings, first: _FirstIndex
) -> None:
    served = {agency.endpoint for agency in spec.agencies}
    # Kafka refuses a topic whose name differs from an existing one only by '.' versus '_'
    # (they collide in its metric names), so compare names with the two made equal.
    topics: dict[str, int] = {}
    credentials: dict[str, int] = {}
    for endpoint_id, index in first.endpoints.items():
        line = where.line("endpoints", index)
        if endpoint_id not in served:
            found.warn(line, f"endpoint {endpoint_id!r} serves no agencies")
        credential = spec.endpoints[index].credential_sha256
        if credential is not None:
            # One key would authenticate as whichever endpoint was read last: never allowed.
            holder = credentials.setdefault(credential, index)
            if holder != index:
                found.error(
                    line,
                    f"endpoints {spec.endpoints[holder].id!r} (line"
                    f" {where.line('endpoints', holder)}) and {endpoint_id!r} have the same"
                    " credential_sha256: give each endpoint a key of its own",
                )
        topic = _topic(spec.endpoints[index])
        other = topics.setdefault(topic.replace(".", "_"), index)
        if other != index:
            other_topic = _topic(spec.endpoints[other])
            if other_topic == topic:
                clash = f"the same topic {topic!r}"
            else:
                clash = f"topics Kafka cannot tell apart ({other_topic!r}, {topic!r})"
            found.error(
                line,
                f"endpoints {spec.endpoints[other].id!r} (line {where.line('endpoints', other)})"
                f" and {endpoint_id!r} deliver to {clash}",
            )


def _check_agencies(
    spec: DirectorySpec,
    where: Locator,
    found: Findings,
    first: _FirstIndex,
    agency_codes: AgencyCodePattern,
) -> None:
    for index, agency in enumerate(spec.agencies):
        try:
            agency_codes.check(agency.code)
        except InvalidAgencyCode as exc:
            found.error(where.line("agencies", index, "code"), str(exc))
        if agency.endpoint not in first.endpoints:
            message = f"agency {agency.code!r}: unknown endpoint {agency.endpoint!r}"
            found.error(where.line("agencies", index, "endpoint"), message)
        if agency.parent is not None and agency.parent not in first.agencies:
            message = f"agency {agency.code!r}: unknown parent {agency.parent!r}"
            found.error(where.line("agencies", index, "parent"), message)


def _check_parent_cycles(
    spec: DirectorySpec, where: Locator, found: Findings, first: _FirstIndex
) -> None:
    parent_of = {code: spec.agencies[index].parent for code, index in first.agencies.items()}
    state: dict[str, int] = {}
    # Walk up from every agency once; a walk stops at a root, an unknown parent, a finished
    # agency or its own path (a cycle). Linear in the number of agencies.
    for start in parent_of:
        path: list[str] = []
        code: str | None = start
        while code is not None and code in parent_of and code not in state:
            state[code] = _ON_PATH
            path.append(code)
            code = parent_of[code]
        if code is not None and state.get(code) == _ON_PATH:
            cycle = path[path.index(code) :]
            # Start the cycle at the agency written first, so the message is stable.
            head = min(range(len(cycle)), key=lambda i: first.agencies[cycle[i]])
            cycle = cycle[head:] + cycle[:head]
            arrows = " -> ".join([*cycle, cycle[0]])
            line = where.line("agencies", first.agencies[cycle[0]])
            found.error(line, f"parent cycle: {arrows}")
        for code_on_path in path:
            state[code_on_path] = _DONE


def _check_groups(
    spec: DirectorySpec,
    where: Locator,
    found: Findings,
    first: _FirstIndex,
    agency_codes: AgencyCodePattern,
) -> None:
    for index, group in enumerate(spec.groups):
        name = group.name
        errors_before = len(found.errors)

        at = partial(where.line, "groups", index)  # the line of a place in this group
        if agency_codes.matches(name):
            found.error(at("name"), f"group name {name!r} looks like an agency code")
        if not (group.members or group.under or group.pattern is not None):
            found.error(at(), f"group {name!r} has no members, under or pattern")
        for position, member in enumerate(group.members):
            if member not in first.agencies and member not in first.groups:
                found.error(
                    at("members", position),
                    f"group {name!r}: unknown member {member!r}"
                    " (neither an agency code nor a group)",
                )
        for position, code in enumerate(group.under):
            if code not in first.agencies:
                found.error(
                    at("under", position), f"group {name!r}: unknown agency {code!r} in under"
                )
        if group.pattern is not None:
            try:
                re.compile(group.pattern)
            except re.error as exc:
                found.error(at("pattern"), f"group {name!r}: invalid pattern: {exc}")
        if len(found.errors) > errors_before:
            found.broken_groups.add(name)
        # After the count: who may address a group does not change what it expands to.
        for position, sender in enumerate(group.senders):
            if sender not in first.agencies and sender not in first.groups:
                found.error(
                    at("senders", position),
                    f"group {name!r}: unknown sender {sender!r}"
                    " (neither an agency code nor a group)",
                )


def _check_group_cycles(
    spec: DirectorySpec, where: Locator, found: Findings, first: _FirstIndex
) -> None:
    nested = {
        name: [
            m for m in spec.groups[index].members if m in first.groups and m not in first.agencies
        ]
        for name, index in first.groups.items()
    }
    state: dict[str, int] = {}
    for name in first.groups:
        if name in state:
            continue
        for cycle in _cycles_from(name, nested, state, []):
            arrows = " -> ".join([*cycle, cycle[0]])
            found.error(where.line("groups", first.groups[cycle[0]]), f"group cycle: {arrows}")
            found.broken_groups.update(cycle)


def _cycles_from(
    name: str, nested: Mapping[str, list[str]], state: dict[str, int], path: list[str]
) -> Iterator[list[str]]:
    """Yield every cycle that a depth-first walk from this group closes."""
    # A module-level generator rather than a closure: a recursive closure is a reference
    # cycle, and it would keep the whole YAML node tree alive until the next full collection.
    state[name] = _ON_PATH
    path.append(name)
    for member in nested[name]:
        if state.get(member) == _ON_PATH:
            yield path[path.index(member) :]
        elif member not in state:
            yield from _cycles_from(member, nested, state, path)
    path.pop()
    state[name] = _DONE
