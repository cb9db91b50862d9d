"""Print a run's report: each fault's recovery, then the audit; and the same as JSON."""

from __future__ import annotations

from typing import Any

from chaos.run import Report

# The aim for the router after a broker comes back (issue: routing resumes within 15 s).
ROUTER_AIM_S = 15.0


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def render(report: Report) -> str:
    """Return the human-readable report."""
    lines = [
        (
            f"Fault suite '{report.scenario.name}': {len(report.outcomes)} faults under"
            f" {report.scenario.rate:g} documents/s, {report.seconds:.0f} s in all"
        ),
        "",
        f"{'fault':<42} {'back after':>11} {'away':>9}  seen during the fault",
    ]
    for o in report.outcomes:
        seen = []
        if o.fault.kind.startswith("broker"):
            seen.append("router not ready" if o.not_ready_seen else "router READY throughout")
            seen.append(f"lag up to {o.max_lag:,.0f}")
            before, after = o.router_pids
            seen.append("router not restarted" if before == after else "ROUTER RESTARTED")
            router = [s for name, s in o.each.items() if name.startswith("router")]
            if router:
                seen.append(f"router back after {max(router):.1f} s")
        seen.extend(o.notes)
        lines.append(
            f"{o.fault.label:<42} {_seconds(o.recovery_s):>11} {_seconds(o.away_s):>9}  "
            + ", ".join(seen)
        )
    a = report.audit
    retries = f"(retries {report.offered.retries:,}, {report.offered.ambiguous:,} ambiguous)"
    lines += [
        "",
        f"documents accepted by the API   {a.documents_accepted:>8,}   {retries}",
        f"unroutable sent to Kafka        {a.unroutable_published:>8,}",
        f"events on the inbound topic     {a.inbound_events:>8,}   {_republished(a.republished)}",
        f"copies expected / delivered     {a.expected_copies:>8,} / {a.delivered_copies:,}",
        (
            f"lost: on the wire {a.lost_on_wire}, in stores {a.lost_in_stores},"
            f" accepted but never published {a.never_published}"
        ),
        (
            f"doubled on the wire {a.doubled_on_wire}; misrouted {a.misrouted};"
            f" unexpected in stores {a.unexpected_in_stores}"
        ),
        f"receipts expected / stored      {a.receipts_expected:>8,} / {a.receipts_stored:,}",
        (
            f"dead letters expected / found   {a.dlq_expected:>8,} / {a.dlq_found:,}"
            f"   {'exact' if a.dlq_exact else 'NOT EXACT'}"
        ),
        "",
        "RESULT: " + ("ok" if report.ok else "FAILED"),
    ]
    return "\n".join(lines)


def _republished(counts: dict[str, int]) -> str:
    kinds = ", ".join(f"{n} {kind}(s)" for kind, n in sorted(counts.items())) or "none"
    return f"published more than once: {kinds}"


def as_json(report: Report) -> dict[str, Any]:
    """Return the report as plain data."""
    return {
        "scenario": report.scenario.name,
        "rate": report.scenario.rate,
        "seconds": round(report.seconds, 1),
        "ok": report.ok,
        "faults": [
            {
                "fault": o.fault.label,
                "kind": o.fault.kind,
                "recovery_s": None if o.recovery_s is None else round(o.recovery_s, 2),
                "away_s": None if o.away_s is None else round(o.away_s, 2),
                "router_not_ready_seen": o.not_ready_seen,
                "router_max_lag": o.max_lag,
                "router_restarted": o.router_pids[0] != o.router_pids[1],
                "each_s": o.each,
                "notes": o.notes,
            }
            for o in report.outcomes
        ],
        "audit": report.audit.as_dict(),
        "retries": report.offered.retries,
        "ambiguous": report.offered.ambiguous,
    }
