"""Routing decisions for every kind of good and bad inbound record, without a broker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.codec import Codec
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.directory.loader import parse_directory
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_confluent import MESSAGE_MAX_BYTES
from lienthong.router.decide import Rejected, Routed, Router
from lienthong.router.records import dead_letter, delivery, oversized, rejection_status
from tests.support.api import EXAMPLE_DIRECTORY, example_directory

CODEC = Codec(SchemaStore.from_package())
DIRECTORY = example_directory()
ROUTER = Router(CODEC, "lienthong.deliver.")
AXIS = {"organ_id": "000.00.00.G22", "organ_name": "Trục liên thông văn bản quốc gia"}
MAKERS: dict[EventType, Callable[..., dict[str, Any]]] = {
    EventType.DOCUMENT: examples.document,
    EventType.REPORT: examples.report,
    EventType.STATUS: examples.status,
}


def envelope(
    event_type: EventType = EventType.DOCUMENT,
    *,
    record: dict[str, Any] | None = None,
    value: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    key: bytes | None = None,
    **changes: Any,
) -> Envelope:
    record = record or {**MAKERS[event_type](event_id=uuid4()), **changes}
    out = prepare(CODEC, event_type, record)
    return Envelope(
        topic="lienthong.inbound",
        partition=2,
        offset=41,
        key=out.key if key is None else key,
        value=out.value if value is None else value,
        headers=tuple(out.headers if headers is None else headers),
        timestamp_ms=0,
    )


def test_broadcast_to_all_provinces_reaches_each_province_endpoint_once() -> None:
    decision = ROUTER.decide(envelope(recipients=["all-provinces"]), DIRECTORY)
    assert isinstance(decision, Routed)
    by_endpoint = {d.endpoint_id: d for d in decision.deliveries}
    assert set(by_endpoint) == {"tinh-nghe-an", "tp-ha-noi", "dia-phuong"}
    assert by_endpoint["tinh-nghe-an"].recipients == ("000.00.00.H41",)
    assert by_endpoint["tinh-nghe-an"].topic == "lienthong.deliver.tinh-nghe-an"
    provinces = DIRECTORY.group_members("all-provinces")
    assert sum(len(d.recipients) for d in decision.deliveries) == len(provinces)


def test_endpoint_topic_override_is_used() -> None:
    decision = ROUTER.decide(envelope(recipients=["000.00.00.G06"]), DIRECTORY)
    assert isinstance(decision, Routed)
    assert [d.topic for d in decision.deliveries] == ["lienthong.deliver.btc-qlvb"]


def test_status_goes_back_to_the_documents_sender() -> None:
    decision = ROUTER.decide(envelope(EventType.STATUS), DIRECTORY)
    assert isinstance(decision, Routed)
    [target] = decision.deliveries
    assert (target.endpoint_id, target.recipients) == ("vpcp", ("000.00.00.G22",))


def test_report_is_routed_to_its_recipients() -> None:
    decision = ROUTER.decide(envelope(EventType.REPORT), DIRECTORY)
    assert isinstance(decision, Routed)
    assert [d.endpoint_id for d in decision.deliveries] == ["vpcp"]


def _bad_headers(mutate: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]) -> Envelope:
    good = envelope()
    return envelope(record=None, headers=mutate(list(good.headers)), value=good.value, key=good.key)


def _replace(
    name: str, value: bytes
) -> Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]:
    return lambda hs: [(k, value if k == name else v) for k, v in hs]


BAD: list[tuple[str, Callable[[], Envelope], str]] = [
    ("tombstone", lambda: replace(envelope(), value=None), "empty-value"),
    ("json", lambda: envelope(value=b'{"subject": "x"}'), "bad-magic"),
    (
        "unknown-fp",
        lambda: envelope(value=b"\xc3\x01" + b"\x00" * 8 + b"\x02"),
        "unknown-fingerprint",
    ),
    ("truncated", lambda: envelope(value=envelope().value[:-9]), "corrupt-body"),  # type: ignore[index]
    ("no-headers", lambda: envelope(headers=[]), "bad-headers"),
    ("sender-lies", lambda: _bad_headers(_replace(h.SENDER, b"000.00.00.H41")), "header-mismatch"),
    ("type-lies", lambda: _bad_headers(_replace(h.EVENT_TYPE, b"report")), "header-mismatch"),
    ("key-lies", lambda: envelope(key=b"another"), "header-mismatch"),
    ("unknown-agency", lambda: envelope(recipients=["000.00.00.G99"]), "unknown-recipient"),
    ("unknown-group", lambda: envelope(recipients=["all-planets"]), "unknown-recipient"),
    (
        "unknown-sender",
        lambda: envelope(record={**examples.document(event_id=uuid4(), sender="000.00.00.G98")}),
        "unknown-sender",
    ),
]


@pytest.mark.parametrize(
    ("make", "reason"), [(m, r) for _, m, r in BAD], ids=[i for i, _, _ in BAD]
)
def test_bad_records_are_dead_lettered_with_a_bounded_reason(
    make: Callable[[], Envelope], reason: str
) -> None:
    decision = ROUTER.decide(make(), DIRECTORY)
    assert isinstance(decision, Rejected)
    assert decision.reason == reason
    assert decision.detail


def test_unknown_recipient_names_them_and_notifies_the_sender() -> None:
    env = envelope(recipients=["000.00.00.H41", "nowhere", "000.00.00.G99"])
    decision = ROUTER.decide(env, DIRECTORY)
    assert isinstance(decision, Rejected)
    assert decision.detail == "unknown agencies or groups: nowhere, 000.00.00.G99"
    assert decision.notify is not None
    assert (decision.notify.endpoint_id, decision.notify.recipients) == ("vpcp", ("000.00.00.G22",))


def test_rejected_status_or_report_does_not_answer_back() -> None:
    report = ROUTER.decide(envelope(EventType.REPORT, recipients=["nowhere"]), DIRECTORY)
    assert isinstance(report, Rejected)
    assert report.notify is None


def test_dead_letter_keeps_the_original_bytes_and_says_where_from() -> None:
    env = envelope(recipients=["nowhere"])
    decision = ROUTER.decide(env, DIRECTORY)
    assert isinstance(decision, Rejected)
    record = dead_letter(env, decision, "lienthong.dlq", 1_000)
    assert (record.topic, record.key, record.value) == ("lienthong.dlq", env.key, env.value)
    extra = dict(record.headers[len(env.headers) :])
    assert extra[h.DLQ_REASON] == b"unknown-recipient"
    assert extra[h.SOURCE_TOPIC] == b"lienthong.inbound"
    assert extra[h.SOURCE_PARTITION] == b"2"
    assert extra[h.SOURCE_OFFSET] == b"41"
    assert extra[h.DLQ_STAGE] == b"router"
    assert list(record.headers[: len(env.headers)]) == list(env.headers)


def test_rejection_status_is_a_valid_status_02_with_a_stable_event_id() -> None:
    env = envelope(recipients=["nowhere"])
    decision = ROUTER.decide(env, DIRECTORY)
    assert isinstance(decision, Rejected)
    now = datetime(2026, 11, 26, 9, tzinfo=UTC)
    first = rejection_status(CODEC, decision, AXIS, now)
    again = rejection_status(CODEC, decision, AXIS, now)
    assert first is not None
    assert again is not None
    assert first.topic == "lienthong.deliver.vpcp"
    status = CODEC.decode(first.value).record
    assert status["status_code"] == "02"
    assert status["response_for"]["organ_id"] == "000.00.00.G22"
    assert "nowhere" in status["description"]
    assert status["event_id"] == CODEC.decode(again.value).record["event_id"]
    assert dict(first.headers)[h.RECIPIENTS] == b"000.00.00.G22"
    # The rejected status routes like any status: back to the document's sender.
    status_env = Envelope("t", 0, 0, first.key, first.value, tuple(first.headers), 0)
    routed = ROUTER.decide(status_env, DIRECTORY)
    assert isinstance(routed, Routed)
    assert routed.deliveries[0].endpoint_id == "vpcp"


def test_delivery_copy_keeps_value_key_and_headers_and_adds_routing() -> None:
    env = envelope(recipients=["nghe-an-and-units"])
    decision = ROUTER.decide(env, DIRECTORY)
    assert isinstance(decision, Routed)
    [target] = decision.deliveries
    copy = delivery(env, target, 1_795_000_000_000)
    assert copy.value == env.value
    assert copy.key == env.key
    assert copy.headers[: len(env.headers)] == list(env.headers)
    extra = dict(copy.headers[len(env.headers) :])
    assert h.parse_recipients(extra[h.RECIPIENTS]) == target.recipients
    assert extra[h.ROUTED_AT] == b"1795000000000"
    assert "000.00.10.H41" in target.recipients or len(target.recipients) > 1


def test_policy_violation_is_dead_lettered_and_the_sender_told() -> None:
    province = examples.document(
        event_id=uuid4(), sender="000.00.00.H41", recipients=("all-provinces",)
    )
    province["document_id"] = "000.00.00.H41,2026/11/25,12/UBND-VX"
    decision = ROUTER.decide(envelope(record=province), DIRECTORY)
    assert isinstance(decision, Rejected)
    assert decision.reason == "policy-violation"
    assert "000.00.00.H41 may not address all-provinces" in decision.detail
    assert decision.notify is not None
    assert decision.notify.endpoint_id == "tinh-nghe-an"


def test_a_reloaded_directory_is_used_at_once_despite_the_route_cache() -> None:
    router = Router(CODEC, "lienthong.deliver.")
    record = examples.document(event_id=uuid4(), recipients=("000.00.00.G98",))
    first = router.decide(envelope(record=record), DIRECTORY)
    again = router.decide(envelope(record={**record, "event_id": uuid4()}), DIRECTORY)
    assert isinstance(first, Rejected)
    assert isinstance(again, Rejected)
    text = EXAMPLE_DIRECTORY.read_text(encoding="utf-8").replace(
        "\ngroups:\n", "\n  - {code: 000.00.00.G98, name: Bộ mới, endpoint: bo-nganh}\ngroups:\n", 1
    )
    fixed = parse_directory(text, "fixed.yaml")
    routed = router.decide(envelope(record={**record, "event_id": uuid4()}), fixed)
    assert isinstance(routed, Routed)
    assert [d.endpoint_id for d in routed.deliveries] == ["bo-nganh"]


def test_a_copy_too_large_for_kafka_is_parked_without_its_value() -> None:
    # Under the limit on inbound, over it once the routing headers name many recipients: it
    # would fail its transaction on every retry and hold the partition.
    env = envelope(recipients=["all-provinces"])
    decision = ROUTER.decide(env, DIRECTORY)
    assert isinstance(decision, Routed)
    assert oversized(env, decision) is None
    value = env.value or b""
    padded = replace(env, value=value + b"\x00" * (MESSAGE_MAX_BYTES - len(value) - 100))
    rejected = oversized(padded, decision)
    assert rejected is not None
    assert (rejected.reason, rejected.event_id) == ("too-large", decision.event_id)
    assert "the original stays at lienthong.inbound[2]@41" in rejected.detail
    letter = dead_letter(padded, rejected, "lienthong.dlq", 0)
    assert letter.value == b""
    assert dict(letter.headers)["lt-dlq-reason"] == b"too-large"


def _redelivered(endpoint: str, **changes: Any) -> Envelope:
    plain = envelope(**changes)  # the replayed record: its original headers, no routing
    return replace(plain, headers=(*plain.headers, (h.REDELIVER_TO, endpoint.encode())))


def test_a_replayed_consumer_dead_letter_is_routed_afresh_to_its_endpoint_only() -> None:
    decision = ROUTER.decide(_redelivered("tp-ha-noi", recipients=["all-provinces"]), DIRECTORY)
    assert isinstance(decision, Routed)
    assert [d.endpoint_id for d in decision.deliveries] == ["tp-ha-noi"]


def test_a_redelivery_never_reaches_an_endpoint_the_event_does_not_address() -> None:
    decision = ROUTER.decide(_redelivered("bo-nganh", recipients=["000.00.00.H41"]), DIRECTORY)
    assert isinstance(decision, Rejected)
    assert decision.reason == "redeliver-nowhere"
    assert "names endpoint 'bo-nganh', which the event does not address" in decision.detail


def test_a_redelivery_is_checked_like_any_event() -> None:
    # A province may not broadcast to every province: the header does not exempt it.
    record = examples.document(event_id=uuid4(), sender="000.00.00.H41")
    decision = ROUTER.decide(_redelivered("tp-ha-noi", record=record), DIRECTORY)
    assert isinstance(decision, Rejected)
    assert decision.reason == "policy-violation"


def test_a_replace_of_another_agencys_document_is_dead_lettered_and_the_sender_told() -> None:
    record = examples.document(event_id=uuid4(), number="7818")
    record["business"] = {
        "action": "REPLACE",
        "reason": "thay thế",
        "staff": None,
        "replacements": [{"document_id": "000.00.00.G06,2026/11/20,512/BTC", "organ_ids": []}],
    }
    decision = ROUTER.decide(envelope(record=record), DIRECTORY)
    assert isinstance(decision, Rejected)
    assert decision.reason == "foreign-document"
    assert "000.00.00.G06,2026/11/20,512/BTC is not a document of 000.00.00.G22" in decision.detail
    assert decision.notify is not None  # a 02 goes back to the sender's endpoint
    assert decision.notify.endpoint_id == "vpcp"
