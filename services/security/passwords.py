"""Where SCRAM passwords come from: `<user>.password` files (mode 600), or the environment.

Never from the directory file. A directory of files is what `users apply` writes new and
rotated passwords into; the environment (`LT_SCRAM_PASSWORD_<USER>`, the user name upper
case with every other character `_`) suits a secret store that injects variables. The
variables are not LIENTHONG_* ones, which every command would reject as unknown settings.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from lienthong.security.errors import SecretsError

ENV_PREFIX = "LT_SCRAM_PASSWORD_"
SUFFIX = ".password"
_STAGED = ".new"
_PRIVATE = 0o077  # any permission for group or others


def env_name(user: str) -> str:
    """Return the environment variable that may hold a user's password."""
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", user).upper()


def new_password() -> str:
    """Return a new random password (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


class Passwords:
    """Read passwords from a directory of files, else the environment; write new ones."""

    def __init__(self, directory: Path | None, environ: Mapping[str, str]) -> None:
        self.directory = directory
        self._environ = environ

    def path(self, user: str) -> Path:
        """Return the file that holds (or will hold) a user's password."""
        if self.directory is None:
            raise SecretsError("no secrets directory given (--secrets-dir)")
        return self.directory / f"{user}{SUFFIX}"

    def source(self, user: str) -> Literal["file", "env"] | None:
        """Say where a user's password would be read from, without reading it."""
        if self.directory is not None and self.path(user).exists():
            return "file"
        return "env" if self._environ.get(env_name(user)) else None

    def password(self, user: str) -> str | None:
        """Return a user's password, from its file first; None if there is none."""
        if self.directory is not None:
            path = self.path(user)
            if path.exists():
                return _read_private(path)
        return self._environ.get(env_name(user)) or None

    def check_unambiguous(self, users: Iterable[str]) -> None:
        """Refuse a set variable that two users' names map to (`lt-a.b` and `lt-a-b`)."""
        seen: dict[str, str] = {}
        problems = []
        for user in users:
            name = env_name(user)
            if name in seen and self._environ.get(name):
                problems.append(
                    f"{name} could be the password of {seen[name]} or {user}: use files"
                )
            seen.setdefault(name, user)
        if problems:
            raise SecretsError(problems)

    def stage(self, user: str, password: str) -> Path:
        """Write a password beside its file (`.new`), to be committed once the broker has it."""
        directory = self.path(user).parent
        _private_directory(directory)
        staged = self.path(user).with_name(self.path(user).name + _STAGED)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(staged, flags, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                os.fchmod(out.fileno(), 0o600)  # an older file may have had another mode
                out.write(password + "\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise SecretsError(f"cannot write {staged}: {exc.strerror}") from None
        return staged

    def commit(self, user: str) -> Path:
        """Make a staged password the user's password file (an atomic rename)."""
        final = self.path(user)
        try:
            final.with_name(final.name + _STAGED).replace(final)
        except OSError as exc:
            raise SecretsError(
                f"cannot rename the new password to {final}: {exc.strerror}"
            ) from None
        return final


def _read_private(path: Path) -> str:
    """Read a password file that only its owner may read."""
    try:
        mode = path.stat().st_mode
        if mode & _PRIVATE:
            raise SecretsError(
                f"{path}: mode {stat.S_IMODE(mode):04o} lets other users at it;"
                f" run chmod 600 {path}"
            )
        text = path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise SecretsError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SecretsError(f"{path}: not UTF-8 text") from None
    if not text:
        raise SecretsError(f"{path}: empty; write the password in it, or delete it")
    return text


def _private_directory(directory: Path) -> None:
    """Create the secrets directory (mode 700), or refuse one that others may enter."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = directory.stat().st_mode
    except OSError as exc:
        raise SecretsError(f"cannot create {directory}: {exc.strerror}") from None
    if mode & _PRIVATE:
        raise SecretsError(
            f"{directory}: mode {stat.S_IMODE(mode):04o} lets other users in;"
            f" run chmod 700 {directory}"
        )
