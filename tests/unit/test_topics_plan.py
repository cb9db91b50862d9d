from __future__ import annotations

from pathlib import Path

from lienthong.directory.loader import load_directory
from lienthong.directory.model import Endpoint
from lienthong.plumbing.settings import TopicSettings
from lienthong.plumbing.topics import plan_topics

EXAMPLE = Path(__file__).parents[2] / "deploy" / "directory.example.yaml"


def test_plan_has_inbound_dlq_and_one_delivery_topic_per_endpoint() -> None:
    endpoints = [Endpoint("tinh-nghe-an", "Nghệ An"), Endpoint("vpcp", "VPCP")]
    plan = plan_topics(TopicSettings(), endpoints)
    assert [s.name for s in plan] == [
        "lienthong.inbound",
        "lienthong.dlq",
        "lienthong.deliver.tinh-nghe-an",
        "lienthong.deliver.vpcp",
    ]
    assert plan[0].partitions == 6
    assert plan[0].config["retention.ms"] == str(7 * 24 * 3600 * 1000)
    assert plan[1].partitions == 1
    assert plan[2].partitions == 3
    assert "min.insync.replicas" not in plan[0].config


def test_endpoint_topic_override_and_settings_are_honoured() -> None:
    settings = TopicSettings(
        delivery_prefix="axis.out.", replication_factor=3, min_insync_replicas=2
    )
    plan = plan_topics(
        settings,
        [
            Endpoint("btc", "Bộ Tài chính", topic="lienthong.deliver.btc-qlvb"),
            Endpoint("vpcp", "VPCP"),
        ],
    )
    names = [s.name for s in plan]
    assert "lienthong.deliver.btc-qlvb" in names
    assert "axis.out.vpcp" in names
    assert all(s.replication_factor == 3 for s in plan)
    assert all(s.config["min.insync.replicas"] == "2" for s in plan)


def test_example_directory_plans_every_endpoint() -> None:
    directory = load_directory(EXAMPLE)
    plan = plan_topics(TopicSettings(), directory.endpoints.values())
    assert len(plan) == 2 + len(directory.endpoints)
    assert len({s.name for s in plan}) == len(plan)
