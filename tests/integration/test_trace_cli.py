"""`lienthong trace` over two stores: a document, its statuses, what each endpoint persisted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

from click.testing import CliRunner

from lienthong.cli import main
from lienthong.consumer.mapping import map_record
from lienthong.consumer.rows import PersistBatch
from lienthong.consumer.store.store import Store
from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType
from lienthong.plumbing.envelope import Envelope
from tests.support.router import CODEC

DOC = "000.00.00.G22,2026/11/25,7816/VPCP-KSTT"


def _persist(
    url: str,
    topic: str,
    events: list[tuple[EventType, dict[str, object]]],
    recipients: tuple[str, ...],
) -> None:
    items = []
    for offset, (event_type, record) in enumerate(events):
        out = prepare(CODEC, event_type, record)
        headers = (*out.headers, h.recipients_header(recipients), (h.ROUTED_AT, b"1795681816000"))
        env = Envelope(topic, 0, offset, out.key, out.value, headers, 0)
        items.append(map_record(env, CODEC, datetime(2026, 11, 26, 8, 31, tzinfo=UTC)))
    with Store.open(url) as store:
        store.apply(PersistBatch("test", tuple(items), offsets={(topic, 0): len(items)}))


def test_trace_merges_the_document_and_its_statuses_from_two_stores(tmp_path: Path) -> None:
    nghe_an = f"sqlite:///{tmp_path / 'nghe-an.sqlite'}"
    vpcp = f"sqlite:///{tmp_path / 'vpcp.sqlite'}"
    document = examples.document(event_id=uuid4())
    _persist(
        nghe_an,
        "lienthong.deliver.tinh-nghe-an",
        [(EventType.DOCUMENT, document)],
        ("000.00.00.H41",),
    )
    later = examples.status(event_id=uuid4(), code="03")
    later["occurred_at"] = document["occurred_at"] + timedelta(minutes=5)
    _persist(vpcp, "lienthong.deliver.vpcp", [(EventType.STATUS, later)], ("000.00.00.G22",))

    result = CliRunner().invoke(main, ["trace", DOC, "--db", nghe_an, "--db", vpcp])
    assert result.exit_code == 0, result.output
    assert "subject   V/v đẩy mạnh cắt giảm" in result.stdout
    assert "state     ACTIVE" in result.stdout
    lines = [line for line in result.stdout.splitlines() if line[:4] == "2026"]
    steps = [(line.split()[2], line.split()[3]) for line in lines]
    assert steps[0] == ("occurred", "document")
    assert ("persisted", "document") in steps
    assert ("persisted", "status") in steps
    assert any("status 03 accepted" in line for line in lines)

    as_json = CliRunner().invoke(main, ["trace", DOC, "--db", nghe_an, "--db", vpcp, "--json"])
    data = json.loads(as_json.stdout)
    assert data["document"]["state"] == "ACTIVE"
    assert {row["step"] for row in data["timeline"]} == {"occurred", "routed", "persisted"}


def test_trace_of_an_unknown_document_fails_with_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    Store.open(url).close()
    result = CliRunner().invoke(main, ["trace", "nope", "--db", url])
    assert result.exit_code == 1
    assert "nope is in none of the 1 stores read" in result.stderr


def test_trace_of_a_missing_store_file_says_so_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo.sqlite"
    result = CliRunner().invoke(main, ["trace", DOC, "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert "the file does not exist" in result.stderr
    assert not missing.exists()


def test_trace_shows_a_stored_subject_s_control_and_bidi_characters_as_escapes(
    tmp_path: Path,
) -> None:
    # A record written before the API refused them (or by another path): what is stored is
    # still printed so that it cannot act on the operator's terminal.
    url = f"sqlite:///{tmp_path / 'nghe-an.sqlite'}"
    document = examples.document(event_id=uuid4())
    document["subject"] = "V/v\x1b[2J\x1b[31mREVOKED\u202eexe.txt"
    topic = "lienthong.deliver.tinh-nghe-an"
    _persist(url, topic, [(EventType.DOCUMENT, document)], ("000.00.00.H41",))

    result = CliRunner().invoke(main, ["trace", DOC, "--db", url])
    assert result.exit_code == 0, result.output
    assert "subject   V/v\\x1b[2J\\x1b[31mREVOKED\\u202eexe.txt" in result.stdout
    assert not {"\x1b", "\u202e"} & set(result.stdout)

    as_json = CliRunner().invoke(main, ["trace", DOC, "--db", url, "--json"])
    assert not {"\x1b", "\u202e"} & set(as_json.stdout)
    assert json.loads(as_json.stdout)["document"]["subject"] == document["subject"]
