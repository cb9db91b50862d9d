from __future__ import annotations

from tests.support.environ import inherited_env


def test_a_developers_settings_do_not_reach_the_tests_processes() -> None:
    shell = {
        "PATH": "/usr/bin",
        "LIENTHONG_KAFKA_BOOTSTRAP": "elsewhere:9092",
        "LIENTHONG_LOCAL_PG_BIN": "/opt/pg/bin",
    }
    assert inherited_env(shell) == {"PATH": "/usr/bin", "LIENTHONG_LOCAL_PG_BIN": "/opt/pg/bin"}
