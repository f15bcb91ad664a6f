"""The migration each of our apps was at in the last release: the starting point of
`test_upgrade_with_data.py`, which migrates a test database back to these nodes, fills every table and
migrates forward to the current code.

UPDATE THIS AT EACH RELEASE: set every app to its leaf migration as released (`python manage.py
showmigrations ipam enhancements notifications webhooks ops`, the last `[X]` of each). Between releases
leave it alone: the migrations added since the last release are exactly what the test exercises.

Keys are app labels (`ops` is the `ipam_project` package). An app that did not exist in the last release is
listed with `None` (it is migrated to zero before the data is written). When a model moves between apps
(`SeparateDatabaseAndState`), keep both apps listed: the table is checked by its name, whatever app owns it.
Django's own apps (auth, contenttypes, admin, sessions) are not listed: they stay at the migrations the
executor finds applied (their leaf nodes).
"""

from __future__ import annotations

LAST_RELEASE: dict[str, str | None] = {
    "ipam": "0003_search_trigram_indexes",
    "enhancements": "0001_enhancement_stores",
    "notifications": "0001_notifications_rules_alert_state",
    "webhooks": "0001_webhooks_outbox_deliveries",
    "ops": "0001_job_runs",
}
