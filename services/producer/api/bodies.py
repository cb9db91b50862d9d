"""Response bodies of the API, as pydantic models so the OpenAPI document describes them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProblemItem(BaseModel):
    """One reason a request was refused."""

    pointer: str = Field(description="RFC 6901 JSON pointer into the request body; '' = all.")
    message: str


class ProblemBody(BaseModel):
    """The body of every 4xx and 5xx answer."""

    status: int
    title: str
    errors: list[ProblemItem] = Field(default_factory=list)


class AcceptedBody(BaseModel):
    """202: the broker has the event."""

    event_id: str
    event_type: str
    topic: str
    partition: int
    offset: int


class BatchItem(BaseModel):
    """One event's answer within a batch; fields as in AcceptedBody or ProblemBody."""

    index: int
    status: int
    event_id: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    title: str | None = None
    errors: list[ProblemItem] = Field(default_factory=list)


class BatchBody(BaseModel):
    """200: each event's answer, in request order."""

    results: list[BatchItem]
    accepted: int
    failed: int


class Health(BaseModel):
    """Liveness, or readiness with the check that failed."""

    status: str
    checks: dict[str, str] = Field(default_factory=dict)
