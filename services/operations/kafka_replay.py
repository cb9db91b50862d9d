"""The Kafka side of `dlq replay`: the DLQ snapshot, the replay log topic, the publisher."""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic

from lienthong.operations.deadletters import DeadLetterRecord, read_dead_letter
from lienthong.operations.errors import NotFound, OperationsError, broker_error
from lienthong.operations.kafka_read import TopicReader
from lienthong.operations.replay_log import Marker, Republish
from lienthong.operations.transactions import TransactionalWriter, Write
from lienthong.plumbing.kafka_confluent import make_admin
from lienthong.plumbing.settings import KafkaSettings, Settings, TopicSettings


def replay_log_topic(topics: TopicSettings) -> str:
    """Return the default replay log of a DLQ: its name plus `.replayed`."""
    return f"{topics.dlq}.replayed"


def replay_transactional_id(log_topic: str) -> str:
    """Return the transactional id every replay of this log shares, so replays fence each other."""
    return f"lienthong-dlq-replay-{log_topic}"


class KafkaDeadLetters:
    """The DLQ topic, read from the beginning to the end offsets captured at the start."""

    def __init__(self, reader: TopicReader, topic: str) -> None:
        self._reader = reader
        self._topic = topic

    def snapshot(self) -> Sequence[DeadLetterRecord]:
        """Return every committed DLQ record, in partition and offset order."""
        records = [read_dead_letter(env) for env in self._reader.snapshot(self._topic)]
        return sorted(records, key=lambda r: (r.partition, r.offset))


class KafkaReplayLog:
    """The compacted topic of replay markers, created (one partition) if it is missing."""

    def __init__(
        self,
        reader: TopicReader,
        kafka: KafkaSettings,
        topics: TopicSettings,
        topic: str,
        *,
        create: bool,
        timeout_s: float,
    ) -> None:
        self._reader = reader
        self._kafka = kafka
        self._topics = topics
        self._topic = topic
        self._create = create
        self._timeout = timeout_s

    @classmethod
    def for_settings(
        cls,
        reader: TopicReader,
        settings: Settings,
        topic: str | None,
        *,
        create: bool = False,
        timeout_s: float,
    ) -> KafkaReplayLog:
        """Return the log `topic`, by default the DLQ's (`replay_log_topic`)."""
        return cls(
            reader,
            settings.kafka,
            settings.topics,
            topic or replay_log_topic(settings.topics),
            create=create,
            timeout_s=timeout_s,
        )

    @property
    def topic(self) -> str:
        """Return the log's topic name."""
        return self._topic

    def markers(self) -> Sequence[Marker]:
        """Return every committed marker; an absent log is empty (and created if asked to)."""
        try:
            envelopes = list(self._reader.snapshot(self._topic))
        except NotFound:
            if self._create:
                self._create_topic()
            return []
        latest: dict[bytes | None, Marker] = {}
        for env in envelopes:  # in offset order: the last record of a key is what compaction keeps
            marker = Marker.parse(env.value)
            if marker is None:
                latest.pop(env.key, None)  # a tombstone: the record may be replayed again
            else:
                latest[env.key] = marker
        return list(latest.values())

    def _create_topic(self) -> None:
        # One partition: the log is small (one marker per replayed record) and compacted, so
        # it is kept for as long as the DLQ records it names could still be asked about.
        config = {"cleanup.policy": "compact"}
        if self._topics.min_insync_replicas is not None:
            config["min.insync.replicas"] = str(self._topics.min_insync_replicas)
        spec = NewTopic(self._topic, 1, self._topics.replication_factor, config=config)
        admin = make_admin(self._kafka)
        future = admin.create_topics([spec], request_timeout=self._timeout)[self._topic]
        try:
            future.result(timeout=self._timeout)
        except KafkaException as exc:
            if exc.args[0].name() == "TOPIC_ALREADY_EXISTS":  # raced with another replay
                return
            raise broker_error(exc, self._kafka, f"create {self._topic}") from None


class KafkaReplayPublisher:
    """Publish replays and their markers in one transaction of the shared replay id."""

    def __init__(self, writer: TransactionalWriter, log_topic: str) -> None:
        self._writer = writer
        self._log = log_topic

    def fence(self) -> None:
        """Claim the replay transactional id."""
        self._writer.fence()

    def publish(self, copies: Sequence[Republish], markers: Sequence[Marker]) -> None:
        """Publish copies and markers together; ReplayFailed (nothing visible) otherwise."""
        if len(copies) != len(markers):
            raise OperationsError("every replayed record needs its marker")
        writes = [Write(c.topic, c.key, c.value, c.headers) for c in copies]
        writes += [Write(self._log, m.key(), m.value(), ()) for m in markers]
        self._writer.commit(writes)
