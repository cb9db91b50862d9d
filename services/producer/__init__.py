"""Producer service: agency backends publish events (HTTP API and Python client)."""
