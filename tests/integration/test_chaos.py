"""The short fault suite on a broker of its own and the session database: restarts, kills, outage.

The same run as `python -m chaos --scenario short` (chaos/run.py): the whole axis as processes under
a steady load; the broker SIGKILLed, stopped gracefully and SIGKILLed again, a consumer and the
router SIGKILLed, PostgreSQL stopped, each for a few seconds. Nothing may be lost or doubled
(every delivery topic read to its end, read_committed, and every store, against the inbound
topic), every fault must be recovered from without restarting what it did not kill, and the
router's own /readyz and lag gauge must show the broker outages while they last. Recovery
times are printed, not asserted: they are figures (docs/reliability.md), not pass marks.

The broker is this test's own, not the session's: it is killed and restarted here, and a
broker left unusable by a failed run must not take every later test down with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.report import render
from chaos.run import SHORT, run
from tests.support.kafka import LocalKafka
from tests.support.postgres import LocalPostgres

pytestmark = pytest.mark.kafka


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A broker for the faults alone, on its own data dir and ports."""
    own = LocalKafka(home=tmp_path_factory.mktemp("chaos-kafka"))
    try:
        own.start()
        yield own
    finally:
        own.stop()


@pytest.mark.timeout(1200)
def test_the_axis_rides_out_broker_restarts_kills_and_a_database_outage(
    broker: LocalKafka, postgres: LocalPostgres, tmp_path: Path
) -> None:
    report = run(SHORT, broker, postgres, tmp_path, progress=print)
    print(render(report))
    audit = report.audit
    assert audit.documents_accepted > 0
    assert (audit.lost_on_wire, audit.lost_in_stores, audit.never_published) == (0, 0, 0)
    assert (audit.doubled_on_wire, audit.misrouted, audit.unexpected_in_stores) == (0, 0, 0)
    assert audit.receipts_stored == audit.receipts_expected
    assert audit.dlq_exact, (audit.dlq_expected, audit.dlq_found)
    for outcome in report.outcomes:
        assert outcome.resumed_at is not None, f"{outcome.fault.label}: no progress after healing"
        assert not outcome.notes, outcome.notes  # no service exited on its own
        if outcome.fault.kind.startswith("broker"):
            before, after = outcome.router_pids
            assert before == after, f"{outcome.fault.label}: the router was restarted"
            assert outcome.not_ready_seen, f"{outcome.fault.label}: /readyz said ready throughout"
            assert outcome.max_lag > 0, f"{outcome.fault.label}: the lag gauge never moved"
    assert report.ok
