"""Webhook subscriptions, events (outbox) and deliveries. Filled in by the webhooks work."""
