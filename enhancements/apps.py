from django.apps import AppConfig


class EnhancementsConfig(AppConfig):
    """Stores added by the 'enhancements' release (reservations, shares, preferences, bulk jobs).

    They live in their own app so that `manage.py rollback` can remove exactly them by migrating
    this app to zero, and a later `migrate` recreates them (see docs/decisions/0002).
    """

    name = "enhancements"
    verbose_name = "IPAM enhancements"
    default_auto_field = "django.db.models.BigAutoField"
