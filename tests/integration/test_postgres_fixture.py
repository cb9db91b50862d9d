"""The PostgreSQL test server: a fresh database per test, and crash-and-restart outages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg
import pytest

from tests.support.postgres import LocalPostgres

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.postgres


@pytest.fixture
def own_server() -> Iterator[LocalPostgres]:
    """A server of this test's own, which it may crash without disturbing the session's."""
    server = LocalPostgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


def test_each_test_gets_an_empty_database(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, connect_timeout=10) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        conn.execute("CREATE TABLE outbox (id bigserial PRIMARY KEY, body text NOT NULL)")
        conn.execute("INSERT INTO outbox (body) VALUES ('hello')")
    assert name is not None
    assert name[0] != "postgres"
    assert postgres_url.endswith("/" + name[0])
    assert tables == (0,)


def test_server_listens_on_loopback_only(postgres: LocalPostgres) -> None:
    with psycopg.connect(postgres.url, connect_timeout=10) as conn:
        row = conn.execute("SELECT current_setting('listen_addresses')").fetchone()
    assert row == ("127.0.0.1",)


def test_committed_rows_survive_an_immediate_stop(own_server: LocalPostgres) -> None:
    url = own_server.create_database("outage")
    with psycopg.connect(url, connect_timeout=10) as conn:
        conn.execute("CREATE TABLE outbox (id int PRIMARY KEY, body text NOT NULL)")
        conn.execute("INSERT INTO outbox SELECT i, 'row ' || i FROM generate_series(1, 100) i")

    own_server.stop("immediate")  # no shutdown checkpoint: a crash

    assert not own_server.running
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2).close()

    own_server.start()  # crash recovery on the same data directory

    with psycopg.connect(url, connect_timeout=10) as conn:
        count = conn.execute("SELECT count(*), max(body) FROM outbox").fetchone()
    assert count == (100, "row 99")


def test_fast_stop_and_start_again(own_server: LocalPostgres) -> None:
    url = own_server.create_database("restart")
    with psycopg.connect(url, connect_timeout=10) as conn:
        conn.execute("CREATE TABLE t AS SELECT 42 AS answer")
    own_server.stop("fast")
    own_server.start()
    with psycopg.connect(url, connect_timeout=10) as conn:
        assert conn.execute("SELECT answer FROM t").fetchone() == (42,)
