"""Whose documents an event may speak of: its sender's own, and no one else's. Pure.

An edXML document id begins with its sender's agency code (`000.00.00.G22,2026/11/25,7816/
VPCP-KSTT`). A NEW, UPDATE, REVOKE or REPLACE names, in its `document_id`, the sender's own
document; a REPLACE also names in `replacements` the documents it replaces, which must be the
sender's too: otherwise one agency's key could mark another agency's document replaced in every
recipient's store. The API (422), the router (dead letter `foreign-document`, the sender told
with a 02) and the consumer (dead letter `foreign-document`) apply this same check, so the raw
Kafka path is held to it as well as the API.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

REASON = "foreign-document"


def _owned(document_id: str, sender: str) -> bool:
    return document_id.startswith(f"{sender},")


def foreign_documents(record: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield (JSON pointer, message) for each document a Document event names but may not."""
    sender = record["from_organ"]["organ_id"]
    if not _owned(record["document_id"], sender):
        yield (
            "/document_id",
            f"must be the sender's edXML id '{sender},yyyy/MM/dd,Number/Notation'",
        )
    for i, replaced in enumerate(record["business"]["replacements"]):
        if not _owned(replaced["document_id"], sender):
            message = (
                f"{replaced['document_id']} is not a document of {sender}: an agency replaces"
                " only its own documents"
            )
            yield f"/business/replacements/{i}/document_id", message
