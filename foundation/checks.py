"""Production checks run by `manage.py check --deploy` (and at gunicorn start via the same framework)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


def _development_keys(name: str) -> set[str]:
    """The development key generated for this installation under var/ (settings), if there is one."""
    path: Path | None = getattr(settings, "IPAM_DEVELOPMENT_KEY_FILES", {}).get(name)
    if path is None or not path.is_file():
        return set()
    return {path.read_text().strip()}


@register(Tags.security, deploy=True)
def check_production_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Real keys in production: not the development ones, and a FERNET_KEY that can encrypt."""
    from cryptography.fernet import Fernet

    errors: list[CheckMessage] = []
    if settings.SECRET_KEY in _development_keys("SECRET_KEY"):
        errors.append(Error("SECRET_KEY is the development key.", hint="Set SECRET_KEY to 50+ random characters.", id="ipam.E001"))
    if settings.FERNET_KEY in _development_keys("FERNET_KEY"):
        errors.append(Error("FERNET_KEY is the development key.", hint="Generate one with Fernet.generate_key().", id="ipam.E002"))
    for key in [k.strip() for k in settings.FERNET_KEY.split(",") if k.strip()] or [""]:
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            errors.append(
                Error(
                    "FERNET_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes).",
                    hint='python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"',
                    id="ipam.E003",
                )
            )
            break
    return errors
