from django.apps import AppConfig


class IpamConfig(AppConfig):
    name = "ipam"
    verbose_name = "IPAM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Invalidation of the cached IPAM permission sets (group/permission changes): see ipam_project/permcache.py
        from ipam_project import permcache  # noqa: F401
