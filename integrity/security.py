"""Response headers every page carries: CSP, no referrer, no caching of private pages."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, request
from werkzeug.datastructures import Headers

# No inline script or style anywhere; 'wasm-unsafe-eval' lets libsodium's WebAssembly run.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "manifest-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "interest-cohort",
        "browsing-topics",
    )
)


def init_app(app: Flask, *, https: bool) -> None:
    """Add the security headers to every response of ``app``."""
    every = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]
    if https:
        every.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
    # Anything but the public static files may show something private.
    private = [*every, ("Cache-Control", "no-store"), ("Pragma", "no-cache")]

    @app.after_request
    def _headers(response: Response) -> Response:
        set_headers(response.headers, every if request.endpoint == "static" else private)
        return response


def set_headers(headers: Headers, pairs: Iterable[tuple[str, str]]) -> None:
    """``headers[name] = value`` for every pair, looking through the existing headers once."""
    present = {name.lower() for name, _ in headers}
    for name, value in pairs:
        if name.lower() in present:
            headers[name] = value  # replaces what a view set
        else:
            headers.add(name, value)
