"""Free loopback ports for the tests (the implementation is shared with the demo)."""

from lienthong.devtools.ports import LOOPBACK, free_port, free_port_pair, free_ports, port_accepts

__all__ = ["LOOPBACK", "free_port", "free_port_pair", "free_ports", "port_accepts"]
