"""Agency electronic identifier codes (mã định danh, Decision 20/2020/QĐ-TTg)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lienthong.contract.errors import InvalidAgencyCode

# Four dot-separated blocks, lower levels to the left; the rightmost block is the level-1 unit
# (G central bodies, H provinces, A the Party bloc). Integration-centre systems use shorter ids
# and real data varies, so deployments may widen this with LIENTHONG_CONTRACT_AGENCY_CODE_PATTERN.
DEFAULT_AGENCY_CODE_PATTERN = r"^[0-9]{2,3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$"

_EXAMPLES = "000.00.00.G22 (Government Office), 000.00.00.H41, 001.00.10.H47"


@dataclass(frozen=True, slots=True)
class AgencyCodePattern:
    """A compiled, configurable agency-code pattern."""

    pattern: str = DEFAULT_AGENCY_CODE_PATTERN
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            regex = re.compile(self.pattern)
        except re.error as exc:
            msg = f"agency code pattern {self.pattern!r} is not a valid regular expression: {exc}"
            raise ValueError(msg) from exc
        object.__setattr__(self, "_regex", regex)

    def matches(self, code: str) -> bool:
        """Tell whether `code` is a well-formed agency code."""
        return self._regex.fullmatch(code) is not None

    def check(self, code: str) -> str:
        """Return `code` unchanged, or raise InvalidAgencyCode saying what was expected."""
        if self._regex.fullmatch(code) is None:
            raise InvalidAgencyCode(
                f"{code!r} is not an agency code: expected a code such as {_EXAMPLES}"
                f" (pattern {self.pattern})",
                code=code,
            )
        return code
