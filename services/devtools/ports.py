"""Free TCP ports on the loopback interface, for the servers tests and the demo start.

Ports are drawn at random below the kernel's ephemeral range: a port the kernel handed out
with bind(0) is one it may also hand to a client's outgoing connection before our server
binds it, which is the classic flaky "address already in use" at start-up.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"
_LOWEST = 20000
_ATTEMPTS = 200


def _ephemeral_floor() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii")
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    # No SO_REUSEADDR: a port with connections in TIME_WAIT counts as taken.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_ports(count: int = 1, *, consecutive: bool = False) -> list[int]:
    """Return `count` distinct ports that nothing on 127.0.0.1 uses at the moment.

    With `consecutive`, the ports are port, port + 1, ... (a Kafka broker and its controller).
    Nothing reserves them: start the server promptly.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    top = _ephemeral_floor() - count
    if top <= _LOWEST:
        top = 65535 - count
    rng = random.SystemRandom()
    chosen: list[int] = []
    for _ in range(_ATTEMPTS):
        if consecutive:
            first = rng.randrange(_LOWEST, top)
            candidates = list(range(first, first + count))
            if all(_bindable(port) for port in candidates):
                return candidates
        else:
            port = rng.randrange(_LOWEST, top)
            if port not in chosen and _bindable(port):
                chosen.append(port)
                if len(chosen) == count:
                    return chosen
    raise RuntimeError(f"found no {count} free loopback port(s) in {_ATTEMPTS} attempts")


def free_port() -> int:
    """Return one free loopback TCP port."""
    return free_ports(1)[0]


def free_port_pair() -> tuple[int, int]:
    """Return two consecutive free loopback TCP ports (e.g. a Kafka broker and its controller)."""
    first, second = free_ports(2, consecutive=True)
    return first, second


def port_accepts(port: int, host: str = LOOPBACK, timeout: float = 1.0) -> bool:
    """Tell whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
