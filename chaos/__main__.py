"""`python -m chaos`: the fault suite on a broker and a PostgreSQL server of its own.

Example: python -m chaos --scenario full --json build/chaos/full.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from chaos.report import as_json, render
from chaos.run import SCENARIOS, run
from lienthong.devtools.kafka import LocalKafka
from tests.support.postgres import LocalPostgres


def main(argv: list[str] | None = None) -> int:
    """Run one scenario and print its report; exit 1 if anything was lost, doubled or stuck."""
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="full")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, data)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="lienthong-chaos-"))
    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {line}", flush=True)

    progress(f"work dir {workdir}; starting Kafka and PostgreSQL")
    with LocalKafka(home=workdir / "kafka") as kafka, LocalPostgres() as postgres:
        report = run(SCENARIOS[args.scenario], kafka, postgres, workdir, progress=progress)
    print(render(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(as_json(report), indent=2) + "\n", encoding="utf-8")
    if not args.keep and report.ok:
        import shutil  # noqa: PLC0415 - only for a clean exit

        shutil.rmtree(workdir, ignore_errors=True)
    elif not report.ok:
        print(f"logs kept in {workdir / 'logs'}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
