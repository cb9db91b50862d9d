"""Plumbing shared by the services: settings, Kafka clients, logging, metrics."""
