"""Router service: exactly-once fan-out of inbound events to endpoint delivery topics."""
