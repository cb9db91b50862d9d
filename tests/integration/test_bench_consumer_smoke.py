"""The consumer benchmark's code path with tiny counts: it runs, not how fast it runs."""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path

from bench.consumer import Fresh, render, report, run
from tests.support.kafka import unique_name
from tests.support.postgres import LocalPostgres

COUNT = 30


def test_every_consumer_figure_is_measured_on_both_databases(
    kafka_bootstrap: str, postgres: LocalPostgres, tmp_path: Path
) -> None:
    files = count()
    databases: dict[str, Fresh] = {
        "PostgreSQL": lambda: postgres.create_database(unique_name("bench").replace("-", "_")),
        "SQLite": lambda: f"sqlite:///{tmp_path / f'bench-{next(files)}.sqlite'}",
    }
    figures, size = run(kafka_bootstrap, databases, COUNT, tmp_path)

    assert [f.name for f in figures] == [
        "ceiling: raw binary COPY -> PostgreSQL",
        "ceiling: Store.apply -> PostgreSQL",
        "ours: consumer -> PostgreSQL",
        "ceiling: raw executemany -> SQLite",
        "ceiling: Store.apply -> SQLite",
        "ours: consumer -> SQLite",
    ]
    for figure in figures:
        # The same rows everywhere: each document, four attachments, two receipts.
        assert figure.events == COUNT, figure
        assert figure.rows["lt_documents"] == COUNT
        assert figure.rows["lt_document_attachments"] == 4 * COUNT
        assert figure.rows["lt_outbox"] == 2 * COUNT
        assert figure.seconds > 0
    assert all("consumer" in f.cpu for f in figures if f.kind == "ours")
    assert 1500 < size < 2500

    result = report(figures, COUNT, size, (0.0, 0.0))
    assert [a["aim"] for a in result["aims"]] == [
        "issue 5: consumer -> PostgreSQL >= 50% of the bulk-insert (binary COPY) ceiling"
    ]
    assert json.loads(json.dumps(result))["figures"][0]["events"] == COUNT
    assert "| ours: consumer -> SQLite | 30 |" in render(result, figures)
