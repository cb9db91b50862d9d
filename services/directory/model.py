"""Agencies, endpoints and groups, and the directory that indexes them for routing."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from lienthong.directory.errors import Problem

DELIVER_TOPIC_PREFIX = "lienthong.deliver."


@dataclass(frozen=True, slots=True)
class Agency:
    """An agency, known by its electronic identifier code, served by one endpoint."""

    code: str
    name: str
    parent: str | None
    endpoint: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A connected system: one delivery topic and one credential for many agencies."""

    id: str
    name: str
    topic: str | None = None
    # A hash, not the key; still kept out of repr so it does not end up in logs.
    credential_sha256: str | None = field(default=None, repr=False)

    def delivery_topic(self, prefix: str = DELIVER_TOPIC_PREFIX) -> str:
        """Return the topic this endpoint reads: its override, else the prefix and its id."""
        return self.topic if self.topic is not None else prefix + self.id


@dataclass(frozen=True, slots=True)
class Group:
    """A named set of agencies that a sender may address as one recipient."""

    name: str
    description: str = ""
    members: tuple[str, ...] = ()  # agency codes or other group names
    under: tuple[str, ...] = ()  # agency codes: each agency and all its descendants
    pattern: str | None = None  # a regular expression searched in every agency code
    senders: tuple[str, ...] = ()  # agency codes or group names allowed to address it; () = any


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Directory:
    """Every agency, endpoint and group, with the indexes routing reads on each event."""

    agencies: Mapping[str, Agency]
    endpoints: Mapping[str, Endpoint]
    groups: Mapping[str, Group]
    warnings: tuple[Problem, ...]
    children: Mapping[str, tuple[str, ...]]  # parent code -> sorted child codes
    by_endpoint: Mapping[str, tuple[str, ...]]  # endpoint id -> sorted agency codes
    expansions: Mapping[str, frozenset[str]]  # group name -> every agency code in it
    # group name -> endpoint id -> sorted codes, so a broadcast is split by endpoint once, at
    # load, instead of once per event.
    group_targets_index: Mapping[str, Mapping[str, tuple[str, ...]]]
    # group name -> every agency code allowed to address it, for the groups with `senders`
    # only: a group absent here may be addressed by any agency in the directory.
    allowed_senders: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        agencies: Iterable[Agency],
        endpoints: Iterable[Endpoint],
        groups: Iterable[Group] = (),
        warnings: Iterable[Problem] = (),
    ) -> Directory:
        """Index checked agencies, endpoints and groups; later duplicates replace earlier."""
        agency_map = {agency.code: agency for agency in agencies}
        endpoint_map = {endpoint.id: endpoint for endpoint in endpoints}
        group_map = {group.name: group for group in groups}
        children = _sorted_index((a.parent, a.code) for a in agency_map.values() if a.parent)
        expansions = _expand_groups(group_map, agency_map, children)
        return cls(
            agencies=agency_map,
            endpoints=endpoint_map,
            groups=group_map,
            warnings=tuple(warnings),
            children=children,
            by_endpoint=_sorted_index((a.endpoint, a.code) for a in agency_map.values()),
            expansions=expansions,
            group_targets_index={
                name: _sorted_index((agency_map[code].endpoint, code) for code in codes)
                for name, codes in expansions.items()
            },
            allowed_senders=_expand_senders(group_map, agency_map, expansions),
        )

    def is_agency(self, code: str) -> bool:
        """Return whether the directory knows this agency code."""
        return code in self.agencies

    def is_group(self, name: str) -> bool:
        """Return whether the directory knows this group name."""
        return name in self.groups

    def agency(self, code: str) -> Agency:
        """Return the agency with this code; raise KeyError if unknown."""
        return self.agencies[code]

    def endpoint(self, endpoint_id: str) -> Endpoint:
        """Return the endpoint with this id; raise KeyError if unknown."""
        return self.endpoints[endpoint_id]

    def endpoint_of(self, code: str) -> Endpoint:
        """Return the endpoint serving this agency; raise KeyError if the agency is unknown."""
        return self.endpoints[self.agencies[code].endpoint]

    def agencies_at(self, endpoint_id: str) -> tuple[str, ...]:
        """Return the sorted codes of the agencies an endpoint serves."""
        return self.by_endpoint.get(endpoint_id, ())

    def children_of(self, code: str) -> tuple[str, ...]:
        """Return the sorted codes of the agencies whose parent is this one."""
        return self.children.get(code, ())

    def group(self, name: str) -> Group:
        """Return the group with this name; raise KeyError if unknown."""
        return self.groups[name]

    def group_members(self, name: str) -> frozenset[str]:
        """Return every agency code in a group, nested groups expanded; KeyError if unknown."""
        return self.expansions[name]

    def group_targets(self, name: str) -> Mapping[str, tuple[str, ...]]:
        """Return a group's agencies split by endpoint id; raise KeyError if unknown."""
        return self.group_targets_index[name]

    def may_address(self, sender: str, recipient: str) -> bool:
        """Return whether the sending policy lets this agency address this agency or group."""
        # The default: any agency in the directory may address any agency, and any group
        # without `senders`. An unknown sender may address nothing, nor anyone an unknown name.
        if sender not in self.agencies:
            return False
        if recipient in self.agencies:
            return True
        allowed = self.allowed_senders.get(recipient)
        return recipient in self.groups and (allowed is None or sender in allowed)

    def __repr__(self) -> str:
        # The default repr would print 100k agencies into a log line.
        return (
            f"Directory(agencies={len(self.agencies)}, endpoints={len(self.endpoints)},"
            f" groups={len(self.groups)}, warnings={len(self.warnings)})"
        )


