"""Problems found in a directory file, and the one error that carries them all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding in a directory file, located by source name and 1-based line."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


class DirectoryError(ValueError):
    """Reject a directory file, listing every problem found in it."""

    problems: list[Problem]

    def __init__(self, problems: Iterable[Problem]) -> None:
        # Sorted by line so an operator fixes the file top to bottom; the sort is stable, so
        # problems on one line keep the order the checks found them in.
        self.problems = sorted(problems, key=lambda problem: problem.line)
        super().__init__("\n".join(str(problem) for problem in self.problems))
