"""The whole axis as separate processes on a real Kafka and a real PostgreSQL, at scale.

1,000 documents broadcast to a group of 30 agencies served by 3 endpoints; every copy must be
persisted exactly once, every receipt must reach the sender's store exactly once, the DLQ must
hold exactly the unroutable documents, and replaying them after a directory fix must deliver
each exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest

from lienthong.contract import examples
from lienthong.contract import headers as h
from lienthong.contract.jsonform import to_json
from lienthong.demo.stack import Stack
from lienthong.devtools.ports import free_port
from lienthong.directory.loader import load_directory
from lienthong.plumbing.kafka_confluent import make_admin
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import KafkaSettings, TopicSettings
from lienthong.plumbing.topics import apply_topics, plan_topics
from lienthong.producer.client import Publisher
from lienthong.security.principals import (
    API,
    OPERATOR,
    ROUTER,
    SUPER_USERS,
    consumer_user,
    endpoint_user,
)
from tests.support.api import EXAMPLE_DIRECTORY
from tests.support.environ import inherited_env
from tests.support.kafka import unique_name
from tests.support.postgres import LocalPostgres
from tests.support.principals import as_user, provision
from tests.support.router import read_committed

GROUP = "e2e-thirty"
ENDPOINTS = ("bo-nganh", "tinh-nghe-an", "dia-phuong")
CONSUMERS = ("vpcp", *ENDPOINTS)
DOCUMENTS = 1_000
UNROUTABLE = 20
MISSING = "000.00.00.G98"  # not in the directory until the fix


def _group_members() -> list[str]:
    """Return 30 agencies: 11 ministries, Nghe An's 8 agencies, 11 other provinces."""
    directory = load_directory(EXAMPLE_DIRECTORY)
    take = {"bo-nganh": 11, "tinh-nghe-an": 8, "dia-phuong": 11}
    members = [
        c for endpoint in ENDPOINTS for c in directory.agencies_at(endpoint)[: take[endpoint]]
    ]
    assert len(members) == 30
    return members


def _directory(path: Path, prefix: str, *, fixed: bool) -> None:
    """Write the example directory plus the test's group; `fixed` adds the missing agency."""
    text = EXAMPLE_DIRECTORY.read_text(encoding="utf-8")
    text = text.replace("topic: lienthong.deliver.", f"topic: {prefix}.deliver.")
    agencies = (
        f"  - {{code: {MISSING}, name: Bộ Thử nghiệm, endpoint: bo-nganh}}\n" if fixed else ""
    )
    text = text.replace(
        "\ngroups:\n",
        f"\n{agencies}\ngroups:\n  - name: {GROUP}\n    members: [{', '.join(_group_members())}]\n",
        1,
    )
    path.write_text(text, encoding="utf-8")


def _sql(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(query).fetchall())


