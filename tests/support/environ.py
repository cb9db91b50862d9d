"""The environment the tests hand to the processes they start.

A developer's shell may export `LIENTHONG_*` settings (a broker, a database URL, a topic
prefix). Passed through, they would change what a test's subprocess runs against, or make it
refuse to start (an unknown setting is an error). So every inherited `LIENTHONG_*` variable
is dropped before the test adds its own; `LIENTHONG_LOCAL_*` ones stay: they configure the
local tooling (deploy/local/*.sh, the PostgreSQL fixture), not the services.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SETTINGS_PREFIX = "LIENTHONG_"
LOCAL_PREFIX = "LIENTHONG_LOCAL_"


def inherited_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return `environ` (default: os.environ) without its LIENTHONG_* settings."""
    source = os.environ if environ is None else environ
    return {
        name: value
        for name, value in source.items()
        if not name.startswith(SETTINGS_PREFIX) or name.startswith(LOCAL_PREFIX)
    }
