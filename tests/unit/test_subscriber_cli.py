"""`lienthong subscribe`: its lines for people and for jq, and its refusals."""

from __future__ import annotations

import json
from uuid import uuid4

from click.testing import CliRunner

from lienthong.cli.subscribe import json_line, readable_line, subscribe_command
from lienthong.contract import examples
from lienthong.contract.jsonform import to_json
from lienthong.contract.schemas import EventType
from lienthong.subscriber.events import read_event
from tests.support.api import EXAMPLE_DIRECTORY
from tests.support.subscriber_fakes import CODEC, TOPIC, delivered

ENV = {"LIENTHONG_DIRECTORY_PATH": str(EXAMPLE_DIRECTORY), "LIENTHONG_LOG_FORMAT": "console"}


def test_a_document_line_says_when_what_who_to_whom_and_where() -> None:
    event = read_event(CODEC, delivered(EventType.DOCUMENT, examples.document(), 12))
    line = readable_line(event)
    assert line.startswith("2026-11-26 08:30:15.123  document ")
    assert "6f1c1f0e-8c43-4a7e-9a55-1d2b3c4d5e6f" in line
    assert "000.00.00.G22 → 000.00.00.H41" in line
    assert "NEW 7816/VPCP-KSTT: V/v đẩy mạnh cắt giảm" in line
    assert line.endswith(f"…  [{TOPIC}[0]@12]")  # the long subject is cut


def test_report_and_status_lines_name_the_title_and_the_status() -> None:
    report = read_event(CODEC, delivered(EventType.REPORT, examples.report(), 0))
    assert "Báo cáo tình hình kinh tế - xã hội tháng 10/2026 (MONTH 10/2026, revision 0)" in (
        readable_line(report)
    )
    status = read_event(CODEC, delivered(EventType.STATUS, examples.status(code="02"), 1))
    assert "02 rejected: 000.00.00.G22,2026/11/25,7816/VPCP-KSTT" in readable_line(status)


def test_many_recipients_are_counted_not_listed() -> None:
    codes = ",".join(f"000.00.00.H{n:02d}" for n in range(10, 17))
    event = read_event(
        CODEC, delivered(EventType.DOCUMENT, examples.document(), 0, recipients=codes)
    )
    assert "→ 000.00.00.H10,000.00.00.H11,000.00.00.H12,+4 " in readable_line(event)


def test_a_json_line_holds_the_record_its_coordinates_and_headers() -> None:
    record = examples.status(event_id=uuid4())
    event = read_event(CODEC, delivered(EventType.STATUS, record, 5, partition=1))
    line = json.loads(json_line(event))
    assert line["record"] == to_json(record)
    assert (line["topic"], line["partition"], line["offset"]) == (TOPIC, 1, 5)
    assert line["event_type"] == "status"
    assert line["writer_version"] == 1
    assert line["headers"]["lt-event-id"] == str(record["event_id"])
    assert line["headers"]["lt-recipients"] == "000.00.00.H41"
    assert line["key"] == record["response_for"]["document_id"]


def test_an_unknown_endpoint_is_refused_with_the_known_ones() -> None:
    result = CliRunner().invoke(subscribe_command, ["--endpoint", "nowhere"], env=ENV)
    assert result.exit_code == 1
    assert "unknown endpoint 'nowhere'" in result.output
    assert "tinh-nghe-an" in result.output


def test_an_unknown_type_is_a_usage_error() -> None:
    args = ["--endpoint", "vpcp", "--type", "memo"]
    result = CliRunner().invoke(subscribe_command, args, env=ENV)
    assert result.exit_code == 2
    assert "'memo' is not one of" in result.output
