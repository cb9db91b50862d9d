"""The contract read by the Apache Avro Java library alone (docs/contract.md's Java snippet).

Needs Java 17+ and Maven (both required by `make test` already), and Maven Central or a warm
~/.m2 for org.apache.avro:avro; no broker. About 10 s: Maven resolves the classpath, then
`java` runs the one source file of tests/contract_java/ on bytes our codec wrote.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from lienthong.contract import examples
from lienthong.contract.codec import Codec
from lienthong.contract.schemas import EventType, SchemaStore, load_versions
from tests.support.kafka import REPO_ROOT

PROJECT = REPO_ROOT / "tests" / "contract_java"
SOURCE = PROJECT / "src" / "main" / "java" / "gov" / "lienthong" / "example" / "ReadDelivered.java"
GOLDEN = REPO_ROOT / "tests" / "unit" / "golden"
OLD = REPO_ROOT / "tests" / "unit" / "fixtures" / "avro_v0"
DOCS = REPO_ROOT / "docs" / "contract.md"
EXAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "Document": examples.document,
    "Report": examples.report,
    "Status": examples.status,
}
_EPOCH_DAY = date(1970, 1, 1)


def avro_json(value: Any) -> Any:
    """Return a record as Avro's Java GenericData prints it: logical types as their base type."""
    if isinstance(value, dict):
        return {k: avro_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [avro_json(v) for v in value]
    if isinstance(value, datetime):
        return int(value.astimezone(UTC).timestamp() * 1000)
    if isinstance(value, date):
        return (value - _EPOCH_DAY).days
    if isinstance(value, UUID):
        return str(value)
    return value


@pytest.fixture(scope="module")
def classpath(tmp_path_factory: pytest.TempPathFactory) -> str:
    for tool in ("java", "mvn"):
        assert shutil.which(tool), f"{tool} not found: deploy/local/system-deps.sh install"
    out = tmp_path_factory.mktemp("java") / "classpath.txt"
    goal = ["dependency:build-classpath", f"-Dmdep.outputFile={out}"]
    done = subprocess.run(
        ["mvn", "-B", "-q", "-Dstyle.color=never", "-f", str(PROJECT / "pom.xml"), *goal],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out.read_text(encoding="utf-8").strip()


def _java(classpath: str, values: list[bytes], *roots: Path) -> list[str]:
    done = subprocess.run(
        ["java", "-cp", classpath, str(SOURCE), *map(str, roots)],
        input="".join(v.hex() + "\n" for v in values),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


# Its fixture may let Maven resolve for up to 600 s on a cold ~/.m2, then `java` runs for up to
# 120 s: more than the suite's 300 s.
@pytest.mark.timeout(780)
def test_java_decodes_the_golden_vectors_into_the_examples(classpath: str) -> None:
    names = ["Document", "Report", "Status"]
    values = [bytes.fromhex((GOLDEN / f"{n.lower()}.v1.hex").read_text().strip()) for n in names]
    old = examples.document()
    for dropped in ("content_summary", "to_places", "attachments"):
        del old[dropped]
    del old["other_info"]["appendixes"]
    values.append(Codec(SchemaStore(load_versions(OLD))).encode(EventType.DOCUMENT, old))
    values.append(values[2][:2] + b"\xab" * 8 + values[2][10:])

    lines = _java(classpath, values, REPO_ROOT / "schemas" / "avro", OLD)

    assert len(lines) == 5
    for name, line in zip(names, lines, strict=False):
        kind, record = line.split("\t")
        assert kind == name
        assert json.loads(record) == avro_json(EXAMPLES[name]())
    # A v0 writer, resolved by its fingerprint and read into v1: the new fields get defaults.
    kind, record = lines[3].split("\t")
    expected = avro_json(examples.document())
    expected.update(content_summary=None, to_places=[], attachments=[])
    expected["other_info"]["appendixes"] = []
    assert (kind, json.loads(record)) == ("Document", expected)
    assert lines[4] == "unknown fingerprint 0xabababababababab"


def test_the_java_snippet_of_the_docs_is_the_tested_program() -> None:
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("```java\n", 1)[1].split("```", 1)[0]
    program = SOURCE.read_text(encoding="utf-8")
    for line in block.splitlines():
        if line.strip() and line.strip() != "...":
            assert line in program, f"docs/contract.md's Java line is not in {SOURCE.name}: {line}"
