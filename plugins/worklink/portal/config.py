"""The portal's limits and cookie settings, read from the environment once (docs/portal.md)."""

from __future__ import annotations

from dataclasses import dataclass

from worklink.settings import load_settings


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
        settings = load_settings()  # WORKLINK_PORTAL_* (README settings table)
        return cls(
            max_upload_bytes=int(settings.portal_max_upload_mb * (1 << 20)),
            max_unpacked_bytes=int(settings.portal_max_unpacked_mb * (1 << 20)),
            max_unpack_ratio=settings.portal_max_unpack_ratio,
            session_idle_minutes=settings.portal_session_idle_minutes,
            secure_cookies=settings.portal_secure_cookies,
        )
