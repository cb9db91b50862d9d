"""`lienthong demo` (what `make demo` runs) on a fresh directory: its own secured broker, every
service as its own principal, every number accounted for, and nothing left running.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lienthong.devtools.ports import port_accepts
from lienthong.security.principals import API, OPERATOR, ROUTER, SUPER_USERS
from tests.support.environ import inherited_env


@pytest.mark.timeout(420)
def test_the_demo_accounts_for_everything_with_each_service_as_its_own_principal(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "lienthong", "demo", "--workdir", str(workdir)],
        env=inherited_env(),
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    assert result.stdout.rstrip().endswith("All accounted for."), result.stdout

    section = result.stdout.split("\nPrincipals", 1)[1].split("\nMetrics:", 1)[0]
    ran_as = dict(re.findall(r"^  (\S.*?)\s{2,}(\S.*)$", section, re.MULTILINE))
    assert ran_as["router"] == ROUTER
    assert ran_as["producer"] == API
    assert ran_as["dead-letter reading"] == OPERATOR
    for endpoint in ("vpcp", "tinh-nghe-an", "bo-nganh"):
        assert ran_as[f"consumer-{endpoint}"] == f"lt-consumer-{endpoint}"
    writers = ran_as["Kafka publishing"].split(", ")
    assert writers == ["lt-endpoint-tinh-nghe-an", "lt-endpoint-vpcp"]  # the senders' own
    assert not SUPER_USERS & {*ran_as.values(), *writers}

    secrets = workdir / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in secrets.iterdir()}
    assert {f"{ROUTER}.password", f"{API}.password", "lt-consumer-vpcp.password"} <= files.keys()
    assert set(files.values()) == {0o600}
    assert not {f"{user}.password" for user in SUPER_USERS} & files.keys()

    # Everything it started is stopped on exit: the broker's process and port are gone.
    port = re.search(r"starting Kafka on 127\.0\.0\.1:(\d+)", result.stderr)
    assert port is not None, result.stderr
    assert not port_accepts(int(port.group(1)))
    pid_file = workdir / "kafka" / "kafka.pid"
    if pid_file.exists():
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text().strip()), 0)
