"""ASGI middleware for the sync transport: gzip request bodies, size limits, protocol version.

Requests may arrive gzip-compressed (`Content-Encoding: gzip`); they are inflated here, with a cap
on both the compressed and the inflated size so a small bomb cannot exhaust memory. Sync requests
must name the protocol they speak in the `X-GridSweep-Protocol` header; an older app is told to
update before its body is even parsed.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.protocol import MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION


class _TooLarge(Exception):
    pass


async def _send_problem(send: Send, status: int, code: str, detail: str) -> None:
    titles = {400: "Bad request", 413: "Too large", 426: "Upgrade required"}
    body = json.dumps(
        {
            "type": "about:blank",
            "title": titles.get(status, "Error"),
            "status": status,
            "detail": detail,
            "code": code,
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SyncTransportMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        sync_prefix: str,
        upload_path: str | None = None,
        max_upload_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.sync_prefix = sync_prefix
        # File uploads (platform data) may be larger than any sync request.
        self.upload_path = re.compile(upload_path) if upload_path else None
        self.max_upload_bytes = max_upload_bytes or max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if scope["path"].startswith(self.sync_prefix):
            problem = protocol_problem(headers.get(PROTOCOL_HEADER.lower()))
            if problem is not None:
                await _send_problem(send, *problem)
                return
        declared = headers.get("content-length")
        upload = self.upload_path is not None and self.upload_path.match(scope["path"])
        if upload and declared is not None and declared.isdigit():
            if int(declared) > self.max_upload_bytes:
                limit = self.max_upload_bytes // (1024 * 1024)
                await _send_problem(send, 413, "too_large", f"the file is larger than {limit} MiB")
                return
            if headers.get("content-encoding", "").lower() != "gzip":
                await self.app(scope, receive, send)  # streamed to a temporary file
                return
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _send_problem(send, 413, "too_large", self._too_large_detail())
            return
        gzipped = headers.get("content-encoding", "").lower() == "gzip"
        if not gzipped and declared is not None:
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(receive)
            if gzipped:
                body = self._inflate(body)
        except _TooLarge:
            await _send_problem(send, 413, "too_large", self._too_large_detail())
            return
        except zlib.error:
            await _send_problem(send, 400, "bad_encoding", "the request body is not valid gzip")
            return
        if gzipped:
            scope = dict(scope)
            scope["headers"] = [
                (k, v)
                for k, v in scope["headers"]
                if k.lower() not in (b"content-encoding", b"content-length")
            ] + [(b"content-length", str(len(body)).encode())]
        await self.app(scope, _replay(body, receive), send)

    def _too_large_detail(self) -> str:
        return (
            f"the request is larger than {self.max_body_bytes // (1024 * 1024)} MiB; "
            "send fewer operations per batch"
        )

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _inflate(self, body: bytes) -> bytes:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out = inflater.decompress(body, self.max_body_bytes + 1)
        if len(out) > self.max_body_bytes or inflater.unconsumed_tail:
            raise _TooLarge
        return out


def protocol_problem(header: str | None) -> tuple[int, str, str] | None:
    if header is None or not header.strip().isdigit():
        return (
            426,
            "protocol_outdated",
            f"this app is too old for the server (it must send {PROTOCOL_HEADER}); "
            "please update the app / 请更新应用后再同步",
        )
    version = int(header)
    if version < MIN_PROTOCOL_VERSION:
        return (
            426,
            "protocol_outdated",
            f"this app speaks sync protocol {version}, the server needs {MIN_PROTOCOL_VERSION} "
            f"or newer; please update the app / 请更新应用后再同步",
        )
    if version > PROTOCOL_VERSION:
        return (
            400,
            "protocol_unsupported",
            f"this app speaks sync protocol {version}, newer than the server's {PROTOCOL_VERSION}; "
            "ask an administrator to update the server",
        )
    return None


def _replay(body: bytes, upstream: Receive) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            # After the body, wait for the real disconnect: answering "disconnect" at once makes
            # streamed responses (FileResponse, StreamingResponse) stop before they send a byte.
            return await upstream()
        sent = True
        message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
        return message

    return receive
