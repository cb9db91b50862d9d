"""The names of the groups, transactional ids and topics each service uses, from settings.

Each mirrors how the service itself builds the name (the function or line named beside it);
tests/unit/test_acl_plan.py checks the ones a function builds against that function.
"""

from __future__ import annotations

from lienthong.operations.kafka_replay import replay_log_topic, replay_transactional_id
from lienthong.plumbing.settings import Settings

# Ends an endpoint's (or a reader's) namespace of agency-client groups. A dot, because
# endpoint ids are mostly hyphenated (bo-nganh, bo-tai-chinh): with a hyphen, endpoint `bo`
# would own every group of `bo-nganh`. An id may still contain dots (`a` and `a.b`); the
# plan denies the shorter one the longer one's names (see acls._deny_overlaps).
NAMESPACE_END = "."
# lienthong.subscriber.subscriber.Subscriber: a group's default dead-letter topic.
CLIENT_DEAD_LETTER_PREFIX = "lienthong.dlq."
# lienthong.operations.kafka_read.TopicReader: operator tools join no group, but librdkafka
# needs a group id, and asks for its coordinator; each reader makes a unique one under this.
OPERATOR_GROUP_PREFIX = "lienthong-ops-"


def consumer_group(settings: Settings, name: str) -> str:
    """Return the group of `lienthong consumer run` for an endpoint (or `archive` for --all)."""
    # lienthong.consumer.bootstrap.build_consumer: f"{config.group_prefix}-{name}".
    return f"{settings.consumer.group_prefix}-{name}"


def client_groups(settings: Settings, name: str) -> str:
    """Return the prefix of the groups an endpoint's agency clients may use (`subscribe`)."""
    return consumer_group(settings, name) + NAMESPACE_END


def client_dead_letters(settings: Settings, name: str) -> str:
    """Return the prefix of the default dead-letter topics of those clients' groups."""
    return CLIENT_DEAD_LETTER_PREFIX + client_groups(settings, name)


def router_transactional_ids(settings: Settings) -> str:
    """Return the prefix of every router instance's transactional id."""
    # lienthong.router.bootstrap.transactional_id: f"{group_id}-{instance id or host name}".
    return f"{settings.router.group_id}-"


def replay_log(settings: Settings) -> str:
    """Return the default replay log topic of the DLQ."""
    return replay_log_topic(settings.topics)


def replay_transaction(settings: Settings) -> str:
    """Return the transactional id every DLQ replay of the default log shares."""
    return replay_transactional_id(replay_log(settings))
