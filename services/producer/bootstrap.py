"""Composition root of the producer service: every client, store and registry is built here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from lienthong.contract.agency import AgencyCodePattern
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore
from lienthong.directory.live import DirectoryHolder
from lienthong.directory.loader import load_directory
from lienthong.directory.model import Directory
from lienthong.plumbing.settings import Settings
from lienthong.producer.api.app import ApiDeps, ReadyPublisher, create_app
from lienthong.producer.api.auth import Authenticator
from lienthong.producer.idempotency import IdempotencyCache
from lienthong.producer.ingest import Answer, Ingest
from lienthong.producer.json_models import build_models
from lienthong.producer.metrics import ProducerMetrics
from lienthong.producer.publisher import KafkaPublisher
from lienthong.producer.ratelimit import RateLimiter
from lienthong.producer.validation import EventValidator


@dataclass(frozen=True, slots=True)
class ProducerService:
    """The API and the publisher it writes through; the caller starts and closes the latter."""

    app: FastAPI
    publisher: ReadyPublisher
    registry: CollectorRegistry
    directory: _Directory

    def reload(self) -> None:
        """Reload the directory file before the next request (what SIGHUP does)."""
        self.directory.reload()


def build_producer(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    directory: Directory | None = None,
    publisher: ReadyPublisher | None = None,
    live: bool = False,
) -> ProducerService:
    """Build the producer service from settings; tests may inject the directory or publisher.

    `live`: the directory file (settings.directory.path) is watched and reloaded when it
    changes, or at once after `ProducerService.reload()` (SIGHUP); `directory` is then the
    file's content just loaded. Otherwise the directory never changes.
    """
    registry = registry or CollectorRegistry()
    agency_codes = AgencyCodePattern(settings.contract.agency_code_pattern)
    store = SchemaStore.from_package()
    models = build_models(store)
    metrics = ProducerMetrics(registry)
    holder = _directory(settings, agency_codes, metrics, directory, live=live)
    config = settings.producer
    if publisher is None:
        publisher = KafkaPublisher(
            settings.kafka,
            settings.topics.inbound,
            metrics,
            timeout_s=config.publish_timeout_ms / 1000,
            readiness_interval_s=config.readiness_interval_s,
        )
    ingest = Ingest(
        validator=EventValidator(models),
        codec=Codec(store),
        directory=holder.now,
        agency_codes=agency_codes,
        publisher=publisher,
        cache=IdempotencyCache[Answer](config.idempotency_entries, config.idempotency_ttl_s),
        metrics=metrics,
        clock_skew=timedelta(seconds=config.clock_skew_s),
    )
    deps = ApiDeps(
        ingest=ingest,
        auth=Authenticator(holder.now),
        publisher=publisher,
        metrics=metrics,
        registry=registry,
        models=models,
        max_body_bytes=config.max_body_bytes,
        max_batch=config.max_batch,
        limiter=RateLimiter(config.rate_limit_events_per_s, config.rate_limit_burst),
    )
    return ProducerService(create_app(deps), publisher, registry, holder)


class _Directory:
    """The directory the API checks against: fixed, or the file's, reloaded when it changes."""

    def __init__(self, fixed: Directory | None, holder: DirectoryHolder | None) -> None:
        self._fixed = fixed
        self._holder = holder

    def now(self) -> Directory:
        """Return the directory in use, reloaded first if its file changed.

        The file is checked at most once an interval (one stat, on the event loop; a reload
        parses the file there too, as the router does between batches).
        """
        if self._holder is None:
            assert self._fixed is not None
            return self._fixed
        self._holder.maybe_reload()
        return self._holder.current

    def reload(self) -> None:
        """Reload at the next request (SIGHUP)."""
        if self._holder is not None:
            self._holder.request()


def _directory(
    settings: Settings,
    codes: AgencyCodePattern,
    metrics: ProducerMetrics,
    loaded: Directory | None,
    *,
    live: bool,
) -> _Directory:
    if not live:
        fixed = loaded or load_directory(settings.directory.path, agency_codes=codes)
        return _Directory(fixed, None)
    holder = DirectoryHolder(
        settings.directory.path,
        lambda path: load_directory(path, agency_codes=codes),
        check_interval_s=settings.producer.directory_check_interval_s,
        on_reload=lambda outcome: metrics.directory_reloads.labels(outcome).inc(),
        initial=loaded,
    )
    return _Directory(None, holder)
