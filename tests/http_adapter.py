"""A tiny HTTP client with the test client's interface, for talking to a real server."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlencode


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self._body = body

    def get_json(self) -> Any:
        return json.loads(self._body)

    def get_data(self, as_text: bool = False) -> Any:
        return self._body.decode() if as_text else self._body

    def close(self) -> None:
        pass


class HttpClient:
    """Requests to ``127.0.0.1:port`` from ``source`` (a loopback address), no cookies kept
    unless set explicitly."""

    def __init__(self, port: int, source: str = "127.0.0.1",
                 headers: dict[str, str] | None = None) -> None:
        self.port, self.source = port, source
        self.headers = headers or {}
        self.cookie: str | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str | None = None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                                source_address=(self.source, 0))
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        if self.cookie:
            headers["Cookie"] = self.cookie
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = Answer(response.status, dict(response.getheaders()), response.read())
        connection.close()
        cookie = answer.headers.get("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";")[0]
        return answer

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, json: Any = None, data: Any = None,
             content_type: str | None = None, headers: dict[str, str] | None = None
             ) -> Answer:
        """Like the test client's: a JSON body, a form (a dict) or bytes; ``headers`` for this
        request only."""
        kept, self.headers = self.headers, {**self.headers, **(headers or {})}
        try:
            if json is not None:
                return self.request("POST", path, _json_bytes(json), "application/json")
            if isinstance(data, dict):
                return self.request("POST", path, urlencode(data, doseq=True).encode(),
                                    "application/x-www-form-urlencoded")
            return self.request("POST", path, data, content_type)
        finally:
            self.headers = kept


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def multipart(fields: dict[str, Any], files: dict[str, tuple[str, str, bytes]]
              ) -> tuple[bytes, str]:
    """Encode a multipart/form-data body; returns (body, content type)."""
    boundary = "----integrity-test-boundary-7f3a"
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                         f"{item}\r\n".encode())
    for name, (filename, kind, content) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'.encode()
                     + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
