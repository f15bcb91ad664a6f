"""No model is declared here. The enhancement stores — reservations, shares, preferences and saved filters,
bulk jobs — are declared in `ipam/models/` next to the services that use them, with
`Meta.app_label = "enhancements"`, so their tables belong to this app's migrations (docs/decisions/0007).

This module exists because Django treats an app without a models module as having no models in some
places (`dumpdata`, used by `manage.py rollback` for its backup, skips such apps).
"""
