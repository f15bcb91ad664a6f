# The host list's page seek (ipam/selectors/host_pages.py) sums every region's allocated_hosts in address
# order: with the counter in the (user, network_int) index that is an index-only scan instead of reading and
# sorting the user's region rows. Replaces the plain index (same count of indexes an allocation maintains).
# INCLUDE is PostgreSQL's; elsewhere Django creates the plain (user, network_int) index.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ipam", "0009_audit_day_counts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="region",
            index=models.Index(fields=["user", "network_int"], include=("allocated_hosts",), name="region_user_network_hosts"),
        ),
        migrations.RemoveIndex(model_name="region", name="region_user_network"),
    ]
