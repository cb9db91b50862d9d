"""Typed settings, read once from LIENTHONG_<SECTION>_<FIELD> environment variables."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from lienthong.contract.agency import DEFAULT_AGENCY_CODE_PATTERN

PREFIX = "LIENTHONG_"
# deploy/local/*.sh read these; they configure the local broker, not the services.
_SCRIPT_PREFIX = "LIENTHONG_LOCAL_"

_DAY_MS = 24 * 3600 * 1000

# An empty variable means "none", not Path("") (the current directory, which always exists).
OptionalPath = Annotated[Path | None, BeforeValidator(lambda v: v or None)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(_Section):
    """How every client reaches the cluster."""

    bootstrap: str = "127.0.0.1:9092"
    # Secured by default, as deploy/local/kafka.sh runs the broker: TLS, and SCRAM-SHA-512 as
    # the service's own principal (docs/security.md). PLAINTEXT only for the insecure
    # benchmark broker (LIENTHONG_LOCAL_KAFKA_INSECURE=1).
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "SASL_SSL"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = "SCRAM-SHA-512"
    sasl_username: str | None = None
    # The password itself, or (preferred: it stays out of the environment) a file holding it.
    sasl_password: SecretStr | None = None
    sasl_password_file: OptionalPath = None
    # The CA that signed the broker's certificate (PEM); unset: the system's CAs.
    ssl_ca_location: OptionalPath = None
    # A client certificate and key (PEM) for brokers that require mutual TLS.
    ssl_certificate_location: OptionalPath = None
    ssl_key_location: OptionalPath = None
    ssl_key_password: SecretStr | None = None
    # Check that the broker's certificate names the host connected to. Off only for a lab
    # broker whose certificate cannot name its address.
    ssl_check_hostname: bool = True
    client_id: str = "lienthong"
    # Producer batching. Under load librdkafka batches whatever accumulates while a request is
    # in flight; linger only delays a lone record, so it stays short (1 ms: a lone API request
    # answers 3x sooner than at 5 ms, measured in bench/ingest.py).
    linger_ms: int = Field(default=1, ge=0, le=1000)
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "lz4"
    # A produce request waits this long for the broker; a record gives up after the delivery
    # timeout, which must cover the linger and one request (both clients refuse less).
    request_timeout_ms: int = Field(default=15_000, ge=1000)
    delivery_timeout_ms: int = Field(default=30_000, ge=1000)
    # librdkafka statistics (broker round trips, producer queue, transaction state) become
    # lienthong_<service>_kafka_* gauges at this interval; 0 turns them off.
    statistics_interval_ms: int = Field(default=15_000, ge=0)

    @model_validator(mode="after")
    def _delivery_covers_a_request(self) -> KafkaSettings:
        if self.delivery_timeout_ms <= self.linger_ms + self.request_timeout_ms:
            msg = (
                f"delivery_timeout_ms ({self.delivery_timeout_ms}) must exceed linger_ms"
                f" ({self.linger_ms}) + request_timeout_ms ({self.request_timeout_ms})"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _security_is_coherent(self) -> KafkaSettings:
        if self.sasl_password is not None and self.sasl_password_file is not None:
            msg = "set sasl_password or sasl_password_file, not both"
            raise ValueError(msg)
        if self.security_protocol.startswith("SASL_") and self.sasl_mechanism is None:
            msg = f"security_protocol {self.security_protocol} needs a sasl_mechanism"
            raise ValueError(msg)
        if (self.ssl_key_location is None) != (self.ssl_certificate_location is None):
            msg = (
                "a client certificate needs its key: set both ssl_certificate_location and"
                " ssl_key_location"
            )
            raise ValueError(msg)
        return self


class TopicSettings(_Section):
    """Topic names, partition counts and retention; `lienthong topics apply` creates them."""

    inbound: str = "lienthong.inbound"
    dlq: str = "lienthong.dlq"
    delivery_prefix: str = "lienthong.deliver."
    inbound_partitions: int = Field(default=6, ge=1)
    delivery_partitions: int = Field(default=3, ge=1)
    dlq_partitions: int = Field(default=1, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    min_insync_replicas: int | None = Field(default=None, ge=1)
    inbound_retention_ms: int = Field(default=7 * _DAY_MS, ge=-1)
    delivery_retention_ms: int = Field(default=14 * _DAY_MS, ge=-1)
    dlq_retention_ms: int = Field(default=90 * _DAY_MS, ge=-1)


class ContractSettings(_Section):
    """Contract knobs a deployment may need to widen."""

    agency_code_pattern: str = DEFAULT_AGENCY_CODE_PATTERN


class DirectorySettings(_Section):
    """Where the agency directory is read from."""

    path: Path = Path("deploy/directory.example.yaml")


class LogSettings(_Section):
    """Log format and level; `auto` means console on a TTY, JSON lines otherwise."""

    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class ProducerSettings(_Section):
    """The HTTP ingestion API (`lienthong producer serve`)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_batch: int = Field(default=500, ge=1)
    # How long a request waits for the broker's acknowledgement before answering 503. The Kafka
    # producer gives up on queued records at the same moment (see producer/publisher.py).
    publish_timeout_ms: int = Field(default=10_000, ge=100)
    idempotency_entries: int = Field(default=100_000, ge=0)
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=1)
    clock_skew_s: int = Field(default=300, ge=0)
    readiness_interval_s: float = Field(default=5.0, gt=0)
    # While this file exists /readyz answers 503 (see docs/operations.md#maintenance-mode).
    maintenance_file: OptionalPath = None
    # How often the directory file is checked for a change (SIGHUP reloads it at once): a
    # revoked key stops working within this many seconds.
    directory_check_interval_s: float = Field(default=5.0, gt=0)
    # Fair use, per endpoint and per API process: events a second on average, and at once. Well
    # above what one endpoint sends in the national systems, well below what floods the axis;
    # 0 turns the limit off (benchmarks only).
    rate_limit_events_per_s: float = Field(default=1000.0, ge=0)
    rate_limit_burst: int = Field(default=10_000, ge=1)


