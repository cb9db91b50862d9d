"""A steady load through the whole axis that keeps going, and keeps count, while faults happen.

Documents go through the HTTP API as the Government Office, one request at a time at a fixed
rate; an answer other than 202 (503 while the broker is away, a refused connection while the
API restarts, a timeout) is retried with the same body until it is accepted, as an agency's
backend would. A retry after an ambiguous answer may publish an event twice under the same
event id: the contract allows it, and the audit counts copies against what the inbound topic
really holds. Now and then a document to an agency in no directory goes straight to Kafka
with the Python client (the API would refuse it), for the router to dead-letter and answer
with a status 02.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from uuid import uuid4

import httpx

from lienthong.contract import examples
from lienthong.contract.jsonform import to_json
from lienthong.plumbing.settings import KafkaSettings
from lienthong.producer.client import Publisher
from lienthong.producer.errors import ProducerError

_RETRY_S = 0.5
_FIRST_NUMBER = 100_000


@dataclass
class Offered:
    """What the load published: accepted event ids, and how often it had to retry."""

    documents: dict[str, str] = field(default_factory=dict)  # event id -> document id
    unroutable: dict[str, str] = field(default_factory=dict)
    retries: int = 0
    ambiguous: int = 0  # answers after which the event may or may not have been published
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> int:
        """Return how many documents were accepted so far (both kinds)."""
        with self.lock:
            return len(self.documents) + len(self.unroutable)


class Load:
    """Run the document and unroutable loads in threads until stopped."""

    def __init__(
        self,
        *,
        api_url: str,
        api_key: str,
        kafka: KafkaSettings,
        inbound: str,
        recipients: tuple[str, ...],
        unknown: str,
        rate: float,
        unroutable_every_s: float = 2.0,
    ) -> None:
        self._api_url = api_url
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._kafka = kafka
        self._inbound = inbound
        self._recipients = recipients
        self._unknown = unknown
        self._rate = rate
        self._unroutable_every = unroutable_every_s
        self._stop = threading.Event()
        self._abandon = threading.Event()  # past stop's timeout: drop the event in hand too
        self._threads: list[threading.Thread] = []
        self._number = _FIRST_NUMBER
        self.offered = Offered()

    def start(self) -> None:
        """Start offering load."""
        for target, name in ((self._documents, "load-api"), (self._dead_letters, "load-kafka")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 120.0) -> None:
        """Stop offering; the event in hand is retried until accepted or the timeout passes.

        Past the timeout the threads give the event in hand up and end, so that a broker that
        never comes back leaves no thread retrying (and logging) for the rest of the process.
        """
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            self._abandon.set()
            for thread in self._threads:
                thread.join(30.0)

    def _next_document(self, recipients: tuple[str, ...]) -> dict[str, object]:
        self._number += 1
        return to_json(  # type: ignore[no-any-return]  # to_json builds a JSON object
            examples.document(event_id=uuid4(), number=str(self._number), recipients=recipients)
        )

    def _documents(self) -> None:
        interval = 1.0 / self._rate
        due = time.monotonic()
        with httpx.Client(base_url=self._api_url, timeout=15.0) as client:
            while not self._stop.is_set():
                document = self._next_document(self._recipients)
                self._post_until_accepted(client, document)
                due += interval
                pause = due - time.monotonic()
                if pause > 0:
                    self._stop.wait(pause)
                else:
                    due = time.monotonic()  # fell behind during an outage: do not burst

    def _post_until_accepted(self, client: httpx.Client, document: dict[str, object]) -> None:
        while not self._abandon.is_set():
            try:
                answer = client.post("/v1/documents", json=document, headers=self._headers)
            except httpx.HTTPError as exc:
                self._retrying(ambiguous=isinstance(exc, httpx.ReadTimeout))
                continue
            if answer.status_code == 202:  # noqa: PLR2004
                with self.offered.lock:
                    self.offered.documents[str(document["event_id"])] = str(document["document_id"])
                return
            if answer.status_code != 503:  # noqa: PLR2004
                raise RuntimeError(
                    f"the API refused a valid document: {answer.status_code} {answer.text}"
                )
            self._retrying(ambiguous="not published" not in answer.text)

    def _retrying(self, *, ambiguous: bool) -> None:
        with self.offered.lock:
            self.offered.retries += 1
            self.offered.ambiguous += int(ambiguous)
        time.sleep(_RETRY_S)

    def _dead_letters(self) -> None:
        publisher = Publisher(self._kafka, topic=self._inbound, timeout_s=10.0)
        try:
            while not self._stop.wait(self._unroutable_every):
                document = self._next_document((self._unknown,))
                while not self._abandon.is_set():
                    try:
                        publisher.publish("document", document)
                    except ProducerError:  # the broker is away: the same event again
                        self._retrying(ambiguous=True)
                        continue
                    with self.offered.lock:
                        self.offered.unroutable[str(document["event_id"])] = str(
                            document["document_id"]
                        )
                    break
        finally:
            # With the broker gone for good the close fails (its pending record is dropped:
            # the run has failed already); a thread must not end in a stray exception.
            with contextlib.suppress(ProducerError):
                publisher.close()
