"""Bearer API keys: one per endpoint, stored in the directory only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from lienthong.directory.model import Directory, Endpoint

_SCHEME = "bearer "


class Authenticator:
    """Map an Authorization header to the endpoint whose key it carries."""

    def __init__(self, directory: Callable[[], Directory]) -> None:
        self._directory = directory
        self._for: Directory | None = None
        self._by_hash: dict[str, Endpoint] = {}

    def endpoint(self, authorization: str | None) -> Endpoint | None:
        """Return the calling endpoint, or None for a missing, malformed or unknown key."""
        if not authorization or authorization[: len(_SCHEME)].lower() != _SCHEME:
            return None
        key = authorization[len(_SCHEME) :].strip()
        if not key:
            return None
        # Keys are long random strings, so an unsalted SHA-256 is a safe one-way lookup key; the
        # dict lookup compares digests, never the key itself.
        return self._table().get(hashlib.sha256(key.encode()).hexdigest())

    def _table(self) -> dict[str, Endpoint]:
        directory = self._directory()
        if directory is not self._for:  # rebuilt only when the directory is reloaded
            self._by_hash = {
                e.credential_sha256: e
                for e in directory.endpoints.values()
                if e.credential_sha256 is not None
            }
            self._for = directory
        return self._by_hash
