"""Probing a served app as an attacker or a careless client would: raw HTTP and the kernel's websocket.

No browser: plain `http.client` requests (any Host header, with or without the token or the login
cookie) and tornado's websocket client speaking Jupyter's JSON kernel protocol.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str
    cookies: dict[str, str] = field(default_factory=dict)


def request(port: int, path: str, *, host: str | None = None, cookies: dict[str, str] | None = None,
            headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
    """One HTTP request to 127.0.0.1:`port` with the given Host header and cookies; never follows redirects."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    sent = {"Host": host or f"127.0.0.1:{port}", **(headers or {})}
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    connection.request(method, path, headers=sent)
    response = connection.getresponse()
    body = response.read().decode("utf-8", errors="replace")
    jar: dict[str, str] = {}
    for value in response.headers.get_all("Set-Cookie") or []:
        jar.update({k: m.value for k, m in SimpleCookie(value).items()})
    connection.close()
    return Reply(response.status, dict(response.headers.items()), body, jar)


def sign_in(port: int, token: str) -> dict[str, str]:
    """The cookies a browser holds after opening the URL with the token."""
    reply = request(port, f"/?token={token}")
    assert reply.status == 302 and "token" not in reply.headers["Location"], (reply.status, reply.headers)
    return reply.cookies


def kernel_of(page: str) -> str:
    """The kernel id a served page talks to."""
    return re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page).group(1)


def kernel_messages(port: int, kernel_id: str, cookies: dict[str, str] | None, send: list[dict], *,
                    host: str | None = None, listen: float = 8.0) -> tuple[int | None, list[dict]]:
    """Open the kernel's websocket, send `send` (Jupyter messages), and collect what comes back for `listen` s.

    Returns the HTTP status that refused the upgrade (None when it was accepted) and the messages.
    """
    return asyncio.run(_kernel_messages(port, kernel_id, cookies, send, host, listen))


async def _kernel_messages(port, kernel_id, cookies, send, host, listen):
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    headers = {"Host": host or f"127.0.0.1:{port}", "Origin": f"http://{host or f'127.0.0.1:{port}'}"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
    try:
        socket = await websocket_connect(HTTPRequest(url, headers=headers, request_timeout=60))
    except HTTPClientError as exc:
        return exc.code, []
    for message in send:
        await socket.write_message(json.dumps(message))
    received = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + listen
    while (left := deadline - loop.time()) > 0:
        try:
            raw = await asyncio.wait_for(socket.read_message(), left)
        except TimeoutError:
            break
        if raw is None:
            break
        if isinstance(raw, str):
            received.append(json.loads(raw))
    socket.close()
    return None, received


def message(msg_type: str, content: dict, channel: str = "shell") -> dict:
    """A Jupyter message as the page sends it over the websocket (JSON protocol)."""
    msg_id = uuid.uuid4().hex
    return {
        "header": {"msg_id": msg_id, "msg_type": msg_type, "username": "probe", "session": "probe",
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "content": content, "channel": channel, "buffers": [],
    }
