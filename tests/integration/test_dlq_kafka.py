"""`lienthong dlq` on a real broker: a DLQ built by the real router, listed, shown, replayed."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from uuid import uuid4

import click
import pytest
from click.testing import CliRunner, Result
from confluent_kafka.admin import ConfigResource

from lienthong.cli.dlq import dlq_group
from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.outgoing import prepare
from lienthong.contract.schemas import EventType
from lienthong.directory.loader import load_directory
from lienthong.plumbing.kafka_confluent import make_admin
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import DirectorySettings, KafkaSettings
from tests.support.consumer import deliver, running_consumer, with_store
from tests.support.router import (
    CODEC,
    Deployment,
    deploy,
    event_ids,
    publish,
    publish_raw,
    read_committed,
    running_router,
)

UNKNOWN = "000.00.00.H99"  # a well-formed code the example directory does not know


@click.group()
def root() -> None:
    """Stand in for `lienthong`, which registers `dlq`."""


root.add_command(dlq_group)


def cli(dep: Deployment, *args: str) -> Result:
    s = dep.settings
    env = {
        **environment(s.kafka),
        "LIENTHONG_TOPICS_INBOUND": s.topics.inbound,
        "LIENTHONG_TOPICS_DLQ": s.topics.dlq,
        "LIENTHONG_TOPICS_DELIVERY_PREFIX": s.topics.delivery_prefix,
        "LIENTHONG_DIRECTORY_PATH": str(s.directory.path),
        "LIENTHONG_LOG_FORMAT": "json",
    }
    return CliRunner().invoke(root, list(args), env=env)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def knowing_the_unknown_agency(dep: Deployment) -> Deployment:
    """Return the deployment with a directory copy that serves UNKNOWN at tinh-nghe-an."""
    text = dep.settings.directory.path.read_text(encoding="utf-8")
    line = f"  - {{code: {UNKNOWN}, name: Tỉnh thử nghiệm, endpoint: tinh-nghe-an}}\n"
    fixed = dep.settings.directory.path.with_name("directory-fixed.yaml")
    fixed.write_text(text.replace("agencies:\n", "agencies:\n" + line, 1), encoding="utf-8")
    settings = dep.settings.model_copy(update={"directory": DirectorySettings(path=fixed)})
    return Deployment(settings, load_directory(fixed))


def delivered_id(event: tuple[EventType, dict[str, Any]]) -> bytes:
    """Return an event's id as its lt-event-id header holds it."""
    return str(event[1]["event_id"]).encode()


def check_list(dep: Deployment, lost_ids: list[str]) -> tuple[list[int], int]:
    """Check `dlq list` in its forms; return the offsets of the lost and of the bad record."""
    inbound = dep.settings.topics.inbound
    table = ok(cli(dep, "dlq", "list"))
    rows = [line.split() for line in table.splitlines() if line[:2] == "0:"]
    assert Counter(row[3] for row in rows) == {"unknown-recipient": 3, "bad-magic": 1}
    assert {row[5] for row in rows if row[3] == "unknown-recipient"} == set(lost_ids)
    assert all(row[4] == "router" and row[7].startswith(inbound + "[") for row in rows)
    assert "by reason: unknown-recipient 3, bad-magic 1" in table

    listed = json.loads(ok(cli(dep, "dlq", "list", "--reason", "bad-magic", "--json")))
    assert (listed["total"], listed["matching"]) == (4, 1)
    [bad] = listed["records"]
    assert (bad["event_id"], bad["sender"]) == (None, None)
    assert json.loads(ok(cli(dep, "dlq", "list", "--since", "2h", "--json")))["matching"] == 4
    future = json.loads(ok(cli(dep, "dlq", "list", "--since", "2999-01-01", "--json")))
    assert future["matching"] == 0
    lost = [int(row[0].removeprefix("0:")) for row in rows if row[3] == "unknown-recipient"]
    return lost, int(bad["offset"])


def check_show(dep: Deployment, lost_offset: int, bad_offset: int) -> None:
    """Check `dlq show` of an undecodable body, a decodable one and a missing offset."""
    shown = json.loads(ok(cli(dep, "dlq", "show", str(bad_offset), "--json")))
    assert shown["body"]["decoded"] is False
    assert shown["body"]["reason"] == "bad-magic"
    first = json.loads(ok(cli(dep, "dlq", "show", str(lost_offset), "--partition", "0", "--json")))
    assert first["body"]["record"]["recipients"] == [UNKNOWN]
    missing = cli(dep, "dlq", "show", "99")
    assert missing.exit_code == 1
    assert "no record at" in missing.stderr


def check_log_topic(dep: Deployment, replayed: list[int]) -> None:
    """Check the replay log: compacted, one marker per replayed DLQ record."""
    log_topic = f"{dep.settings.topics.dlq}.replayed"
    admin = make_admin(dep.settings.kafka)
    resource = ConfigResource(ConfigResource.Type.TOPIC, log_topic)
    config = admin.describe_configs([resource])[resource].result(10)
    assert config["cleanup.policy"].value == "compact"
    markers = read_committed(dep.kafka, [log_topic], len(replayed), settle_s=0)
    expected = [f"{dep.settings.topics.dlq}[0]@{n}".encode() for n in sorted(replayed)]
    assert sorted(m.key or b"" for m in markers) == expected


@pytest.fixture
def dep(kafka_admin: KafkaSettings) -> Deployment:
    return deploy(kafka_admin)


