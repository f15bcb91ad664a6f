"""The API router and the path patterns routes share."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

# A UUID in a path, with or without dashes, any case (lookup_value_regex of every UUID-keyed viewset).
UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class Router(SimpleRouter):
    """Routes every path with and without a trailing slash (no redirects that drop POST bodies)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
