"""Notifications and notification rules. Filled in by the notifications work."""
