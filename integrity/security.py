"""Response headers every page carries: CSP, no referrer, no caching of private pages; and
no session cookie on the reporting API, whose JSON answers carry the headers that matter to
a response no browser renders as a page, nor on the anonymous pages."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.datastructures import Headers

from integrity.anonymous_forms import is_anonymous_page

API_PREFIX = "/api/"

# No inline script or style anywhere; 'wasm-unsafe-eval' lets libsodium's WebAssembly run.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        # A voice message recorded on the report form or the mailbox, or decrypted on the case
        # page, plays from memory.
        "media-src blob:",
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

# The reporting API answers with JSON or ciphertext, never a document: nothing in it may run,
# be framed or be embedded by another origin.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"

_FEATURES = (
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
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in _FEATURES)
# The pages where a reporter may record a voice message: the report form (shown again after a
# refusal) and the mailbox (integrity/reporting/views.py). Everywhere else the microphone is off.
MICROPHONE_PAGES = frozenset({"reporting.form", "reporting.file_plain", "reporting.mailbox",
                              "reporting.mailbox_open", "reporting.mailbox_reply",
                              "reporting.mailbox_close"})
VOICE_PERMISSIONS_POLICY = ", ".join(
    f"{feature}=(self)" if feature == "microphone" else f"{feature}=()" for feature in _FEATURES)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions for staff pages only. The reporting API has no ambient
    authority, and the anonymous pages (reporting, surveys) leave no trace on the device:
    there a session is never read from a cookie, and never written to one."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(API_PREFIX) or is_anonymous_page(app, request):
            return None  # Flask then uses a null session and saves nothing
        return super().open_session(app, request)


def init_app(app: Flask, *, https: bool) -> None:
    """Add the security headers to every response of ``app``; keep sessions off the API."""
    app.session_interface = CookieSessions()
    hsts = [("Strict-Transport-Security", "max-age=63072000; includeSubDomains")] if https else []
    every = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        *hsts,
    ]
    # Anything but the public static files may show something private.
    private = [*every, ("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    # Referrer, permissions and opener policies apply to documents; an API answer is none.
    api = [("Content-Security-Policy", API_CONTENT_SECURITY_POLICY),
           ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
           ("Cross-Origin-Resource-Policy", "same-origin"), ("Cache-Control", "no-store"),
           *hsts]

    @app.after_request
    def _headers(response: Response) -> Response:
        if request.path.startswith(API_PREFIX):
            set_headers(response.headers, api)
        else:
            set_headers(response.headers, every if request.endpoint == "static" else private)
            if request.endpoint in MICROPHONE_PAGES:
                response.headers["Permissions-Policy"] = VOICE_PERMISSIONS_POLICY
        return response


def set_headers(headers: Headers, pairs: Iterable[tuple[str, str]]) -> None:
    """``headers[name] = value`` for every pair, looking through the existing headers once."""
    present = {name.lower() for name, _ in headers}
    for name, value in pairs:
        if name.lower() in present:
            headers[name] = value  # replaces what a view set
        else:
            headers.add(name, value)
