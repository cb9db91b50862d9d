"""Composition root of the producer service: every client, store and registry is built here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from lienthong.contract.agency import AgencyCodePattern
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore
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
from lienthong.producer.validation import EventValidator


@dataclass(frozen=True, slots=True)
class ProducerService:
    """The API and the publisher it writes through; the caller starts and closes the latter."""

    app: FastAPI
    publisher: ReadyPublisher
    registry: CollectorRegistry


def build_producer(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    directory: Directory | None = None,
    publisher: ReadyPublisher | None = None,
) -> ProducerService:
    """Build the producer service from settings; tests may inject the directory or publisher."""
    registry = registry or CollectorRegistry()
    agency_codes = AgencyCodePattern(settings.contract.agency_code_pattern)
    loaded = directory or load_directory(settings.directory.path, agency_codes=agency_codes)
    store = SchemaStore.from_package()
    models = build_models(store)
    metrics = ProducerMetrics(registry)
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
        directory=lambda: loaded,
        agency_codes=agency_codes,
        publisher=publisher,
        cache=IdempotencyCache[Answer](config.idempotency_entries, config.idempotency_ttl_s),
        metrics=metrics,
        clock_skew=timedelta(seconds=config.clock_skew_s),
    )
    deps = ApiDeps(
        ingest=ingest,
        auth=Authenticator(lambda: loaded),
        publisher=publisher,
        metrics=metrics,
        registry=registry,
        models=models,
        max_body_bytes=config.max_body_bytes,
        max_batch=config.max_batch,
    )
    return ProducerService(create_app(deps), publisher, registry)
