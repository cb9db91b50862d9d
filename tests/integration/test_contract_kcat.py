"""The contract stands without our code: kcat piped into docs/contract.md's fastavro decoder.

Needs kcat (Debian's package, installed by deploy/local/system-deps.sh) and the test broker.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

from lienthong.contract import examples
from lienthong.contract.headers import EventHeaders
from lienthong.contract.schemas import EventType
from lienthong.plumbing.settings import KafkaSettings
from tests.support.kafka import REPO_ROOT, kcat_environment, kcat_security
from tests.support.router import deploy, publish, read_committed, running_router

DOCS = REPO_ROOT / "docs" / "contract.md"
MARKER = "<!-- tested by tests/integration/test_contract_kcat.py -->\n```python\n"
ALLOWED_IMPORTS = {"io", "json", "sys", "pathlib", "fastavro", "fastavro.schema"}


def _decoder() -> str:
    return DOCS.read_text(encoding="utf-8").split(MARKER, 1)[1].split("```", 1)[0]


def _kcat_command() -> str:
    block = DOCS.read_text(encoding="utf-8").split("```sh\nkcat ", 1)[1].split("```", 1)[0]
    return "kcat " + block.replace("\\\n", " ").split(" | ", 1)[0].strip()


def test_the_decoder_needs_only_fastavro_and_the_standard_library() -> None:
    tree = ast.parse(_decoder())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported == ALLOWED_IMPORTS
    assert len(_decoder().splitlines()) <= 30


def _events() -> list[tuple[EventType, dict[str, Any]]]:
    """What the Government Office's endpoint receives: reports, statuses and a document."""
    document = examples.document(event_id=uuid4(), sender="000.00.00.H41", number="55")
    document["recipients"] = ["000.00.00.G22"]
    events: list[tuple[EventType, dict[str, Any]]] = [(EventType.DOCUMENT, document)]
    events += [(EventType.REPORT, examples.report(event_id=uuid4(), month=m)) for m in (8, 9, 10)]
    events += [
        (EventType.STATUS, examples.status(event_id=uuid4(), code=code))
        for code in ("01", "03", "06")
    ]
    return events


def test_kcat_and_the_decoder_read_what_the_router_delivered(
    kafka_admin: KafkaSettings, tmp_path: Path
) -> None:
    assert shutil.which("kcat"), "kcat not found: deploy/local/system-deps.sh install"
    dep = deploy(kafka_admin)
    topic = dep.delivery_topics()["vpcp"]
    events = _events()
    publish(kafka_admin, dep.settings.topics.inbound, events)
    with running_router(dep):
        delivered = read_committed(kafka_admin, [topic], len(events), settle_s=0.2)
    assert len(delivered) == len(events)
    decoder = tmp_path / "decode.py"
    decoder.write_text(_decoder(), encoding="utf-8")
    kcat = _kcat_command()
    kcat = kcat.replace("127.0.0.1:9092", kafka_admin.bootstrap).replace(
        "lienthong.deliver.tinh-nghe-an", topic
    )
    # The docs' command names the broker and the topic; the credentials are the reader's own.
    kcat += " " + shlex.join(kcat_security(kafka_admin))
    pipeline = f"{kcat} | {shlex.quote(sys.executable)} -I {decoder} schemas/avro"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline],
        cwd=REPO_ROOT,
        env={**os.environ, **kcat_environment(tmp_path / "librdkafka")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == len(events)

    # What was published, through the same JSON rendering (str() of dates, UUIDs, times).
    published = {str(r["event_id"]): json.loads(json.dumps(r, default=str)) for _, r in events}
    where = {EventHeaders.from_kafka(e.headers).event_id: e for e in delivered}
    for line in lines:
        event_id = line["record"]["event_id"]
        assert line["record"] == published[event_id]
        envelope = where[event_id]
        assert (line["topic"], line["partition"], line["offset"]) == (
            topic,
            envelope.partition,
            envelope.offset,
        )
        assert line["key"] == (envelope.key or b"").decode()
