# The reservation list newest first reads its page in one statement (foundation/newest_pages.py): the k-th
# key is `ORDER BY created_at DESC, id DESC OFFSET k` over the user's reservations. With the id in the
# (user, created_at) index that is an index-only scan in the list's own order, instead of reading and
# sorting all of the user's rows. Replaces the plain index (same count of indexes every reservation write
# maintains).

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("enhancements", "0002_legacy_ids_for_reservations_and_shares"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="reservation",
            index=models.Index(fields=["user", "-created_at", "-id"], name="reservation_user_created_id"),
        ),
        migrations.RemoveIndex(model_name="reservation", name="reservation_user_created"),
    ]
