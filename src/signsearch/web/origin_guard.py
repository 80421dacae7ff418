"""Refuse requests for other host names (DNS rebinding) and cross-site POSTs (another page uploading through a
visitor's browser).

A request is served only when its Host header names one of ``ALLOWED_HOSTS`` (127.0.0.1, localhost and ::1 by
default; `signsearch serve` adds its --host and every --allow-host). A POST must come from the app's own pages:
its Origin header, or without one its Referer, must name the same host and port as the Host header. A POST with
neither (curl, scripts) is served: browsers send Origin with every cross-site POST.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def allowed_hosts(*extra: str | None) -> list[str]:
    """The default local names plus `extra` (a bind address such as 0.0.0.0 is no host name and is left out)."""
    names = list(LOCAL_HOSTS)
    for name in extra:
        name = (name or "").strip().strip("[]").lower()
        if name and name not in ("0.0.0.0", "::") and name not in names:
            names.append(name)
    return names


def register(app: Flask) -> None:
    """Check every request of `app` against its ``ALLOWED_HOSTS`` setting."""
    app.before_request(_check)


def _hostname(netloc: str) -> str | None:
    try:
        return urlsplit(f"//{netloc}").hostname
    except ValueError:  # e.g. an unbalanced "[" in the header
        return None


def _check() -> Response | None:
    host = request.headers.get("Host", "")
    allowed = {h.lower() for h in current_app.config["ALLOWED_HOSTS"]}
    name = _hostname(host)
    if name is None or name.lower() not in allowed:
        return _refuse(f"host '{host[:100]}' is not served here; start the app with "
                       f"`signsearch serve --allow-host NAME` to accept that name")
    if request.method in SAFE_METHODS:
        return None
    origin = request.headers.get("Origin")
    source = origin if origin is not None else request.headers.get("Referer")
    if source is None:
        return None
    try:
        netloc = urlsplit(source).netloc
    except ValueError:
        netloc = ""
    if netloc.lower() != host.lower():
        what = "Origin" if origin is not None else "Referer"
        return _refuse(f"cross-site request refused: {what} '{source[:100]}' is not this site ({host[:100]})")
    return None


def _refuse(message: str) -> Response:
    return Response(message, 403, mimetype="text/plain")
