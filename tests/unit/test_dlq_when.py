from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lienthong.operations.when import format_ms, iso_ms, parse_when, to_ms

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW - timedelta(hours=2)),
        ("30m", NOW - timedelta(minutes=30)),
        ("1d", NOW - timedelta(days=1)),
        ("45s", NOW - timedelta(seconds=45)),
        ("1w", NOW - timedelta(weeks=1)),
        (" 2H ", NOW - timedelta(hours=2)),
        ("0m", NOW),
        ("now", NOW),
        ("2026-11-26T08:30:00Z", datetime(2026, 11, 26, 8, 30, tzinfo=UTC)),
        ("2026-11-26T15:30:00+07:00", datetime(2026, 11, 26, 8, 30, tzinfo=UTC)),
        ("2026-11-26T08:30:00", datetime(2026, 11, 26, 8, 30, tzinfo=UTC)),
        ("2026-11-26 08:30:00.250", datetime(2026, 11, 26, 8, 30, 0, 250_000, tzinfo=UTC)),
        ("2026-11-26", datetime(2026, 11, 26, tzinfo=UTC)),
    ],
)
def test_parse_when_reads_iso_and_relative_forms_as_utc(text: str, expected: datetime) -> None:
    parsed = parse_when(text, NOW)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("text", ["", "2x", "yesterday", "-2h", "2 hours", "2026-13-01", "h2"])
def test_parse_when_refuses_anything_else_and_says_what_it_accepts(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time: use ISO 8601") as caught:
        parse_when(text, NOW)
    assert "30m" in str(caught.value)


def test_milliseconds_render_in_utc_for_tables_and_json() -> None:
    ms = to_ms(datetime(2026, 11, 26, 8, 30, 15, 123_000, tzinfo=UTC))
    assert ms == 1795681815123
    assert format_ms(ms) == "2026-11-26 08:30:15.123"
    assert iso_ms(ms) == "2026-11-26T08:30:15.123Z"
    assert format_ms(None) == "-"
    assert format_ms(-1) == "-"
    assert iso_ms(None) is None
