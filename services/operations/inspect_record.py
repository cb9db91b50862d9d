"""`dlq show`: one record in full, its body decoded when it decodes. Pure."""

from __future__ import annotations

import json
from typing import Any

from lienthong.contract.codec import Codec
from lienthong.contract.errors import DecodeError
from lienthong.contract.jsonform import to_json
from lienthong.operations.when import format_ms, iso_ms
from lienthong.plumbing.envelope import Envelope

HEAD_BYTES = 64


def _text(data: bytes | None) -> tuple[str | None, str]:
    """Return (value, encoding): UTF-8 text when it is, else hex."""
    if data is None:
        return None, "null"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.hex(), "hex"


def describe_body(codec: Codec, value: bytes | None) -> dict[str, Any]:
    """Return the decoded body, or its first bytes in hex and why it does not decode."""
    data = value or b""
    try:
        decoded = codec.decode(data)
    except DecodeError as exc:
        return {
            "decoded": False,
            "size": len(data),
            "reason": exc.reason,
            "error": str(exc),
            "head_hex": data[:HEAD_BYTES].hex(" "),
        }
    return {
        "decoded": True,
        "size": len(data),
        "event_type": decoded.event_type.value,
        "schema_version": decoded.writer.version,
        "record": to_json(decoded.record),
    }


def record_json(envelope: Envelope, codec: Codec) -> dict[str, Any]:
    """Return a DLQ record in full: coordinates, key, every header in order, the body."""
    key, key_encoding = _text(envelope.key)
    headers = []
    for name, raw in envelope.headers:
        value, encoding = _text(raw)
        headers.append({"name": name, "value": value, "encoding": encoding})
    return {
        "topic": envelope.topic,
        "partition": envelope.partition,
        "offset": envelope.offset,
        "timestamp": iso_ms(envelope.timestamp_ms),
        "key": key,
        "key_encoding": key_encoding,
        "headers": headers,
        "body": describe_body(codec, envelope.value),
    }


def record_lines(data: dict[str, Any]) -> list[str]:
    """Render `record_json` for people: headers aligned, the body as indented JSON."""
    lines = [
        f"record     {data['topic']}[{data['partition']}]@{data['offset']}",
        f"timestamp  {data['timestamp'] or '-'}",
        f"key        {data['key'] if data['key'] is not None else '-'}"
        + (" (hex)" if data["key_encoding"] == "hex" else ""),
        "headers",
    ]
    width = max((len(h["name"]) for h in data["headers"]), default=0)
    for header in data["headers"]:
        value = header["value"] if header["value"] is not None else "-"
        if header["name"].endswith(("-at", "occurred-at")) and str(value).isdigit():
            value = f"{value}  ({format_ms(int(value))} UTC)"
        hexed = " (hex)" if header["encoding"] == "hex" else ""
        lines.append(f"  {header['name']:<{width}}  {value}{hexed}")
    body = data["body"]
    if body["decoded"]:
        lines.append(
            f"body       {body['event_type']} v{body['schema_version']}, {body['size']} bytes"
        )
        lines.extend(json.dumps(body["record"], indent=2, ensure_ascii=False).splitlines())
    else:
        lines.append(f"body       does not decode ({body['reason']}): {body['error']}")
        lines.append(
            f"first {min(HEAD_BYTES, body['size'])} of {body['size']} bytes: {body['head_hex']}"
        )
    return lines
