"""Pydantic models of the JSON API, generated from the current Avro schemas: one source of truth.

The API's validation, its OpenAPI document and the Avro encoding all follow the .avsc files, so
a field added to a schema appears in all three without hand-written mirrors to keep in step.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    AllowInfNan,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    create_model,
)

from lienthong.contract.schemas import EventType, ParsedSchema, SchemaStore
from lienthong.contract.text import PLAIN_TEXT_PATTERN, unsafe_character


def _not_text(value: Any) -> Any:
    if isinstance(value, str | bool):
        raise ValueError("Input should be a valid integer, not a string or boolean")  # noqa: TRY004 - pydantic turns ValueError into a 422 entry
    return value


def _text_only(value: Any) -> Any:
    if not isinstance(value, str):
        # Pydantic would take a number as seconds since 1970: `"occurred_at": 123` is 1970.
        raise ValueError("Input should be an RFC 3339 string, e.g. 2026-11-25T08:30:00+07:00")  # noqa: TRY004 - pydantic turns ValueError into a 422 entry
    return value


def _plain_text(value: str) -> str:
    found = unsafe_character(value)
    if found is not None:
        raise ValueError(f"text may not contain {found}")
    return value


# JSON's own types only: "0" is not a revision number. As in JSON Schema, 10.0 is an integer
# and a float field takes 15210 (JSON writers print 15210.0 so). Each integer fits its Avro
# type: a Java reader cannot read an `int` of 2**40, and every subscriber would choke on it.
JsonInt = Annotated[int, Ge(-(2**31)), Le(2**31 - 1), BeforeValidator(_not_text)]
JsonLong = Annotated[int, Ge(-(2**63)), Le(2**63 - 1), BeforeValidator(_not_text)]
# NaN and Infinity are not numbers a report can mean; stores would keep them as NULL.
JsonFloat = Annotated[float, AllowInfNan(False)]
# No control character but tab and line feed, no bidi override: what a recipient's screen or
# terminal shows must be what was sent.
Text = Annotated[
    StrictStr,
    AfterValidator(_plain_text),
    Field(json_schema_extra={"pattern": PLAIN_TEXT_PATTERN}),
]

_PRIMITIVES: dict[str, Any] = {
    "string": Text,
    "int": JsonInt,
    "long": JsonLong,
    "double": JsonFloat,
    "float": JsonFloat,
    "boolean": StrictBool,
    "bytes": bytes,
}
_LOGICAL: dict[str, Any] = {
    "uuid": UUID,
    "timestamp-millis": Annotated[AwareDatetime, BeforeValidator(_text_only)],
    "date": Annotated[date, BeforeValidator(_text_only)],
}

# The publisher may leave these out: the API fills a fresh event id and the time of receipt.
_SERVER_DEFAULTS = {
    "event_id": "Optional: a UUID the client chooses, making retries idempotent."
    " Generated when absent.",
    "occurred_at": "Optional: when the event happened (RFC 3339 with offset). Now when absent.",
}


class ApiModel(BaseModel):
    """Base of every generated model: unknown fields are errors, never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelFactory:
    """Build pydantic models from parsed Avro schemas, one class per Avro named type."""

    def __init__(self) -> None:
        self._named: dict[str, type[ApiModel]] = {}
        self._enums: dict[str, Any] = {}

    def event_model(self, schema: ParsedSchema) -> type[ApiModel]:
        """Return the request model of an event type: its record, with server-side defaults."""
        return self._record(schema, top_level=True)

    def _type(self, schema: Any) -> tuple[Any, Any]:  # noqa: PLR0911 - one return per Avro type
        """Return (annotation, default) for an Avro type; default is ... when required."""
        if isinstance(schema, list):
            branches = [b for b in schema if b != "null"]
            inner = self._union([self._type(b)[0] for b in branches])
            return (inner | None, None) if "null" in schema else (inner, ...)
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return _PRIMITIVES[schema], ...
            if schema in self._named:
                return self._named[schema], ...
            return self._enums[schema], ...
        logical = schema.get("logicalType")
        if logical in _LOGICAL:
            return _LOGICAL[logical], ...
        kind = schema["type"]
        if kind == "record":
            return self._record(schema, top_level=False), ...
        if kind == "enum":
            enum = Literal[tuple(schema["symbols"])]  # type: ignore[valid-type]
            self._enums[schema["name"]] = enum
            return enum, ...
        if kind == "array":
            return list[self._type(schema["items"])[0]], ...  # type: ignore[misc]
        if kind == "map":
            return dict[str, self._type(schema["values"])[0]], ...  # type: ignore[misc]
        return self._type(kind)

    @staticmethod
    def _union(annotations: list[Any]) -> Any:
        union = annotations[0]
        for annotation in annotations[1:]:
            union = union | annotation
        return union

    def _record(self, schema: ParsedSchema, *, top_level: bool) -> type[ApiModel]:
        full_name = schema["name"]
        if full_name in self._named and not top_level:
            return self._named[full_name]
        fields: dict[str, Any] = {}
        for field in schema["fields"]:
            annotation, default = self._type(field["type"])
            if "default" in field:
                default = field["default"]
            description = field.get("doc")
            if top_level and field["name"] in _SERVER_DEFAULTS:
                annotation, default = annotation | None, None
                description = _SERVER_DEFAULTS[field["name"]]
            if isinstance(default, list):
                spec = Field(default_factory=list, description=description)
            else:
                spec = Field(default=default, description=description)
            fields[field["name"]] = (annotation, spec)
        short = full_name.rsplit(".", 1)[-1]
        model = create_model(short, __base__=ApiModel, __doc__=schema.get("doc"), **fields)
        if not top_level:
            self._named[full_name] = model
        return model


def build_models(store: SchemaStore) -> dict[EventType, type[ApiModel]]:
    """Return the request model of each event type, from the store's current schemas."""
    factory = ModelFactory()
    return {t: factory.event_model(store.current(t).parsed) for t in EventType}
