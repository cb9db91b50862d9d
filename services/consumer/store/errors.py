"""What the store raises: one root, the kind the sink retries on, the kind it dead-letters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import exc as sa_exc


class StoreError(Exception):
    """The store could not do what was asked; the transaction, if any, was rolled back."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or is busy: pause, retry with backoff, commit nothing."""


class StoreRejected(StoreError):
    """The database refused a value (a NUL in PostgreSQL text, a number out of range).

    The same rows fail the same way on every retry, so the sink finds the record and
    dead-letters it. Anything else the store raises is not about one record, and is not
    dead-lettered: a missing table or a revoked privilege would drain every record into the DLQ.
    """


class MigrationError(StoreError):
    """The schema could not be brought to the revision this code needs."""


# Connection-level failures: the server is down, the connection broke, the SQLite file is
# locked. OperationalError also covers a few statement-level conditions (statement timeout,
# serialization failure); retrying those is just as right.
_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    # Raised bare by COPY, which runs on the driver's connection below SQLAlchemy.
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def first_line(exc: BaseException) -> str:
    """Return the first line of an error's message, named by the driver's error class."""
    source = getattr(exc, "orig", None) or exc
    lines = str(source).strip().splitlines()
    return f"{type(source).__name__}: {lines[0]}" if lines else type(source).__name__


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Raise SQLAlchemy and driver errors inside the block as StoreError or StoreUnavailable."""
    try:
        yield
    except StoreError:
        raise
    except _UNAVAILABLE as exc:
        raise StoreUnavailable(f"{action}: {first_line(exc)}") from exc
    except (sa_exc.DataError, psycopg.DataError) as exc:  # psycopg's bare from COPY
        raise StoreRejected(f"{action}: {first_line(exc)}") from exc
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailable(f"{action}: {first_line(exc)}") from exc
        raise StoreError(f"{action}: {first_line(exc)}") from exc
    except (sa_exc.SQLAlchemyError, psycopg.Error) as exc:
        raise StoreError(f"{action}: {first_line(exc)}") from exc