def _sorted_index(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """Group (key, value) pairs into key -> sorted values, keys in sorted order."""
    index: defaultdict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        index[key].append(value)
    return {key: tuple(sorted(index[key])) for key in sorted(index)}


def _expand_groups(
    groups: Mapping[str, Group],
    agencies: Collection[str],
    children: Mapping[str, tuple[str, ...]],
) -> dict[str, frozenset[str]]:
    """Expand every group to its agency codes, each nested group once."""
    expansion = _Expansion(groups, agencies, children)
    return {name: expansion.of(name) for name in groups}


def _expand_senders(
    groups: Mapping[str, Group],
    agencies: Collection[str],
    expansions: Mapping[str, frozenset[str]],
) -> dict[str, frozenset[str]]:
    """Expand each group's `senders` to agency codes; unknown names allow no one."""
    allowed: dict[str, frozenset[str]] = {}
    for name, group in groups.items():
        parts = [
            frozenset((sender,)) if sender in agencies else expansions[sender]
            for sender in group.senders
            if sender in agencies or sender in expansions
        ]
        if group.senders:  # a lone group of senders shares its expansion, uncopied
            allowed[name] = parts[0] if len(parts) == 1 else frozenset().union(*parts)
    return allowed


class _Expansion:
    """Expand groups to agency codes, remembering each group's expansion."""

    # Total on a file the loader is rejecting (unknown names, cycles, bad patterns), so that
    # the loader can still report the groups that expand to nothing.
    def __init__(
        self,
        groups: Mapping[str, Group],
        agencies: Collection[str],
        children: Mapping[str, tuple[str, ...]],
    ) -> None:
        self._groups = groups
        self._agencies = agencies
        self._children = children
        self._done: dict[str, frozenset[str]] = {}
        self._visiting: set[str] = set()

    def of(self, name: str) -> frozenset[str]:
        """Return every agency code in the group, nested groups expanded."""
        if name in self._done:
            return self._done[name]
        if name in self._visiting:
            return frozenset()  # a cycle; the loader reports it
        self._visiting.add(name)
        group = self._groups[name]
        found: set[str] = set()
        for member in group.members:
            if member in self._agencies:
                found.add(member)
            elif member in self._groups:
                found |= self.of(member)
        for code in group.under:
            if code in self._agencies:
                found |= _subtree(code, self._children)
        if group.pattern is not None:
            found.update(_matching(group.pattern, self._agencies))
        self._visiting.discard(name)
        self._done[name] = frozenset(found)
        return self._done[name]


def _subtree(root: str, children: Mapping[str, tuple[str, ...]]) -> set[str]:
    """Return an agency and all its descendants; a parent cycle cannot loop."""
    found = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def _matching(pattern: str, codes: Iterable[str]) -> list[str]:
    """Return the codes the pattern matches; an invalid pattern matches none."""
    try:
        search = re.compile(pattern).search
    except re.error:
        return []  # the loader reports it
    return [code for code in codes if search(code)]
