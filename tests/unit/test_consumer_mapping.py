"""Mapping delivered records to rows: documents and their business actions, reports, statuses."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest

from lienthong.consumer.mapping import Receipts, Unmappable, map_record
from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.codec import Codec
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType, SchemaStore
from lienthong.plumbing.envelope import Envelope

CODEC = Codec(SchemaStore.from_package())
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
RECEIPTS = Receipts("lienthong.inbound", lambda code: f"Agency {code}")


def delivered(
    event_type: EventType,
    record: dict[str, Any],
    recipients: tuple[str, ...] = ("000.00.00.H41",),
    *,
    routed: bool = True,
) -> Envelope:
    out = prepare(CODEC, event_type, record)
    headers = list(out.headers)
    if routed:
        headers += [h.recipients_header(recipients), (h.ROUTED_AT, b"1795681816000")]
    return Envelope("lienthong.deliver.tinh-nghe-an", 1, 77, out.key, out.value, tuple(headers), 0)


def revoke(document: dict[str, Any], action: str = "REVOKE", **business: Any) -> dict[str, Any]:
    return {
        **document,
        "event_id": uuid4(),
        "business": {
            "action": action,
            "reason": "ban hành nhầm",
            "staff": None,
            "replacements": [],
            **business,
        },
    }


def test_new_document_maps_header_attachments_history_and_event_log() -> None:
    record = examples.document(event_id=uuid4(), attachments=2)
    mapped = map_record(delivered(EventType.DOCUMENT, record), CODEC, NOW)
    assert mapped.event.event_id == str(record["event_id"])
    assert mapped.event.source_offset == 77
    assert mapped.event.recipients == ("000.00.00.H41",)
    assert mapped.event.routed_at == datetime(2026, 11, 26, 8, 30, 16, tzinfo=UTC)
    assert mapped.event.payload == delivered(EventType.DOCUMENT, record).value
    assert mapped.document is not None
    assert mapped.document.subject == record["subject"]
    assert mapped.document.promulgation_date == date(2026, 11, 25)
    assert mapped.document.priority == "URGENT"
    assert mapped.document.addressed == "all-provinces"
    assert [a.position for a in mapped.attachments] == [0, 1]
    assert mapped.history is not None
    assert mapped.history.action == "NEW"
    assert mapped.outbox == ()  # no receipts unless asked
    assert mapped.document_ids == (record["document_id"],)


def test_receipts_one_per_recipient_agency_with_stable_ids() -> None:
    record = examples.document(event_id=uuid4())
    env = delivered(EventType.DOCUMENT, record, ("000.00.00.H41", "000.00.02.H41"))
    first = map_record(env, CODEC, NOW, RECEIPTS)
    again = map_record(env, CODEC, datetime(2026, 11, 27, tzinfo=UTC), RECEIPTS)
    assert [r.kind for r in first.outbox] == ["receipt", "receipt"]
    assert [r.event_id for r in first.outbox] == [r.event_id for r in again.outbox]
    receipt = CODEC.decode(first.outbox[0].value).record
    assert receipt["status_code"] == "01"
    assert receipt["from_organ"]["organ_id"] == "000.00.00.H41"
    assert receipt["from_organ"]["organ_name"] == "Agency 000.00.00.H41"
    assert receipt["response_for"] == {
        "document_id": record["document_id"],
        "organ_id": "000.00.00.G22",
    }
    assert first.outbox[0].topic == "lienthong.inbound"
    assert first.outbox[0].key == record["document_id"].encode()


def test_revoke_changes_state_not_the_header() -> None:
    record = revoke(examples.document(event_id=uuid4()))
    mapped = map_record(delivered(EventType.DOCUMENT, record), CODEC, NOW, RECEIPTS)
    assert mapped.document is None
    assert mapped.history is not None
    assert (mapped.history.action, mapped.history.reason) == ("REVOKE", "ban hành nhầm")
    assert len(mapped.outbox) == 1  # the recipient confirms it received the revocation


def test_update_carries_the_new_header() -> None:
    record = revoke(examples.document(event_id=uuid4()), "UPDATE")
    record["subject"] = "V/v sửa đổi thời hạn báo cáo"
    mapped = map_record(delivered(EventType.DOCUMENT, record), CODEC, NOW)
    assert mapped.document is not None
    assert mapped.document.subject == "V/v sửa đổi thời hạn báo cáo"
    assert mapped.history is not None
    assert mapped.history.action == "UPDATE"


def test_replace_names_the_replaced_documents() -> None:
    old = "000.00.00.G22,2026/11/20,7700/VPCP-KSTT"
    record = revoke(
        examples.document(event_id=uuid4(), number="7817"),
        "REPLACE",
        replacements=[{"document_id": old, "organ_ids": ["000.00.00.H41"]}],
    )
    mapped = map_record(delivered(EventType.DOCUMENT, record), CODEC, NOW)
    assert [(r.new_document_id, r.old_document_id) for r in mapped.replacements] == [
        (record["document_id"], old)
    ]
    assert old in mapped.document_ids


def test_report_maps_one_row_per_indicator_value() -> None:
    mapped = map_record(delivered(EventType.REPORT, examples.report(event_id=uuid4())), CODEC, NOW)
    assert mapped.report is not None
    assert (mapped.report.period_kind, mapped.report.period_number) == ("MONTH", 10)
    assert [(v.code, v.numeric_value, v.text_value) for v in mapped.values] == [
        ("KTXH-01", 8432.5, None),
        ("KTXH-02", 7.85, None),
        ("KTXH-07", 15210.0, None),
        ("KTXH-19", None, "Hoàn thành kế hoạch tháng"),
    ]


def test_status_maps_to_the_answered_document() -> None:
    record = examples.status(event_id=uuid4(), code="05")
    mapped = map_record(
        delivered(EventType.STATUS, record, ("000.00.00.G22",)), CODEC, NOW, RECEIPTS
    )
    assert mapped.status is not None
    assert (mapped.status.document_id, mapped.status.status_code) == (
        "000.00.00.G22,2026/11/25,7816/VPCP-KSTT",
        "05",
    )
    assert mapped.status.staff == "Trần Thị Bình"
    assert mapped.outbox == ()  # statuses are never answered
    assert mapped.document_ids == ("000.00.00.G22,2026/11/25,7816/VPCP-KSTT",)


def test_a_record_naming_an_agency_served_elsewhere_is_refused_and_owes_no_receipt() -> None:
    serves = Receipts("lienthong.inbound", lambda code: code, {"000.00.00.H41"}.__contains__)
    document = examples.document(event_id=uuid4())
    ours = map_record(delivered(EventType.DOCUMENT, document), CODEC, NOW, serves)
    assert [row.event_id for row in ours.outbox]  # the served agency's receipt
    for recipients in [("000.00.00.H41", "000.00.00.G22"), ("000.00.00.G22",), ()]:
        forged = delivered(EventType.DOCUMENT, document, recipients)
        with pytest.raises(Unmappable) as caught:
            map_record(forged, CODEC, NOW, serves)
        assert caught.value.reason == "foreign-recipient"
        assert caught.value.event_id == str(document["event_id"])
    with pytest.raises(Unmappable, match=r"names 000\.00\.00\.G22: not an agency this endpoint"):
        map_record(delivered(EventType.DOCUMENT, document, ("000.00.00.G22",)), CODEC, NOW, serves)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda: delivered(
                EventType.DOCUMENT, examples.document(event_id=uuid4()), routed=False
            ),
            "not-routed",
        ),
        (
            lambda: delivered(
                EventType.DOCUMENT, revoke(examples.document(event_id=uuid4()), reason=None)
            ),
            "invalid-business",
        ),
        (
            lambda: delivered(
                EventType.DOCUMENT, revoke(examples.document(event_id=uuid4()), "REPLACE")
            ),
            "invalid-business",
        ),
        (
            lambda: delivered(EventType.STATUS, examples.status(event_id=uuid4(), code="09")),
            "invalid-status",
        ),
        (lambda: Envelope("t", 0, 0, b"k", b"\xc3\x01garbage!", (), 0), "unknown-fingerprint"),
        (lambda: Envelope("t", 0, 0, b"k", None, (), 0), "empty-value"),
    ],
    ids=["not-routed", "revoke-no-reason", "replace-nothing", "bad-status", "bad-bytes", "empty"],
)
def test_unmappable_records_say_why(make: Any, reason: str) -> None:
    with pytest.raises(Unmappable) as caught:
        map_record(make(), CODEC, NOW)
    assert caught.value.reason == reason


def test_an_unmappable_record_that_decoded_names_its_event_for_the_dead_letter_log() -> None:
    record = examples.document(event_id=uuid4())
    good = delivered(EventType.DOCUMENT, record)
    headers = tuple(
        (k, b"\xff" if k == h.RECIPIENTS else v) for k, v in good.headers
    )  # routed, but the recipients header is not UTF-8
    with pytest.raises(Unmappable) as caught:
        map_record(Envelope(good.topic, 1, 78, good.key, good.value, headers, 0), CODEC, NOW)
    assert caught.value.reason == "bad-headers"
    assert caught.value.event_id == str(record["event_id"])
    assert (caught.value.event_type, caught.value.sender) == ("document", "000.00.00.G22")


def test_undecodable_bytes_leave_the_event_unknown() -> None:
    with pytest.raises(Unmappable) as caught:
        map_record(Envelope("t", 0, 0, b"k", b"\x00junk", (), 0), CODEC, NOW)
    assert (caught.value.event_id, caught.value.event_type) == (None, "unknown")


MINISTRY_OF_FINANCE_DOCUMENT = "000.00.00.G06,2026/11/20,512/BTC-NSNN"


def test_a_replace_naming_another_agencys_document_is_refused_and_stores_nothing() -> None:
    # The attack of issue 14: the Government Office's key, on the raw Kafka path, marking the
    # Ministry of Finance's document replaced in every recipient's store.
    record = revoke(
        examples.document(event_id=uuid4(), number="7818"),
        "REPLACE",
        replacements=[{"document_id": MINISTRY_OF_FINANCE_DOCUMENT, "organ_ids": []}],
    )
    with pytest.raises(Unmappable) as caught:
        map_record(delivered(EventType.DOCUMENT, record), CODEC, NOW)
    assert caught.value.reason == "foreign-document"
    assert f"{MINISTRY_OF_FINANCE_DOCUMENT} is not a document of 000.00.00.G22" in str(caught.value)


def test_an_update_of_another_agencys_document_id_is_refused() -> None:
    record = revoke(examples.document(event_id=uuid4()), "UPDATE")
    record["document_id"] = MINISTRY_OF_FINANCE_DOCUMENT
    with pytest.raises(Unmappable) as caught:
        map_record(delivered(EventType.DOCUMENT, record), CODEC, NOW)
    assert caught.value.reason == "foreign-document"
