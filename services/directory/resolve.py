"""Resolve an event's recipients (agency codes and group names) to endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from lienthong.directory.model import Directory


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where an event goes: recipient agencies by endpoint, and what could not be resolved."""

    # endpoint id -> sorted codes of the recipient agencies it serves; endpoints sorted by id
    targets: Mapping[str, tuple[str, ...]]
    # recipients that are neither an agency nor a group, in input order, each once
    unknown: tuple[str, ...]


def resolve_recipients(
    directory: Directory, recipients: Sequence[str], *, sender: str
) -> Resolution:
    """Expand groups, drop duplicates and the sender (unless named by code), split by endpoint."""
    # Each endpoint collects the already sorted pieces that reach it: a lone agency, or a
    # group's share precomputed at load. The common case, one group, then costs one lookup per
    # endpoint however many agencies the group holds; only overlaps are merged and sorted.
    pieces: dict[str, list[Collection[str]]] = {}
    named_sender = False
    unknown: list[str] = []
    for recipient in dict.fromkeys(recipients):
        agency = directory.agencies.get(recipient)
        if agency is not None:
            named_sender = named_sender or recipient == sender
            pieces.setdefault(agency.endpoint, []).append((recipient,))
        elif directory.is_group(recipient):
            for endpoint_id, codes in directory.group_targets(recipient).items():
                pieces.setdefault(endpoint_id, []).append(codes)
        else:
            unknown.append(recipient)
    sender_agency = None if named_sender else directory.agencies.get(sender)
    drop_from = sender_agency.endpoint if sender_agency is not None else None
    targets: dict[str, tuple[str, ...]] = {}
    for endpoint_id in sorted(pieces):
        parts = pieces[endpoint_id]
        if len(parts) == 1 and endpoint_id != drop_from:
            codes = tuple(parts[0])  # already sorted; a tuple is returned as it is
        else:
            merged = set().union(*parts)
            if endpoint_id == drop_from:
                merged.discard(sender)
            codes = tuple(sorted(merged))
        if codes:
            targets[endpoint_id] = codes
    return Resolution(MappingProxyType(targets), tuple(unknown))
