"""The contract's exceptions: each carries what a dead-letter record needs."""

from __future__ import annotations


class ContractError(Exception):
    """Root of every error raised by lienthong.contract."""

    #: Short, bounded reason code: a metric label and the DLQ reason header.
    reason = "contract-error"


class DecodeError(ContractError):
    """Bytes that are not a record of our contract; `raw` keeps them for the dead-letter topic."""

    reason = "undecodable"

    def __init__(self, message: str, *, raw: bytes) -> None:
        super().__init__(message)
        self.raw = raw


class BadMagic(DecodeError):
    """The value does not start with the single-object marker C3 01."""

    reason = "bad-magic"


class UnknownFingerprint(DecodeError):
    """The writer schema's fingerprint matches no schema version we keep."""

    reason = "unknown-fingerprint"

    def __init__(self, message: str, *, raw: bytes, fingerprint: bytes) -> None:
        super().__init__(message, raw=raw)
        self.fingerprint = fingerprint


class CorruptBody(DecodeError):
    """The Avro body is truncated, has trailing bytes, or is not valid for its writer schema."""

    reason = "corrupt-body"


class IncompatibleRecord(DecodeError):
    """The writer's record cannot be read into our reader schema (schema resolution failed)."""

    reason = "incompatible-schema"


class SchemaViolation(ContractError):
    """A record to encode breaks its schema; `problems` names each offending field."""

    reason = "schema-violation"

    def __init__(self, message: str, *, problems: tuple[str, ...]) -> None:
        super().__init__(message)
        self.problems = problems


class InvalidAgencyCode(ContractError, ValueError):
    """A string that should be an agency code is not one."""

    reason = "invalid-agency-code"

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class BadHeaders(ContractError):
    """Contract headers that are missing, repeated or malformed."""

    reason = "bad-headers"
