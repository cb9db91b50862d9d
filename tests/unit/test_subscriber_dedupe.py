"""A delivery topic may hold an event twice: the Subscriber hands it out once, commits past both."""

from __future__ import annotations

from uuid import uuid4

import pytest

from lienthong.contract import examples
from lienthong.contract.schemas import EventType
from lienthong.subscriber.dedupe import RecentEvents
from tests.support.subscriber_fakes import TOPIC, FakeConsumer, delivered, fake_subscriber


def test_recent_events_remember_a_bounded_window_by_sender_and_event_id() -> None:
    recent = RecentEvents(capacity=2)
    assert not recent.repeated("000.00.00.H41", "a")
    assert recent.repeated("000.00.00.H41", "a")
    assert not recent.repeated("000.00.00.G22", "a")  # another sender's id is another event
    assert not recent.repeated("000.00.00.H41", "b")  # a third: the oldest, (H41, a), goes
    assert recent.repeated("000.00.00.G22", "a")
    assert not recent.repeated("000.00.00.H41", "a")
    assert len(recent) == 2
    assert not RecentEvents(0).repeated("x", "a")  # 0 turns it off
    with pytest.raises(ValueError, match="0 or more"):
        RecentEvents(-1)


def test_a_receipt_delivered_twice_is_handed_out_once_and_both_offsets_committed() -> None:
    receipt = examples.status(event_id=uuid4())
    first = delivered(EventType.STATUS, receipt, 10, recipients="000.00.00.G22")
    other = delivered(EventType.STATUS, examples.status(event_id=uuid4()), 11)
    again = delivered(EventType.STATUS, receipt, 12, recipients="000.00.00.G22")
    consumer = FakeConsumer([[first, other, again]])
    sub = fake_subscriber(consumer)
    events = list(sub)
    assert [e.coordinates for e in events] == [f"{TOPIC}[0]@10", f"{TOPIC}[0]@11"]
    assert sub.duplicates_dropped == 1
    assert consumer.committed() == {(TOPIC, 0): 13}


def test_a_zero_window_hands_out_every_copy() -> None:
    receipt = examples.status(event_id=uuid4())
    copies = [delivered(EventType.STATUS, receipt, n) for n in (0, 1)]
    sub = fake_subscriber(FakeConsumer([copies]), dedupe_window=0)
    assert len(list(sub)) == 2
