"""Codec throughput for a typical ~2 KB document, beside bare fastavro as the ceiling.

Run: .venv/bin/python -m bench.codec [--seconds 3]
The ceiling is fastavro's schemaless writer/reader on the same record and schema, without the
single-object header, fingerprint lookup and error wrapping our codec adds.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import time
from collections.abc import Callable

import fastavro

from lienthong.contract import examples
from lienthong.contract.codec import HEADER_LEN, Codec
from lienthong.contract.schemas import EventType, SchemaStore


def rate(func: Callable[[], object], seconds: float) -> float:
    """Return calls per second of `func`, measured for about `seconds`."""
    for _ in range(200):  # warm up
        func()
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(500):
            func()
        calls += 500
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def main() -> None:
    """Measure and print the table, and a JSON line for scripts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()

    codec = Codec(SchemaStore.from_package())
    record = examples.document(attachments=4)
    value = codec.encode(EventType.DOCUMENT, record)
    schema = codec.store.current(EventType.DOCUMENT).parsed
    body = value[HEADER_LEN:]

    def bare_encode() -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, record)
        return buf.getvalue()

    figures = {
        "encode": rate(lambda: codec.encode(EventType.DOCUMENT, record), args.seconds),
        "encode_ceiling": rate(bare_encode, args.seconds),
        "decode": rate(lambda: codec.decode(value), args.seconds),
        "decode_ceiling": rate(
            lambda: fastavro.schemaless_reader(io.BytesIO(body), schema), args.seconds
        ),
    }
    print(
        f"document size: {len(value)} bytes; cores: {os.cpu_count()}; {platform.python_version()}"
    )
    print(f"{'operation':<8} {'ours/s':>10} {'fastavro/s':>11} {'ratio':>6}")
    for op in ("encode", "decode"):
        ours, ceiling = figures[op], figures[f"{op}_ceiling"]
        print(f"{op:<8} {ours:>10,.0f} {ceiling:>11,.0f} {ours / ceiling:>6.2f}")
    print(json.dumps({"bytes": len(value), **{k: round(v) for k, v in figures.items()}}))


if __name__ == "__main__":
    main()
