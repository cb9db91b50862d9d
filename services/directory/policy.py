"""The sending policy: whom a sender may address. Pure.

The default follows the national axis: every connected agency may send to every other, so any
agency in the directory may address any agency, and any group without `senders`. Broadcast
groups are what needs restricting: a group with `senders` may be addressed only by the agencies
they name (agency codes, and groups expanded like `members`), precomputed when the directory
is built. Recipients the directory does not know are not policy violations: resolution reports
them (`Resolution.unknown`), and they are left to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from lienthong.directory.model import Directory

_SHOWN_SENDERS = 3  # a message names this many allowed senders, then counts the rest


def violations(directory: Directory, sender: str, recipients: Sequence[str]) -> tuple[str, ...]:
    """Return one message per recipient the sender may not address, in input order, each once.

    An unknown sender gets one message and no more. Each recipient costs a few lookups, so a
    call is linear in the number of recipients, whatever the size of the directory or groups.
    """
    if not directory.is_agency(sender):
        return (f"sender {sender} is not in the directory",)
    return tuple(
        f"{sender} may not address {recipient}"
        f" (allowed senders: {_named(directory.group(recipient).senders)})"
        for recipient in dict.fromkeys(recipients)
        if directory.is_group(recipient) and not directory.may_address(sender, recipient)
    )


def _named(senders: Sequence[str]) -> str:
    """Return the allowed senders as written in the directory, a long list cut short."""
    shown = ", ".join(senders[:_SHOWN_SENDERS])
    rest = len(senders) - _SHOWN_SENDERS
    return f"{shown} and {rest} more" if rest > 0 else shown
