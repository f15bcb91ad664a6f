"""Seed data: the 18 countries of contract §1 and the three IPAM permission groups."""

from django.db import migrations

COUNTRIES = [
    ("Asia", "India", "IN", "IND", 0, 29, False),
    ("Asia", "UAE", "AE", "ARE", 30, 37, False),
    ("Asia", "Singapore", "SG", "SGP", 38, 45, False),
    ("Asia", "Japan", "JP", "JPN", 46, 53, False),
    ("Asia", "South Korea", "KR", "KOR", 54, 61, False),
    ("Asia", "Indonesia", "ID", "IDN", 62, 69, False),
    ("Asia", "Taiwan", "TW", "TWN", 70, 77, False),
    ("Africa", "South Africa", "ZA", "ZAF", 78, 97, False),
    ("Europe", "Finland", "FI", "FIN", 98, 107, False),
    ("Europe", "Sweden", "SE", "SWE", 108, 117, False),
    ("Europe", "Poland", "PL", "POL", 118, 127, False),
    ("Europe", "Spain", "ES", "ESP", 128, 137, False),
    ("North America", "Canada", "CA", "CAN", 138, 152, False),
    ("North America", "United States", "US", "USA", 153, 167, False),
    ("South America", "Brazil", "BR", "BRA", 168, 177, False),
    ("South America", "Chile", "CL", "CHL", 178, 187, False),
    ("Australia", "Australia", "AU", "AUS", 188, 207, False),
    ("Reserved", "Reserved", "ZZ", "ZZZ", 208, 255, True),
]

GROUPS = {
    "IPAM Readers": ["read"],
    "IPAM Operators": ["read", "allocate", "update", "release"],
    "IPAM Admins": ["read", "allocate", "update", "release", "admin"],
}


def seed(apps, schema_editor):
    Country = apps.get_model("ipam", "Country")
    for continent, name, code, code3, x_start, x_end, reserved in COUNTRIES:
        Country.objects.update_or_create(
            code=code,
            defaults={"continent": continent, "name": name, "code3": code3, "x_start": x_start, "x_end": x_end, "is_reserved": reserved},
        )

    # Permissions are normally created after migrate; create them now so the groups can use them.
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("ipam")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.set(Permission.objects.filter(content_type__app_label="ipam", codename__in=codenames))


def unseed(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()
    apps.get_model("ipam", "Country").objects.filter(code__in=[c[2] for c in COUNTRIES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ipam", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
