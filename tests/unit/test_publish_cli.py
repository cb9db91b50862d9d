from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from lienthong.cli.publish import Ports, publish_command
from lienthong.cli.publish_items import read_items
from lienthong.contract import examples
from lienthong.contract.jsonform import to_json
from lienthong.contract.schemas import EventType
from lienthong.plumbing.settings import ClientSettings, KafkaSettings

ENV = {"LIENTHONG_CLIENT_URL": "http://api.test/lt", "LIENTHONG_CLIENT_API_KEY": "k-123"}
DOCUMENT = to_json(examples.document())
REPORT = to_json(examples.report())
STATUS = to_json(examples.status())
DOC_ID, REPORT_ID = DOCUMENT["event_id"], REPORT["event_id"]


def wrapped(kind: str, event: dict[str, Any]) -> str:
    return json.dumps({"type": kind, "event": event})


@dataclass
class FakeApi:
    """The ingestion API at the transport: answers batches per the contract.

    An event whose subject is empty gets a 422; `unavailable` whole requests are answered 503
    first, and `flaky` event ids get an item-level 503 the first time they are seen.
    """

    unavailable: int = 0
    rate_limited: int = 0  # whole requests answered 429 first
    flaky: set[str] = field(default_factory=set)
    max_items: int = 1000
    too_many: int = 422  # the real API's answer; 413 is what a body over its size limit gets
    requests: list[tuple[str, list[str]]] = field(default_factory=list)
    offset: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer k-123"
        events = json.loads(request.content)["events"]
        self.requests.append((request.url.path, [e.get("event_id") for e in events]))
        if self.rate_limited:
            self.rate_limited -= 1
            problem = {"status": 429, "title": "endpoint x is over its limit", "errors": []}
            return httpx.Response(429, json=problem, headers={"Retry-After": "3"})
        if self.unavailable:
            self.unavailable -= 1
            problem = {"status": 503, "title": "Kafka is unavailable", "errors": []}
            return httpx.Response(503, json=problem, headers={"Retry-After": "2"})
        if len(events) > self.max_items:
            title = f"more than {self.max_items} events"
            errors = [{"pointer": "/events", "message": title}] if self.too_many == 422 else []
            problem = {"status": self.too_many, "title": title, "errors": errors}
            return httpx.Response(self.too_many, json=problem)
        results = [self._one(i, event) for i, event in enumerate(events)]
        failed = sum(r["status"] != 202 for r in results)
        body = {"results": results, "accepted": len(results) - failed, "failed": failed}
        return httpx.Response(200, json=body)

    def _one(self, index: int, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("subject") == "":
            error = {"pointer": "/subject", "message": "must not be empty"}
            return {"index": index, "status": 422, "errors": [error]}
        if event["event_id"] in self.flaky:
            self.flaky.discard(event["event_id"])
            return {"index": index, "status": 503, "errors": [{"pointer": "", "message": "down"}]}
        self.offset += 1
        where = {"topic": "lienthong.inbound", "partition": 2, "offset": self.offset - 1}
        return {"index": index, "status": 202, "event_id": event["event_id"], **where}


@dataclass
class Acked:
    topic: str
    partition: int
    offset: int


@dataclass
class FakeProducer:
    """kafka-python's producer at the port: acknowledges everything on partition 3."""

    sent: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = field(default_factory=list)

    def send(
        self, topic: str, *, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> FakeProducer:
        self.sent.append((key, value, headers))
        self.acked = Acked(topic, 3, len(self.sent) - 1)
        return self

    def get(self, timeout: float | None = None) -> Acked:
        assert timeout
        return self.acked

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


@dataclass
class Factory:
    producer: FakeProducer = field(default_factory=FakeProducer)
    built: list[tuple[str, float]] = field(default_factory=list)

    def __call__(self, settings: KafkaSettings, timeout_s: float) -> FakeProducer:
        self.built.append((settings.bootstrap, timeout_s))
        return self.producer


@dataclass
class Run:
    result: Result
    sleeps: list[float]

    @property
    def lines(self) -> list[str]:
        return self.result.stdout.splitlines()


def run(
    tmp_path: Path,
    content: str,
    *args: str,
    api: FakeApi | None = None,
    ports: Ports | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    path = tmp_path / "events.json"
    path.write_text(content, encoding="utf-8")
    sleeps: list[float] = []
    ports = ports or Ports(
        http_transport=httpx.MockTransport(api or FakeApi()), sleep=sleeps.append
    )
    result = CliRunner().invoke(
        publish_command, [*args, str(path)], obj=ports, env=ENV if env is None else env
    )
    return Run(result, sleeps)


# --- reading the input --------------------------------------------------------------------------


def test_a_single_object_with_type() -> None:
    [item] = read_items("\n\n" + json.dumps(DOCUMENT, indent=2), EventType.DOCUMENT)
    assert (item.line, item.event_type, item.event) == (3, EventType.DOCUMENT, DOCUMENT)


def test_a_list_gives_each_item_its_starting_line() -> None:
    text = "[\n" + ",\n".join(
        json.dumps({"type": "status", "event": STATUS}, indent=1) for _ in "ab"
    )
    items = read_items(text + "\n]", None)
    height = json.dumps({"type": "status", "event": STATUS}, indent=1).count("\n") + 1
    assert [item.line for item in items] == [2, 2 + height]
    assert {item.event_type for item in items} == {EventType.STATUS}


def test_json_lines_with_a_bad_line_a_blank_line_and_a_missing_type() -> None:
    text = "\n".join([wrapped("document", DOCUMENT), "{oops", "", json.dumps(REPORT)])
    good, bad, untyped = read_items(text, None)
    assert (good.line, good.event_type, good.problem) == (1, EventType.DOCUMENT, None)
    assert bad.line == 2
    assert (bad.problem or "").startswith("not JSON")
    assert untyped.line == 4
    assert "no type" in (untyped.problem or "")


def test_events_without_an_id_get_one_before_sending() -> None:
    event = {k: v for k, v in STATUS.items() if k != "event_id"}
    first, second = read_items(f"{json.dumps(event)}\n{json.dumps(event)}", EventType.STATUS)
    assert first.event_id
    assert second.event_id
    assert first.event_id != second.event_id


def test_unknown_wrapped_type_and_non_object_event() -> None:
    text = "\n".join([wrapped("memo", DOCUMENT), json.dumps({"type": "report", "event": [1]})])
    memo, listed = read_items(text, None)
    assert "unknown type 'memo'" in (memo.problem or "")
    assert "must be a JSON object" in (listed.problem or "")


# --- the command over HTTP ----------------------------------------------------------------------


def test_good_and_bad_lines_are_reported_in_input_order(tmp_path: Path) -> None:
    api = FakeApi()
    text = "\n".join([wrapped("document", DOCUMENT), "{oops", wrapped("report", REPORT)])
    outcome = run(tmp_path, text, api=api)
    assert outcome.result.exit_code == 1
    assert outcome.lines[0] == f"ok    document {DOC_ID} lienthong.inbound[2]@0"
    assert outcome.lines[1].startswith("FAIL  ? line 2: 400 /: not JSON: ")
    assert outcome.lines[2] == f"ok    report {REPORT_ID} lienthong.inbound[2]@1"
    assert "2 published, 1 failed (of 3) in" in outcome.result.stderr
    assert [path for path, _ in api.requests] == ["/lt/v1/documents:batch", "/lt/v1/reports:batch"]


def test_all_published_exits_0_with_json_lines(tmp_path: Path) -> None:
    outcome = run(tmp_path, json.dumps([STATUS, STATUS]), "--type", "status", "--json")
    assert outcome.result.exit_code == 0, outcome.result.output
    first, second = (json.loads(line) for line in outcome.lines)
    assert first["ok"] is True
    assert (first["event_type"], first["status"], first["partition"]) == ("status", 202, 2)
    assert second["offset"] == 1


def test_mixed_202_and_422_in_one_batch(tmp_path: Path) -> None:
    bad = {**DOCUMENT, "subject": "", "event_id": "5c3f6a52-3a43-4b2a-9d7e-0f4d1f7b2a10"}
    outcome = run(tmp_path, "\n".join(json.dumps(e) for e in [DOCUMENT, bad]), "--type", "document")
    assert outcome.result.exit_code == 1
    assert outcome.lines[0].startswith("ok    document")
    assert outcome.lines[1] == "FAIL  document line 2: 422 /subject: must not be empty"


def test_consecutive_items_of_one_type_share_a_batch_of_at_most_batch_size(tmp_path: Path) -> None:
    api = FakeApi()
    kinds = ["document", "document", "document", "status", "document"]
    events = {"document": DOCUMENT, "status": STATUS}
    text = "\n".join(wrapped(k, {**events[k], "event_id": None}) for k in kinds)
    outcome = run(tmp_path, text, "--batch-size", "2", api=api)
    assert outcome.result.exit_code == 0, outcome.result.output
    sizes = [(path.rsplit("/", 1)[-1], len(ids)) for path, ids in api.requests]
    expected = [("documents:batch", 2), ("documents:batch", 1), ("statuses:batch", 1)]
    assert sizes == [*expected, ("documents:batch", 1)]


def test_503_is_retried_after_retry_after_with_the_same_event_ids(tmp_path: Path) -> None:
    api = FakeApi(unavailable=1)
    text = json.dumps([{**STATUS, "event_id": None}] * 3)
    outcome = run(tmp_path, text, "--type", "status", api=api)
    assert outcome.result.exit_code == 0, outcome.result.output
    assert outcome.sleeps == [2.0]  # Retry-After, above the first jittered backoff
    (_, first), (_, second) = api.requests
    assert first == second
    assert len(set(first)) == 3


def test_429_is_retried_after_retry_after_with_the_same_event_ids(tmp_path: Path) -> None:
    api = FakeApi(rate_limited=1)
    outcome = run(
        tmp_path, json.dumps([{**STATUS, "event_id": None}] * 2), "--type", "status", api=api
    )
    assert outcome.result.exit_code == 0, outcome.result.output
    assert outcome.sleeps == [3.0]
    (_, first), (_, second) = api.requests
    assert first == second


def test_an_item_level_503_retries_that_event_alone(tmp_path: Path) -> None:
    api = FakeApi(flaky={REPORT_ID})
    outcome = run(
        tmp_path,
        json.dumps([DOCUMENT, DOCUMENT]).replace(DOC_ID, REPORT_ID, 1),
        "--type",
        "document",
        api=api,
    )
    assert outcome.result.exit_code == 0, outcome.result.output
    assert [ids for _, ids in api.requests] == [[REPORT_ID, DOC_ID], [REPORT_ID]]
    assert len(outcome.sleeps) == 1
    assert 0 < outcome.sleeps[0] <= 0.5


def test_retries_run_out_and_the_rest_is_not_sent(tmp_path: Path) -> None:
    api = FakeApi(unavailable=100)
    text = json.dumps([DOCUMENT, DOCUMENT])
    outcome = run(
        tmp_path, text, "--type", "document", "--batch-size", "1", "--retries", "2", api=api
    )
    assert outcome.result.exit_code == 1
    assert len(api.requests) == 3  # the first chunk, twice retried; the second never sent
    assert outcome.lines[0] == "FAIL  document line 1: 503 /: Kafka is unavailable"
    assert outcome.lines[1] == (
        "FAIL  document line 1: 503 /: not sent: line 1 got Kafka is unavailable"
    )


@pytest.mark.parametrize("status", [413, 422])
def test_a_batch_too_large_is_split(tmp_path: Path, status: int) -> None:
    api = FakeApi(max_items=2, too_many=status)
    text = json.dumps([{**DOCUMENT, "event_id": None}] * 4)
    outcome = run(tmp_path, text, "--type", "document", api=api)
    assert outcome.result.exit_code == 0, outcome.result.output
    assert [len(ids) for _, ids in api.requests] == [4, 2, 2]


def test_stdin_is_read_for_dash() -> None:
    api = FakeApi()
    result = CliRunner().invoke(
        publish_command,
        ["--type", "report", "-"],
        input=json.dumps(REPORT),
        obj=Ports(http_transport=httpx.MockTransport(api)),
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok    report {REPORT_ID} ")


# --- usage errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "args", "env", "reason"),
    [
        ("[{", [], ENV, "not a valid JSON list"),
        ("{\n oops\n", [], ENV, "neither JSON nor JSON lines"),
        (
            json.dumps(DOCUMENT),
            ["--type", "document"],
            {"LIENTHONG_CLIENT_API_KEY": ""},
            "no API key",
        ),
        (json.dumps(DOCUMENT), ["--api-key-env", "NOT_SET_ANYWHERE"], ENV, "NOT_SET_ANYWHERE"),
    ],
    ids=["broken list", "broken object", "no key", "key variable unset"],
)
def test_unusable_input_exits_2_with_one_line(
    tmp_path: Path, content: str, args: list[str], env: dict[str, str], reason: str
) -> None:
    outcome = run(tmp_path, content, *args, env=env)
    assert outcome.result.exit_code == 2
    assert outcome.result.stdout == ""
    [line] = outcome.result.stderr.splitlines()
    assert reason in line


def test_an_unreadable_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(publish_command, [str(tmp_path / "missing.json")], env=ENV)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: cannot read {tmp_path / 'missing.json'}: No such file or directory"
    ]


# --- the command to Kafka, with a fake producer -------------------------------------------------


def test_via_kafka_publishes_with_the_python_client(tmp_path: Path) -> None:
    factory = Factory()
    env = {"LIENTHONG_TOPICS_INBOUND": "inbound-x", "LIENTHONG_KAFKA_BOOTSTRAP": "k:1"}
    text = "\n".join([wrapped("document", DOCUMENT), wrapped("status", {"status_code": "03"})])
    outcome = run(tmp_path, text, "--via", "kafka", ports=Ports(producer_factory=factory), env=env)
    assert outcome.result.exit_code == 1
    assert outcome.lines[0] == f"ok    document {DOC_ID} inbound-x[3]@0"
    assert outcome.lines[1].startswith("FAIL  status line 2: 422 /response_for: Field required")
    assert factory.built == [("k:1", ClientSettings().timeout_s)]
    [(key, _, _)] = factory.producer.sent
    assert key == DOCUMENT["document_id"].encode()


def _html_502(request: httpx.Request) -> httpx.Response:
    return httpx.Response(502, text="<html>Bad Gateway</html>")


def _item_503_with_title(request: httpx.Request) -> httpx.Response:
    result = {"index": 0, "status": 503, "title": "not published: Kafka is down", "errors": []}
    return httpx.Response(200, json={"results": [result], "accepted": 0, "failed": 1})


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    ("handler", "line", "requests"),
    [
        (_html_502, "502 /: unexpected answer: '<html>Bad Gateway</html>'", 1),
        (_item_503_with_title, "503 /: not published: Kafka is down", 2),
        (_refused, "503 /: no answer from http://api.test/lt/: ConnectError: connection", 2),
    ],
    ids=["proxy page", "item 503 with a title", "connection refused"],
)
def test_answers_outside_the_contract_fail_the_event_not_the_command(
    tmp_path: Path, handler: Any, line: str, requests: int
) -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        response: httpx.Response = handler(request)
        return response

    ports = Ports(http_transport=httpx.MockTransport(record), sleep=lambda _: None)
    outcome = run(tmp_path, json.dumps(STATUS), "--type", "status", "--retries", "1", ports=ports)
    assert outcome.result.exit_code == 1
    assert outcome.lines[0].startswith(f"FAIL  status line 1: {line}")
    assert len(seen) == requests


def test_via_kafka_with_a_directory_checks_recipients(tmp_path: Path) -> None:
    directory = Path(__file__).resolve().parents[2] / "deploy" / "directory.example.yaml"
    event = {**DOCUMENT, "recipients": ["000.00.00.H99"]}
    ports = Ports(producer_factory=Factory())
    args = ["--via", "kafka", "--type", "document", "--directory", str(directory)]
    outcome = run(tmp_path, json.dumps(event), *args, ports=ports, env={})
    assert outcome.result.exit_code == 1
    assert outcome.lines == [
        "FAIL  document line 1: 422 /recipients/0: agency 000.00.00.H99 is not in the directory"
    ]
    missing = run(tmp_path, json.dumps(event), *args[:-1], "nowhere.yaml", ports=ports, env={})
    assert missing.result.exit_code == 2
    assert "nowhere.yaml" in missing.result.stderr


def test_an_empty_input_publishes_nothing_and_succeeds(tmp_path: Path) -> None:
    outcome = run(tmp_path, "\n\n")
    assert outcome.result.exit_code == 0
    assert outcome.lines == []
    assert outcome.result.stderr.startswith("0 published, 0 failed (of 0) in ")
