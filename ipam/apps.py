from django.apps import AppConfig


class IpamConfig(AppConfig):
    name = "ipam"
    verbose_name = "IPAM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Audit rows for the configuration writes of webhooks and notification rules, which announce them
        # with their own signals because they cannot import ipam (ADR 0005): see ipam/receivers.py
        from ipam import receivers

        # Invalidation of the cached IPAM permission sets (group/permission changes): see ipam_project/permcache.py
        from ipam_project import permcache  # noqa: F401

        receivers.connect()
