"""Make sure an admin login exists and print how to log in (used by `make run`)."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin superuser if missing (password from IPAM_ADMIN_PASSWORD or generated) and print the login."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=os.environ.get("IPAM_ADMIN_USERNAME", "admin"))
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="where the API listens (make run passes its HOST:PORT)")

    def handle(self, *args: Any, username: str, base_url: str, **options: Any) -> None:
        base_url = base_url.rstrip("/")
        user_model = get_user_model()
        password_file = settings.VAR_DIR / "admin-password.txt"
        user = user_model.objects.filter(username=username).first()
        if user is None:
            password = os.environ.get("IPAM_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            user = user_model.objects.create_superuser(username=username, email=f"{username}@localhost", password=password)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
            self.stdout.write(self.style.SUCCESS(f"Created superuser {username!r}."))
        admins = Group.objects.filter(name="IPAM Admins").first()
        if admins:
            user.groups.add(admins)
        if password_file.exists():
            hint = f"password in {password_file}: {password_file.read_text().strip()}"
        else:
            hint = "password: the one you set (IPAM_ADMIN_PASSWORD or `manage.py changepassword`)"
        self.stdout.write(f"Log in as {username!r} ({hint})")
        self.stdout.write(f"  Admin UI:  {base_url}/admin/")
        self.stdout.write(f"  API docs:  {base_url}/docs")
        self.stdout.write(
            f"  Token:     curl -s -X POST {base_url}/auth/token -H 'Content-Type: application/json' "
            f'-d \'{{"username": "{username}", "password": "<password>"}}\''
        )
