"""Operator tools: inspect and replay the dead-letter topic, re-deliver an endpoint's records."""
