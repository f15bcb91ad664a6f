"""Fixtures of the project-level tests: `broker` (Redis and RabbitMQ, see tests/brokers.py)."""

from tests.brokers import broker  # noqa: F401 (a fixture)
