"""The security package's errors: each message says in one line what is wrong and where."""

from __future__ import annotations

from collections.abc import Iterable


class SecurityError(RuntimeError):
    """A plan, an access file, a secret or a broker request that cannot be used or done."""

    def __init__(self, lines: str | Iterable[str]) -> None:
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("\n".join(self.lines))


class AccessFileError(SecurityError):
    """The access file is invalid; one `file:line: message` per problem."""


class PlanError(SecurityError):
    """The directory and access file cannot be given least-privilege ACLs as they are."""


class BrokerError(SecurityError):
    """The broker refused or did not answer a request about ACLs or users."""


class SecretsError(SecurityError):
    """A password is missing, unsafe to read, or cannot be written."""
