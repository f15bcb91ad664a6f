from django.apps import AppConfig


class EnhancementsConfig(AppConfig):
    """The schema unit of the enhancement stores: reservations, shares, preferences and saved filters, bulk jobs.

    It holds no code, only the migrations of those tables. The models are declared in `ipam/models/` next to
    their services with `Meta.app_label = "enhancements"`, so that `manage.py rollback` can remove exactly
    these tables (with the `notifications` and `webhooks` apps) by migrating the apps to zero after a backup,
    core data untouched, and a later `migrate` recreates them (docs/decisions/0007).
    """

    name = "enhancements"
    verbose_name = "IPAM enhancements"
    default_auto_field = "django.db.models.BigAutoField"