class RouterSettings(_Section):
    """The fan-out router (`lienthong router run`)."""

    group_id: str = "lienthong-router"
    # Stable per router process across restarts (a StatefulSet ordinal, a host name): a restart
    # with the same id aborts the transaction a killed predecessor left open, at once, instead
    # of read_committed readers waiting for it to time out. Default: this host's name.
    instance_id: str = ""
    batch_max_records: int = Field(
        default=2000, ge=1
    )  # ~20 ms fixed cost per transaction: bigger batches amortise it (measured +50% at 2,000)
    # The longest a batch stays open after its first record; it closes sooner when records
    # stop coming (10 ms without one), so this bounds latency only under load.
    batch_max_ms: int = Field(default=100, ge=1)
    transaction_timeout_ms: int = Field(default=30_000, ge=1000)
    # The instance id is also the consumer's static group membership: a restarted router takes
    # its partitions back at once, without a rebalance. A router that is gone for good releases
    # them after this long.
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9101, ge=0, le=65535)
    directory_check_interval_s: float = Field(default=5.0, gt=0)
    # Who rejects an unroutable document (the Status 02 the sender gets): the axis operator.
    # An id no endpoint serves, so no endpoint can speak in the axis's name: the router refuses
    # a directory that holds it. (It was the Government Office's code, which vpcp serves.)
    axis_organ_id: str = "000.00.00.A00"
    axis_organ_name: str = "Trục liên thông văn bản quốc gia"
    # How long one call of the transactional producer may wait for the broker. A call that has
    # not returned 5 s after that (librdkafka can block past its own timeout when the
    # transaction coordinator goes away) is abandoned and the clients are rebuilt.
    call_timeout_s: float = Field(default=10.0, gt=0)
    # /readyz fails and lienthong_router_blocked is 1 when no batch committed and no poll
    # found the inbound topic drained for this long (a batch normally commits in milliseconds).
    stall_timeout_s: float = Field(default=15.0, gt=0)
    # How often the lag gauge asks the broker for the group's committed offsets and log ends.
    lag_interval_s: float = Field(default=5.0, gt=0)
    # /healthz fails when the routing loop made no progress for this long; it must exceed the
    # longest legitimate wait (a 30 s transaction timeout, a 10 s backoff).
    liveness_timeout_s: float = Field(default=120.0, gt=0)
    readiness_interval_s: float = Field(default=5.0, gt=0)
    maintenance_file: OptionalPath = None


