"""docs/contract.md holds: its byte dump and fingerprints are ours; versions read each other."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.validation import validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lienthong.contract.schemas import EventType, SchemaStore, SchemaVersion, load_versions
from tests.support.avro_strategies import from_schema
from tests.unit.test_schemas import OLD

ROOT = Path(__file__).parents[2]
DOCS = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
STORE = SchemaStore.from_package()
# The package's versions and the v0 test fixture: a subscriber may keep any of them.
KEPT = [*load_versions(OLD), *STORE.versions()]
PAIRS = [
    (a, b)
    for a, b in itertools.permutations(KEPT, 2)
    if a.event_type is b.event_type and a.fingerprint != b.fingerprint
]


def test_the_byte_dump_is_the_golden_status_vector() -> None:
    dump = DOCS.split("document 7816/VPCP-KSTT is 284 bytes", 1)[1].split("```\n", 2)[1]
    hex_bytes = "".join(re.findall(r"^[0-9a-f]{4}  ((?:[0-9a-f]{2} ?)+)", dump, re.MULTILINE))
    golden = (ROOT / "tests" / "unit" / "golden" / "status.v1.hex").read_text().strip()
    assert bytes.fromhex(hex_bytes.replace(" ", "")) == bytes.fromhex(golden)


@pytest.mark.parametrize("event_type", list(EventType))
def test_the_fingerprint_table_is_the_current_schemas(event_type: EventType) -> None:
    current = STORE.current(event_type)
    java_long = hex(int.from_bytes(current.fingerprint, "little"))
    row = f"| `{event_type.schema_name.rsplit('.', 1)[1]}` | `v{current.version}/"
    assert f"`{current.fingerprint_hex}` | `{java_long}` |" in DOCS.split(row, 1)[1].split("\n")[0]


@pytest.mark.parametrize(
    ("writer", "reader"),
    PAIRS,
    ids=[f"{w.event_type}-v{w.version}-as-v{r.version}" for w, r in PAIRS],
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_kept_version_reads_every_other_of_its_type(
    writer: SchemaVersion, reader: SchemaVersion, data: st.DataObject
) -> None:
    record = data.draw(from_schema(writer.parsed))
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, writer.parsed, record)
    buf.seek(0)
    read = fastavro.schemaless_reader(buf, writer.parsed, reader.parsed)
    assert validate(read, reader.parsed)
    _assert_shared_equal(read, record)


def _assert_shared_equal(read: Any, written: Any) -> None:
    """Check every field both versions have kept its value, at any depth."""
    if isinstance(read, dict) and isinstance(written, dict):
        for key in read.keys() & written.keys():
            _assert_shared_equal(read[key], written[key])
    elif isinstance(read, list) and isinstance(written, list):
        assert len(read) == len(written)
        for r, w in zip(read, written, strict=True):
            _assert_shared_equal(r, w)
    else:
        assert read == written
