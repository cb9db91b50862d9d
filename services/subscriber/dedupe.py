"""Drop an event a delivery topic holds twice: the same (sender, event id) seen lately.

A delivery topic can hold one event twice (docs/contract.md, "Duplicates"): an agency's backend
retried a publish whose answer it never got, or a consumer's outbox relay re-sent a receipt
after a crash between publishing it and noting it sent. Both copies carry the same sender and
event id, which is the event's identity in the contract, so a reader drops the second. The
window is bounded by count: the copies of one event are close together on their partition (a
retry follows its first attempt within seconds), and a reader that must never see one twice,
even across its own restarts, keeps the identities it handled in its own store.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_WINDOW = 100_000  # about 15 MB of identities


class RecentEvents:
    """The last `capacity` event identities seen, oldest forgotten first."""

    def __init__(self, capacity: int = DEFAULT_WINDOW) -> None:
        if capacity < 0:
            raise ValueError(f"a dedupe window holds 0 or more events, not {capacity}")
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def repeated(self, sender: str, event_id: str) -> bool:
        """Tell whether (sender, event id) was seen within the window; remember it either way."""
        if self._capacity == 0 or not event_id:
            return False
        key = (sender, event_id)
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._seen)
