"""Helpers for tests that need real services: a local Kafka broker, PostgreSQL, free ports."""
