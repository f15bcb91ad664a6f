from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class IpamConfig(AppConfig):
    name = "ipam"
    verbose_name = "IPAM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Audit rows for the configuration writes of webhooks and notification rules, which announce them
        # with their own signals because they cannot import ipam (ADR 0005): see ipam/receivers.py
        # Invalidation of the cached IPAM permission sets (group/permission changes): see foundation/permcache.py
        from foundation import permcache  # noqa: F401
        from ipam import receivers

        receivers.connect()

        # /health: without the country table no allocation can succeed.
        from foundation import health
        from ipam.selectors.countries import countries_health

        health.register_check("countries", countries_health, critical=True)

        # The audit log is partitioned by month on PostgreSQL (foundation/partitions.py, ADR 0016).
        from foundation import partitions
        from ipam.models import AuditLog

        partitions.register(AuditLog._meta.db_table, "timestamp")


class IpamAdminConfig(AdminConfig):
    """django.contrib.admin with the IPAM operator console as its default site (ipam/admin_site.py)."""

    default_site = "ipam.admin_site.IpamAdminSite"
