from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from foundation import partitions
        from notifications.models import Notification

        partitions.register(Notification._meta.db_table, "created_at")  # monthly partitions (ADR 0016)
