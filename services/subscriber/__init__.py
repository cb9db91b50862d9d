"""Downstream subscriptions: typed events from delivery topics, committed only once finished."""

from lienthong.subscriber.dispatch import HANDLER_FAILED, RetryPolicy
from lienthong.subscriber.events import Event, ReaderStore, SubscriberError, UnreadableEvent
from lienthong.subscriber.offsets import CommitPolicy
from lienthong.subscriber.subscriber import Subscriber

__all__ = [
    "HANDLER_FAILED",
    "CommitPolicy",
    "Event",
    "ReaderStore",
    "RetryPolicy",
    "Subscriber",
    "SubscriberError",
    "UnreadableEvent",
]