def _wait_sql(url: str, query: str, expected: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    count = -1
    while time.monotonic() < deadline:
        count = int(_sql(url, query)[0][0])
        if count >= expected:
            break
        time.sleep(1)
    return count


@pytest.fixture
def axis(
    kafka_admin: KafkaSettings, postgres: LocalPostgres, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    prefix = unique_name("e2e")
    directory_path = tmp_path / "directory.yaml"
    _directory(directory_path, prefix, fixed=False)
    topics = TopicSettings(
        inbound=f"{prefix}.inbound", dlq=f"{prefix}.dlq", delivery_prefix=f"{prefix}.deliver."
    )
    directory = load_directory(directory_path)
    apply_topics(
        make_admin(kafka_admin),
        plan_topics(topics, directory.endpoints.values()),
    )
    stores = {e: postgres.create_database(unique_name(e).replace("-", "_")) for e in CONSUMERS}
    env = {
        **inherited_env(),  # the test's settings only, whatever the developer's shell exports
        **environment(kafka_admin),
        "LIENTHONG_DIRECTORY_PATH": str(directory_path),
        "LIENTHONG_TOPICS_INBOUND": topics.inbound,
        "LIENTHONG_TOPICS_DLQ": topics.dlq,
        "LIENTHONG_TOPICS_DELIVERY_PREFIX": topics.delivery_prefix,
        "LIENTHONG_ROUTER_GROUP_ID": f"{prefix}-router",
        "LIENTHONG_CONSUMER_GROUP_PREFIX": f"{prefix}-consumer",
        "LIENTHONG_LOG_FORMAT": "json",
    }
    # Every service as its own principal, with the ACLs the directory plans and no more.
    secrets = tmp_path / "secrets"
    provision(env, secrets)

    def user(name: str) -> dict[str, str]:
        return {
            "LIENTHONG_KAFKA_SASL_USERNAME": name,
            "LIENTHONG_KAFKA_SASL_PASSWORD_FILE": str(secrets / f"{name}.password"),
        }

    stack = Stack(env, tmp_path / "logs")
    api = free_port()
    stack.add(
        "router",
        ["router", "run"],
        {
            **user(ROUTER),
            "LIENTHONG_ROUTER_INSTANCE_ID": "e2e",
            "LIENTHONG_ROUTER_METRICS_PORT": str(router := free_port()),
            "LIENTHONG_ROUTER_DIRECTORY_CHECK_INTERVAL_S": "0.5",
        },
        ready_port=router,
        ready_path="/readyz",
    )
    for endpoint in CONSUMERS:
        port = free_port()
        stack.add(
            f"consumer-{endpoint}",
            ["consumer", "run", "--endpoint", endpoint],
            {
                **user(consumer_user(endpoint)),
                "LIENTHONG_CONSUMER_DATABASE_URL": stores[endpoint],
                "LIENTHONG_CONSUMER_METRICS_PORT": str(port),
            },
            ready_port=port,
            ready_path="/readyz",
        )
    stack.add(
        "producer",
        ["producer", "serve"],
        {**user(API), "LIENTHONG_PRODUCER_PORT": str(api)},
        ready_port=api,
        ready_path="/readyz",
    )
    # No service runs as a super user: each is one of the planned principals.
    principals = {s.name: s.env["LIENTHONG_KAFKA_SASL_USERNAME"] for s in stack.services}
    assert not set(principals.values()) & SUPER_USERS, principals
    assert principals == {
        "router": ROUTER,
        "producer": API,
        **{f"consumer-{e}": consumer_user(e) for e in CONSUMERS},
    }
    stack.start(lambda _: None, timeout_s=120)
    try:
        yield {
            "api": f"http://127.0.0.1:{api}",
            "stores": stores,
            "env": env,
            "directory": directory_path,
            "prefix": prefix,
            "topics": topics,
            "kafka": kafka_admin,
            "as_vpcp": kafka_admin.model_copy(
                update={
                    "sasl_username": endpoint_user("vpcp"),
                    "sasl_password_file": secrets / f"{endpoint_user('vpcp')}.password",
                }
            ),
            "operator_env": as_user(env, OPERATOR, secrets),
        }
    finally:
        codes = stack.stop()
        # uvicorn re-raises SIGTERM after its graceful shutdown: -15 is the producer's clean exit.
        assert all(code in (0, -15) for code in codes.values()), (
            codes,
            [s.tail() for s in stack.services],
        )


def _publish_broadcast(api: str) -> list[dict[str, Any]]:
    documents = []
    for i in range(DOCUMENTS):
        record = examples.document(event_id=uuid4(), number=str(10_000 + i), recipients=(GROUP,))
        documents.append(to_json(record))
    with httpx.Client(base_url=api, timeout=60) as client:
        for start in range(0, DOCUMENTS, 100):
            answer = client.post(
                "/v1/documents:batch",
                json={"events": documents[start : start + 100]},
                headers={"Authorization": "Bearer demo-key-vpcp"},
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["accepted"] == len(documents[start : start + 100]), answer.text
    return documents


# The waits below, end to end: the stack's start (120 s), each endpoint's rows (3 x 240 s), the
# receipts (300 s), the DLQ (60 s), two replays (2 x 120 s), the replayed rows and receipts
# (2 x 120 s), and a stop; the suite's 300 s would cut a slow but passing run short.
@pytest.mark.timeout(1800)
def test_a_thousand_broadcasts_arrive_once_with_every_receipt_and_dlq_replay(
    axis: dict[str, Any],
) -> None:
    stores: dict[str, str] = axis["stores"]
    documents = _publish_broadcast(axis["api"])
    unroutable = [
        to_json(examples.document(event_id=uuid4(), number=str(20_000 + i), recipients=(MISSING,)))
        for i in range(UNROUTABLE)
    ]
    # As the Government Office's endpoint: its principal may write inbound, nothing else.
    with Publisher(axis["as_vpcp"], topic=axis["topics"].inbound) as pub:
        for record in unroutable:  # straight to Kafka: the API would refuse them (422)
            pub.publish("document", record)

    for endpoint in ENDPOINTS:
        got = _wait_sql(stores[endpoint], "select count(*) from lt_events", DOCUMENTS, 240)
        assert got == DOCUMENTS, endpoint
    receipts = DOCUMENTS * 30
    vpcp = stores["vpcp"]
    got = _wait_sql(vpcp, "select count(*) from lt_statuses", receipts + UNROUTABLE, 300)
    assert got == receipts + UNROUTABLE

    for endpoint in ENDPOINTS:  # every copy exactly once: the documents' ids, no others
        ids = {row[0] for row in _sql(stores[endpoint], "select event_id from lt_events")}
        assert ids == {d["event_id"] for d in documents}, endpoint
        assert _sql(stores[endpoint], "select count(*) from lt_documents")[0][0] == DOCUMENTS
    per_pair = _sql(
        vpcp,
        "select document_id, from_organ, count(*) from lt_statuses"
        " where status_code = '01' group by document_id, from_organ",
    )
    assert len(per_pair) == receipts  # every (document, recipient agency) answered once
    assert {row[2] for row in per_pair} == {1}
    rejected = _sql(vpcp, "select count(*) from lt_statuses where status_code = '02'")[0][0]
    assert rejected == UNROUTABLE

    dead = read_committed(axis["kafka"], [axis["topics"].dlq], UNROUTABLE, timeout_s=60)
    assert len(dead) == UNROUTABLE
    assert Counter(dict(d.headers)[h.DLQ_REASON] for d in dead) == {b"unknown-recipient": 20}
    assert {dict(d.headers)[h.EVENT_ID].decode() for d in dead} == {
        r["event_id"] for r in unroutable
    }

    # The fix: the agency joins the directory; the router reloads it; the DLQ is replayed.
    _directory(axis["directory"], axis["prefix"], fixed=True)
    time.sleep(2)  # the router checks the file every 0.5 s, between batches
    first = _replay(axis["operator_env"])  # replay runs as the operator, not a super user
    assert len(first["replayed"]) == UNROUTABLE, first
    second = _replay(axis["operator_env"])
    assert second["replayed"] == [], second  # recorded: a second replay does not double it
    assert len(second["skipped"]) == UNROUTABLE
    bo_nganh = stores["bo-nganh"]
    got = _wait_sql(bo_nganh, "select count(*) from lt_events", DOCUMENTS + UNROUTABLE, 120)
    assert got == DOCUMENTS + UNROUTABLE
    time.sleep(3)  # anything doubled would have arrived by now
    stored = Counter(row[0] for row in _sql(bo_nganh, "select event_id from lt_events"))
    assert set(stored.values()) == {1}
    assert {r["event_id"] for r in unroutable} <= set(stored)
    got = _wait_sql(vpcp, "select count(*) from lt_statuses", receipts + 2 * UNROUTABLE, 120)
    assert got == receipts + 2 * UNROUTABLE  # each replayed document answered once


def _replay(env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lienthong",
            "dlq",
            "replay",
            "--reason",
            "unknown-recipient",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary
