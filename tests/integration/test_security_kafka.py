"""What each principal may do on the real secured broker, with the ACLs the directory plans.

Endpoints are the principals that matter most: an agency's system must read its own mail and
nobody else's, and must not be able to forge a delivery. The module provisions one deployment
(`lienthong acls apply`, `lienthong users apply`) and connects as its principals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer

from lienthong.plumbing.settings import KafkaSettings
from lienthong.security.kafka_acls import delete_acls, read_acls
from lienthong.security.principals import consumer_user, endpoint_user, principal
from tests.support.kafka import admin_client, unique_name
from tests.support.principals import provision
from tests.support.router import Deployment, client_config, deploy

A, B = "tinh-nghe-an", "tp-ha-noi"


@pytest.fixture
def provisioned(kafka_admin: KafkaSettings, tmp_path: Path) -> tuple[Deployment, Path]:
    dep = deploy(kafka_admin)
    secrets = tmp_path / "secrets"
    provision(dep.env("unused"), secrets)
    return dep, secrets


def _as(provisioned: tuple[Deployment, Path], user: str) -> dict[str, Any]:
    dep, secrets = provisioned
    kafka = dep.kafka.model_copy(
        update={"sasl_username": user, "sasl_password_file": secrets / f"{user}.password"}
    )
    return client_config(kafka)


def _group(dep: Deployment, endpoint: str) -> str:
    """The group of the endpoint's persisting consumer (`lienthong consumer run`)."""
    return f"{dep.settings.consumer.group_prefix}-{endpoint}"


def _client_group(dep: Deployment, endpoint: str) -> str:
    """A group in the endpoint's own namespace, as its agency clients choose them."""
    return f"{_group(dep, endpoint)}.{unique_name('agency')}"


def _assigned(consumer: Consumer) -> bool:
    consumer.poll(0.2)
    return consumer.assignment() != []


def _wait(check: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s: {what}")
        time.sleep(0.1)


def _consume_error(config: dict[str, Any], topic: str, group: str) -> KafkaError:
    """Subscribe and poll until the broker's refusal arrives; return it."""
    consumer = Consumer({**config, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error: KafkaError | None = message.error()
            assert error is not None, "a record was read where none may be"
            return error
        pytest.fail("no refusal within 30 s")
    finally:
        consumer.close()


def _produce_error(config: dict[str, Any], topic: str) -> KafkaError | None:
    producer = Producer({**config, "message.timeout.ms": 10_000})
    errors: list[KafkaError | None] = []
    producer.produce(topic, b"forged", on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(20)
    assert errors, "no delivery report"
    return errors[0]


def test_an_endpoint_cannot_read_another_endpoints_delivery_topic_or_join_its_group(
    provisioned: tuple[Deployment, Path],
) -> None:
    dep, _ = provisioned
    as_a = _as(provisioned, endpoint_user(A))
    theirs = dep.delivery_topics()[B]
    error = _consume_error(as_a, theirs, _client_group(dep, A))
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error
    for group in (_client_group(dep, B), _group(dep, B), _group(dep, A)):
        # B's groups; and its own consumer's group, which is the consumer principal's alone.
        error = _consume_error(as_a, dep.delivery_topics()[A], group)
        assert error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, (group, error)
    # Its own topic, in its own groups: allowed (nothing to read yet: no error either).
    for user, group in (
        (endpoint_user(A), _client_group(dep, A)),
        (consumer_user(A), _group(dep, A)),
    ):
        consumer = Consumer(
            {**_as(provisioned, user), "group.id": group, "auto.offset.reset": "earliest"}
        )
        consumer.subscribe([dep.delivery_topics()[A]])
        try:
            _wait(partial(_assigned, consumer), f"{user} assigned")
        finally:
            consumer.close()


def test_an_endpoint_cannot_write_any_delivery_topic_or_the_dlq_only_inbound(
    provisioned: tuple[Deployment, Path],
) -> None:
    dep, _ = provisioned
    as_a, its_consumer = _as(provisioned, endpoint_user(A)), _as(provisioned, consumer_user(A))
    for config in (as_a, its_consumer):
        for endpoint in (A, B):  # not even its own: only the router delivers
            error = _produce_error(config, dep.delivery_topics()[endpoint])
            assert error is not None
            assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error
        assert _produce_error(config, dep.settings.topics.inbound) is None  # events, receipts
    # The DLQ, which operators replay, holds only what the router or a consumer put there.
    error = _produce_error(as_a, dep.settings.topics.dlq)
    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error
    assert _produce_error(its_consumer, dep.settings.topics.dlq) is None
    # Committing offsets for B's group needs READ on that group, which the first test shows
    # A is refused (GROUP_AUTHORIZATION_FAILED); librdkafka's commit outside a subscription
    # only waits for the coordinator it may not use, so it is not asserted here.


def test_a_stranger_sees_no_topic_and_a_wrong_password_is_refused(
    provisioned: tuple[Deployment, Path],
) -> None:
    dep, secrets = provisioned
    wrong = secrets / "wrong.password"
    wrong.write_text("not-the-password", encoding="utf-8")
    kafka = dep.kafka.model_copy(
        update={"sasl_username": endpoint_user(A), "sasl_password_file": wrong}
    )
    refused = Consumer({**client_config(kafka), "group.id": unique_name("stranger")})
    try:
        with pytest.raises(Exception, match=r"Authentication failed|_AUTHENTICATION|transport"):
            refused.list_topics(timeout=10)
    finally:
        refused.close()
    # Authenticated, an endpoint sees only the topics it has rights on.
    seen = Consumer({**_as(provisioned, endpoint_user(A)), "group.id": unique_name("g")})
    try:
        topics = set(seen.list_topics(timeout=10).topics)
    finally:
        seen.close()
    assert dep.delivery_topics()[A] in topics
    assert dep.delivery_topics()[B] not in topics


def test_a_revoked_endpoint_is_cut_off_while_connected_without_a_restart(
    provisioned: tuple[Deployment, Path], kafka_admin: KafkaSettings
) -> None:
    dep, _ = provisioned
    as_a = _as(provisioned, endpoint_user(A))
    mine = dep.delivery_topics()[A]
    feed = Producer(client_config(kafka_admin))
    consumer = Consumer(
        {**as_a, "group.id": _client_group(dep, A), "auto.offset.reset": "earliest"}
    )
    producer = Producer({**as_a, "message.timeout.ms": 10_000})
    consumer.subscribe([mine])
    try:
        feed.produce(mine, b"before")
        feed.flush(10)
        got: list[bytes] = []

        def read_one() -> bool:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                got.append(message.value() or b"")
            return bool(got)

        _wait(read_one, "the endpoint reads its own mail")
        # Revoke: the endpoint's ACLs go (what `acls apply` does once it leaves the directory).
        admin = admin_client(kafka_admin)
        existing, _ = read_acls(admin, timeout_s=15)
        theirs = {acl for acl in existing if acl.principal == principal(endpoint_user(A))}
        assert theirs
        revoked_at = time.monotonic()
        delete_acls(admin, theirs, timeout_s=15)
        # Records keep coming; what the endpoint's next requests get is the refusal (a fetch
        # in the moment before the ACLs reach the authorizer may still be answered).
        feed.produce(mine, b"after")
        feed.flush(10)
        errors: list[KafkaError] = []

        def refused() -> bool:
            message = consumer.poll(0.2)
            error = None if message is None else message.error()
            if error is not None:
                errors.append(error)
            return bool(errors)

        _wait(refused, "the live consumer is refused", timeout_s=30)
        assert errors[0].code() in (
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
            KafkaError.GROUP_AUTHORIZATION_FAILED,
        ), errors[0]
        outcome: list[KafkaError | None] = []
        producer.produce(
            dep.settings.topics.inbound, b"x", on_delivery=lambda e, _m: outcome.append(e)
        )
        producer.flush(20)
        assert outcome, "no delivery report"
        assert outcome[0] is not None, "the live producer still writes"
        assert time.monotonic() - revoked_at < 30
    finally:
        consumer.close()
