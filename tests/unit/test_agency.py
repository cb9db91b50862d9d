from __future__ import annotations

import pytest

from lienthong.contract.agency import AgencyCodePattern
from lienthong.contract.errors import InvalidAgencyCode

DEFAULT = AgencyCodePattern()


@pytest.mark.parametrize(
    "code", ["000.00.00.G22", "000.00.00.H41", "001.00.10.H47", "000.01.33.H29", "00.53.00.W00"]
)
def test_well_formed_codes_pass(code: str) -> None:
    assert DEFAULT.check(code) == code


@pytest.mark.parametrize(
    "code",
    [
        "",
        "G22",
        "000.00.00.g22",
        "000.00.00.G2",
        "000-00-00-G22",
        " 000.00.00.G22",
        "000.00.00.G22\n",
        "all-provinces",
        "0000.00.00.G22",
    ],
)
def test_malformed_codes_are_refused_with_an_example(code: str) -> None:
    assert not DEFAULT.matches(code)
    with pytest.raises(InvalidAgencyCode) as caught:
        DEFAULT.check(code)
    assert caught.value.code == code
    assert "000.00.00.G22" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_pattern_is_configurable() -> None:
    integration_centres = AgencyCodePattern(r"^[0-9]{2}\.[0-9]{2}\.W[0-9]{2}$")
    assert integration_centres.matches("00.53.W00")
    assert not integration_centres.matches("000.00.00.G22")


def test_invalid_pattern_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid regular expression"):
        AgencyCodePattern("[")
