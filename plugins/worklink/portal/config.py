"""The portal's limits and cookie settings, read from the environment once (docs/portal.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class PortalConfig:
    max_upload_bytes: int = 20 << 20  # a month's return is kilobytes to a few MB
    max_unpacked_bytes: int = 100 << 20  # a workbook's parts, unpacked (zip bombs)
    max_unpack_ratio: float = 100.0  # unpacked / packed size of a workbook; real ones are 5-30
    max_zip_entries: int = 2_000
    session_idle_minutes: int = 30
    session_max_hours: int = 8
    sign_in_failures_per_account: int = 5  # then the account is refused for the window
    sign_in_failures_per_client: int = 20
    sign_in_window_minutes: int = 15
    secure_cookies: bool = False  # set when served over HTTPS (behind a proxy): cookies then need TLS
    staged_hours: int = 24  # an upload not submitted within this is deleted

    @classmethod
    def from_env(cls) -> PortalConfig:
        return cls(
            max_upload_bytes=int(_number("WORKLINK_PORTAL_MAX_UPLOAD_MB", 20) * (1 << 20)),
            max_unpacked_bytes=int(_number("WORKLINK_PORTAL_MAX_UNPACKED_MB", 100) * (1 << 20)),
            max_unpack_ratio=_number("WORKLINK_PORTAL_MAX_UNPACK_RATIO", 100.0),
            session_idle_minutes=int(_number("WORKLINK_PORTAL_SESSION_IDLE_MINUTES", 30)),
            secure_cookies=os.environ.get("WORKLINK_PORTAL_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
        )