def test_dead_letters_are_listed_shown_and_replayed_once_after_a_directory_fix(
    dep: Deployment,
) -> None:
    lost = [
        (
            EventType.DOCUMENT,
            examples.document(event_id=uuid4(), number=str(n), recipients=(UNKNOWN,)),
        )
        for n in range(3)
    ]
    good = (EventType.DOCUMENT, examples.document(event_id=uuid4(), recipients=("000.00.00.H41",)))
    inbound, dlq = dep.settings.topics.inbound, dep.settings.topics.dlq
    publish(dep.kafka, inbound, [*lost, good])
    publish_raw(dep.kafka, inbound, [(b"k", b'{"json": true}', [])])
    with running_router(dep):
        assert len(read_committed(dep.kafka, [dlq], 4, settle_s=0)) == 4

    lost_offsets, bad_offset = check_list(dep, [str(r["event_id"]) for _, r in lost])
    check_show(dep, lost_offsets[0], bad_offset)

    dry = ok(cli(dep, "dlq", "replay", "--reason", "unknown-recipient", "--dry-run"))
    assert "3 would replay, 0 already replayed, 0 skipped" in dry
    assert len(read_committed(dep.kafka, [inbound], 5, settle_s=1)) == 5  # nothing published

    replayed = ok(cli(dep, "dlq", "replay", "--reason", "unknown-recipient"))
    assert "3 replayed, 0 already replayed, 0 skipped" in replayed
    fixed = knowing_the_unknown_agency(dep)
    nghe_an = dep.delivery_topics()["tinh-nghe-an"]
    with running_router(fixed):
        copies = read_committed(dep.kafka, [nghe_an], 4, settle_s=3)
    delivered = event_ids(copies)
    assert delivered == Counter({str(r["event_id"]): 1 for _, r in [*lost, good]})
    replay = next(c for c in copies if dict(c.headers)[h.EVENT_ID] == delivered_id(lost[0]))
    assert dict(replay.headers)[h.RECIPIENTS] == UNKNOWN.encode()

    again = ok(cli(dep, "dlq", "replay", "--reason", "unknown-recipient"))
    assert "0 replayed, 3 already replayed, 0 skipped" in again
    assert len(read_committed(dep.kafka, [inbound], 8, settle_s=2)) == 8  # 5 + 3, once
    assert len(read_committed(dep.kafka, [dlq], 4, settle_s=1)) == 4  # routed this time
    after = ok(cli(dep, "dlq", "list"))
    assert after.count("(replayed)") == 3

    check_log_topic(dep, lost_offsets)
    # A tombstone for a marker (written by hand) lets that record be replayed again.
    tombstone = f"{dlq}[0]@{lost_offsets[0]}".encode()
    publish_raw(dep.kafka, f"{dlq}.replayed", [(tombstone, None, [])])
    redo = json.loads(
        ok(cli(dep, "dlq", "replay", "--reason", "unknown-recipient", "--dry-run", "--json"))
    )
    assert [r["offset"] for r in redo["replayed"]] == lost_offsets[:1]


def test_a_consumer_dead_letter_goes_back_through_inbound_to_its_endpoint_only(
    kafka_admin: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.sqlite'}"
    dep = with_store(deploy(kafka_admin), url)
    topics = dep.delivery_topics()
    topic, inbound = topics["tinh-nghe-an"], dep.settings.topics.inbound
    # An event for Nghệ An and a ministry, in Nghệ An's topic with a forged recipients header
    # naming the ministry: its consumer stores nothing for an agency it does not serve.
    event = examples.document(event_id=uuid4(), recipients=("000.00.00.H41", "000.00.00.G01"))
    out = prepare(CODEC, EventType.DOCUMENT, event)
    forged = [h.recipients_header(["000.00.00.G01"]), (h.ROUTED_AT, b"1795681816000")]
    deliver(dep, [], raw=[(out.key, out.value, [*out.headers, *forged])])
    with running_consumer(dep):
        [dead] = read_committed(dep.kafka, [dep.settings.topics.dlq], 1, settle_s=0)
    dead_headers = dict(dead.headers)
    assert (dead_headers[h.DLQ_STAGE], dead_headers[h.DLQ_REASON]) == (
        b"consumer",
        b"foreign-recipient",
    )

    replayed = json.loads(ok(cli(dep, "dlq", "replay", str(dead.offset), "--json")))
    # Back to inbound, never into a delivery topic: only the router writes those.
    assert [r["target"] for r in replayed["replayed"]] == [inbound]
    [back] = read_committed(dep.kafka, [inbound], 1, settle_s=1)
    assert (back.key, back.value) == (out.key, out.value)
    back_headers = dict(back.headers)
    assert back_headers[h.REDELIVER_TO] == b"tinh-nghe-an"
    assert h.RECIPIENTS not in back_headers
    assert h.ROUTED_AT not in back_headers
    assert len(read_committed(dep.kafka, [topic], 1, settle_s=1)) == 1  # the forged one alone

    with running_router(dep):
        records = read_committed(dep.kafka, [topic], 2, settle_s=1)
    original, copy = sorted(records, key=lambda r: r.offset)
    assert copy.value == original.value
    assert dict(copy.headers)[h.RECIPIENTS] == b"000.00.00.H41"  # the router's, not the forger's
    # Nghệ An's copy alone: the ministry's endpoint, which the event addresses too, gets none.
    others = [t for endpoint, t in topics.items() if endpoint != "tinh-nghe-an"]
    assert read_committed(dep.kafka, others, 0, settle_s=1) == []

    again = json.loads(ok(cli(dep, "dlq", "replay", str(dead.offset), "--json")))
    assert again["replayed"] == []
    assert again["skipped"][0]["why"].startswith("already replayed")
