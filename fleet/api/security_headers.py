"""Headers that make the browser defend the dashboard: on every answer, pages and API alike.

- ``Content-Security-Policy``: scripts, styles, images and connections from this site only, no
  inline script or style anywhere (the pages have none: ``fleet/static`` holds them), no plugin,
  no ``<base>``, forms posting only here, and no framing (``frame-ancestors 'none'``, with
  ``X-Frame-Options: DENY`` for older browsers): nobody can put the reboot buttons under a
  decoy page (clickjacking).
- ``X-Content-Type-Options: nosniff``: a terminal-supplied string served as text stays text.
- ``Referrer-Policy: same-origin``: terminal ids and filters in addresses do not leave the site.
- ``Permissions-Policy``: every powerful feature the dashboard never uses is denied.
- ``Strict-Transport-Security`` when the request came over HTTPS (directly, or as a trusted
  proxy says): browsers then refuse plain HTTP to this host.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
#: Features a browser may otherwise grant a page; the dashboard uses none of them.
DENIED_FEATURES: Final = (
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)
PERMISSIONS_POLICY: Final = ", ".join(f"{feature}=()" for feature in DENIED_FEATURES)

SECURITY_HEADERS: Final = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("permissions-policy", PERMISSIONS_POLICY),
    ("cross-origin-opener-policy", "same-origin"),
)


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` (and HSTS over HTTPS) to every HTTP answer."""

    def __init__(self, app: ASGIApp, hsts_max_age_s: int) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age_s}".encode() if hsts_max_age_s > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                for name, value in SECURITY_HEADERS:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if over_tls and self.hsts is not None:
                    headers.append((b"strict-transport-security", self.hsts))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