class ConsumerSettings(_Section):
    """The persisting consumer (`lienthong consumer run`) and its store."""

    # sqlite:///path (the embedded default) or postgresql://user@host:port/db.
    database_url: SecretStr = SecretStr("sqlite:///lienthong.sqlite")
    group_prefix: str = "lienthong-consumer"
    # Static group membership (group.instance.id = <group>-<instance_id>): a consumer restarted
    # after a crash takes its partitions back at once instead of after the dead member's
    # session. Stable per process and unique among one endpoint's replicas (a StatefulSet
    # ordinal, a host name). Default: this host's name.
    instance_id: str = ""
    # A member gone for good (not restarted with its instance id) releases its partitions
    # after this long.
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    # How often the lag gauge compares the offsets in the store with the ends of the log.
    lag_interval_s: float = Field(default=5.0, gt=0)
    batch_max_records: int = Field(default=500, ge=1)
    batch_max_ms: int = Field(default=200, ge=1)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9102, ge=0, le=65535)
    # While the database is unreachable: retry with jittered backoff up to this long apart.
    retry_max_backoff_s: float = Field(default=30.0, gt=0)
    outbox_batch: int = Field(default=500, ge=1)
    outbox_interval_s: float = Field(default=0.5, gt=0)
    # /healthz fails when the sink loop or the outbox relay made no progress for this long; it
    # must exceed retry_max_backoff_s and the relay's 30 s flush.
    liveness_timeout_s: float = Field(default=120.0, gt=0)
    readiness_interval_s: float = Field(default=5.0, gt=0)
    maintenance_file: OptionalPath = None


class ClientSettings(_Section):
    """How `lienthong publish` reaches the HTTP API."""

    url: str = "http://127.0.0.1:8080"
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=30.0, gt=0)


class SettingsError(ValueError):
    """Settings that cannot be used; the message names each variable at fault."""


class Settings(_Section):
    """Everything a Lienthong process is configured with."""

    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    contract: ContractSettings = ContractSettings()
    directory: DirectorySettings = DirectorySettings()
    log: LogSettings = LogSettings()
    producer: ProducerSettings = ProducerSettings()
    router: RouterSettings = RouterSettings()
    consumer: ConsumerSettings = ConsumerSettings()
    client: ClientSettings = ClientSettings()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment, rejecting unknown LIENTHONG_* variables."""
        env = os.environ if environ is None else environ
        known = env_names()
        values: dict[str, dict[str, str]] = {}
        problems: list[str] = []
        for name, value in env.items():
            if not name.startswith(PREFIX) or name.startswith(_SCRIPT_PREFIX):
                continue
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                problems.append(f"{name}: unknown setting{hint}")
                continue
            section, field = known[name]
            values.setdefault(section, {})[field] = value
        if problems:
            raise SettingsError("; ".join(problems))
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise SettingsError(_explain(exc)) from exc

    def describe(self) -> dict[str, Any]:
        """Return the settings as plain data with secrets masked, for logs and `settings show`."""
        return self.model_dump(mode="json")


def env_names() -> dict[str, tuple[str, str]]:
    """Map every accepted variable name to its (section, field)."""
    names: dict[str, tuple[str, str]] = {}
    for section, info in Settings.model_fields.items():
        model = info.annotation
        assert isinstance(model, type)
        assert issubclass(model, _Section)
        for field in model.model_fields:
            names[f"{PREFIX}{section}_{field}".upper()] = (section, field)
    return names


def _explain(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        name = f"{PREFIX}{'_'.join(loc[:2])}".upper()
        if len(loc) < len(("section", "field")):  # a rule across fields: its input is the whole
            # section, secrets included, so it is not echoed
            lines.append(f"{name}_*: {err['msg']}")
            continue
        shown = "***" if _is_secret(loc) else repr(err.get("input"))
        lines.append(f"{name}={shown}: {err['msg']}")
    return "; ".join(lines)


def _is_secret(loc: list[str]) -> bool:
    """Tell whether a (section, field) location names a SecretStr setting."""
    section = Settings.model_fields.get(loc[0])
    model = section.annotation if section is not None else None
    if not isinstance(model, type) or not issubclass(model, _Section):
        return True  # unknown: say nothing
    field = model.model_fields.get(loc[1])
    return field is None or "SecretStr" in str(field.annotation)
