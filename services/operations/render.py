"""What the operator commands print: tables for people, plain data for `--json`. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lienthong.operations.deadletters import DeadLetterRecord
from lienthong.operations.redeliver import PartitionRedelivery
from lienthong.operations.replay_log import ReplayPlan
from lienthong.operations.when import format_ms, iso_ms

_LIST_COLUMNS = ("P:OFFSET", "DLQ AT (UTC)", "REASON", "STAGE", "EVENT ID", "SENDER", "SOURCE")


def dead_letter_json(record: DeadLetterRecord, *, replayed: bool) -> dict[str, Any]:
    """Return one DLQ record's summary as plain data."""
    return {
        "partition": record.partition,
        "offset": record.offset,
        "dlq_at": iso_ms(record.at_ms),
        "reason": record.reason,
        "stage": record.stage,
        "error": record.error,
        "detail": record.detail,
        "event_id": record.event_id,
        "event_type": record.event_type,
        "sender": record.sender,
        "source": str(record.source) if record.source is not None else None,
        "replayed": replayed,
    }


def list_lines(
    records: Sequence[DeadLetterRecord], replayed: set[str], total: int, matching: int
) -> list[str]:
    """Return the `dlq list` table, then the summary by reason of every matching record."""
    rows = [
        (
            f"{r.partition}:{r.offset}",
            format_ms(r.at_ms),
            r.reason,
            r.stage,
            r.event_id or "-",
            r.sender or "-",
            (str(r.source) if r.source is not None else "-")
            + ("  (replayed)" if r.coordinates in replayed else ""),
        )
        for r in records
    ]
    lines = _table(_LIST_COLUMNS, rows) if rows else []
    shown = f"{len(records)} shown of {matching} matching" if len(records) < matching else ""
    lines.append("")
    lines.append(f"{matching} of {total} DLQ records match" + (f"; {shown}" if shown else ""))
    return lines


def summary_line(counts: dict[str, int]) -> str:
    """Return `by reason: unknown-recipient 3, bad-magic 1`."""
    if not counts:
        return "by reason: -"
    return "by reason: " + ", ".join(f"{reason} {n}" for reason, n in counts.items())


def replay_json(plan: ReplayPlan, *, dry_run: bool, log_topic: str) -> dict[str, Any]:
    """Return what a replay published (or would) and skipped, as plain data."""
    return {
        "dry_run": dry_run,
        "log_topic": log_topic,
        "replayed": [
            {
                "partition": item.record.partition,
                "offset": item.record.offset,
                "reason": item.record.reason,
                "stage": item.record.stage,
                "event_id": item.record.event_id,
                "target": item.topic,
            }
            for item in plan.republish
        ],
        "skipped": [
            {"partition": s.record.partition, "offset": s.record.offset, "why": s.why}
            for s in plan.skipped
        ],
    }


def replay_lines(plan: ReplayPlan, *, dry_run: bool) -> list[str]:
    """Return one line per selected record, then the totals."""
    verb = "would replay" if dry_run else "replayed"
    lines = [
        f"{verb:<12} {i.record.partition}:{i.record.offset}  {i.record.reason}"
        f"  {i.record.event_id or '-'}  -> {i.topic}"
        for i in plan.republish
    ]
    lines += [
        f"{'skipped':<12} {s.record.partition}:{s.record.offset}  {s.why}" for s in plan.skipped
    ]
    already = sum(s.why.startswith("already replayed") for s in plan.skipped)
    lines.append(
        f"{len(plan.republish)} {verb}, {already} already replayed,"
        f" {len(plan.skipped) - already} skipped"
        + ("; dry run: nothing was published" if dry_run else "")
    )
    return lines


def redelivery_json(
    topic: str,
    since_ms: int,
    until_ms: int | None,
    parts: Sequence[PartitionRedelivery],
    *,
    dry_run: bool,
) -> dict[str, Any]:
    """Return what `replay --endpoint` copied per partition, as plain data."""
    return {
        "topic": topic,
        "since": iso_ms(since_ms),
        "until": iso_ms(until_ms),
        "dry_run": dry_run,
        "partitions": [
            {
                "partition": p.partition,
                "first_offset": p.first,
                "end_offset": p.end,
                "redelivered": p.copied,
                "after_until": p.after_until,
                "repeated": p.repeated,
            }
            for p in parts
        ],
        "redelivered": sum(p.copied for p in parts),
    }


def redelivery_lines(parts: Sequence[PartitionRedelivery], *, dry_run: bool) -> list[str]:
    """Return one line per partition, then the total."""
    verb = "would be re-delivered" if dry_run else "re-delivered"
    lines = []
    for p in parts:
        if p.first >= p.end:
            lines.append(f"partition {p.partition}: no record since then")
            continue
        left_out = [
            f"{p.after_until} after --until" if p.after_until else "",
            f"{p.repeated} repeated event ids" if p.repeated else "",
        ]
        shown = ", ".join(part for part in left_out if part)
        lines.append(
            f"partition {p.partition}: offsets {p.first} to {p.end} (end), {p.copied} {verb}"
            + (f"; left out: {shown}" if shown else "")
        )
    total = sum(p.copied for p in parts)
    lines.append(
        f"{total} records {verb}" + ("; dry run: nothing was published" if dry_run else "")
    )
    return lines


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
