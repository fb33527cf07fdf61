"""The fleet's HTTP API as the technician's tool uses it (standard library only)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Final

TIMEOUT_S: Final = 15.0


class FleetError(Exception):
    """The fleet refused (``status`` set, ``kind`` from its answer) or could not be reached."""

    def __init__(self, message: str, status: int | None = None, kind: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    date: float | None  # the server's Date header, as a POSIX timestamp


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificates and host names are always checked; ``ca_file`` replaces the system CAs."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def request(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    ca_file: Path | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Answer:
    """One JSON request; FleetError for a refusal (4xx/5xx) or an unreachable fleet."""
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    req = urllib.request.Request(
        base_url.rstrip("/") + path, data=data, method=method, headers=all_headers
    )
    context = tls_context(ca_file) if base_url.startswith("https:") else None
    try:
        with urllib.request.urlopen(req, timeout=timeout_s, context=context) as response:
            raw = response.read()
            return Answer(response.status, _json(raw), _date(response.headers.get("Date")))
    except urllib.error.HTTPError as error:
        parsed = _json(error.read())
        detail = parsed.get("detail") if isinstance(parsed, dict) else None
        kind = parsed.get("error") if isinstance(parsed, dict) else None
        message = detail if isinstance(detail, str) else f"HTTP {error.code}"
        raise FleetError(message, status=error.code, kind=kind) from error
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise FleetError(str(reason)) from error


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _date(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return None
