"""Who reaches a served app: the Host allow-list, the token, the routes, and what a kernel sends back.

The rules are tested pure, then probed on the real servers (`calib serve` and `calib explore`,
Voila in a subprocess) over plain HTTP and the kernel's websocket, as an attacker would: a page
on another name (DNS rebinding), a client without the token, a crafted widget message.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from probe import kernel_messages, kernel_of, message, request, sign_in

from calib.apps import access
from calib.bench.dashboard import serving, wait_until

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "data_samples" / "cycle.yml"
APPS = {
    "dashboard": {"command": ("serve",), "banner": "Calibration dashboard for", "shows": "Calibration dashboard"},
    "explorer": {
        "command": ("explore", "--manager", "E0049"),
        "banner": "Team explorer for",
        "shows": "Omar Fernandes",
    },
}
EVIL = "rebound.example"


# -- the rules, pure -------------------------------------------------------------------------------------
def test_a_host_is_answered_only_when_it_names_this_machine_or_the_served_name():
    loopback = access.allowed_hosts("127.0.0.1")
    for header in ("127.0.0.1:8866", "localhost:8866", "LOCALHOST", "[::1]:8866", "127.0.0.2", "localhost."):
        assert access.host_allowed(header, loopback), header
    for header in (f"{EVIL}:8866", "127.0.0.1.nip.io", "10.0.0.5:8866", "", None, "localhost.evil.example"):
        assert not access.host_allowed(header, loopback), header
    named = access.allowed_hosts("calib.example.org")
    assert access.host_allowed("calib.example.org:8866", named) and access.host_allowed("CALIB.example.org.", named)
    assert not access.host_allowed("other.example.org", named)
    assert access.host_allowed("10.0.0.5:80", access.allowed_hosts("10.0.0.5"))
    for wildcard in ("0.0.0.0", "::", ""):
        with pytest.raises(ValueError, match="every interface"):
            access.allowed_hosts(wildcard)


def test_the_token_is_taken_out_of_the_url_and_the_rest_kept():
    assert access.without_token("/", "token=abc") == "/"
    assert access.without_token("/", "a=1&token=abc&b=two+words") == "/?a=1&b=two+words"


def test_a_kernels_errors_and_stderr_are_silenced_and_the_rest_passes():
    def kind(msg_type: str, content: dict | None = None) -> bool:
        return access.silenced({"msg_type": msg_type}, lambda: content or {})

    assert kind("error", {"ename": "ValueError", "traceback": ["..."]})
    assert kind("stream", {"name": "stderr", "text": "a warning"})
    assert kind("stream", {"name": "stdout", "text": 'Traceback (most recent call last):\n  File "/srv/x.py", line 3'})
    assert kind("comm_info_reply", {"status": "error", "ename": "x"})
    assert not kind("stream", {"name": "stdout", "text": "hello"})
    assert not kind("comm_msg", {"data": {"method": "update"}})
    assert not kind("status", {"execution_state": "idle"})
    assert not kind("comm_info_reply", {"status": "ok", "comms": {}})


# -- the real servers ----------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=list(APPS))
def app(request, tmp_path_factory):
    spec = APPS[request.param]
    workdir = tmp_path_factory.mktemp(request.param)
    with serving(SAMPLE, workdir, command=spec["command"], banner=spec["banner"]) as server:
        token = re.search(r"\?token=([\w-]+)", server.text()).group(1)
        yield server, token, spec


def test_no_route_answers_another_host_even_with_the_token(app):
    server, token, _ = app
    cookies = sign_in(server.port, token)
    page = request(server.port, "/", cookies=cookies)
    kernel = kernel_of(page.body)
    for path in (
        "/",
        f"/?token={token}",
        "/login",
        "/voila/static/voila.js",
        "/voila/templates/lab/static/voila.js",
        "/api/kernels",
        f"/api/kernels/{kernel}",
        f"/voila/query/{kernel}",
        "/no/such/route",
    ):
        for host in (f"{EVIL}:{server.port}", EVIL, f"127.0.0.1.{EVIL}"):
            reply = request(server.port, path, host=host, cookies=cookies)
            assert reply.status == 403 and reply.body.strip() == access.REFUSED_HOST, (path, host, reply.status)
            assert "kernelId" not in reply.body
    status, received = kernel_messages(
        server.port, kernel, cookies, [message("comm_info_request", {})], host=f"{EVIL}:{server.port}", listen=2
    )
    assert status == 403 and received == []
    assert request(server.port, "/voila/static/voila.js").status == 200  # the control: this route exists


def test_no_page_kernel_or_query_without_the_token(app):
    server, token, spec = app
    cookies = sign_in(server.port, token)
    kernel = kernel_of(request(server.port, "/", cookies=cookies).body)
    for path in ("/", "/?token=not-the-token", f"/{kernel}", "/voila/render/x.ipynb"):
        reply = request(server.port, path)
        assert reply.status == 302 and reply.headers["Location"].startswith("/login"), (path, reply.status)
    login = request(server.port, "/login")
    assert login.status == 200 and spec["shows"] not in login.body and "kernelId" not in login.body
    assert request(server.port, f"/api/kernels/{kernel}").status == 403
    for path, method in (("/api/kernels", "GET"), (f"/voila/api/shutdown/{kernel}", "POST"), ("/api/contents", "GET")):
        assert refused(request(server.port, path, method=method)), path
    for path in (f"/voila/query/{kernel}", "/voila/files/notebook.ipynb", "/voila/files/"):
        for jar in (None, cookies):  # not served at all, signed in or not
            assert request(server.port, path, cookies=jar, headers=UPGRADE).status == 404, (path, jar)
    status, received = kernel_messages(server.port, kernel, None, [message("comm_info_request", {})], listen=2)
    assert status == 403 and received == []
    status, received = kernel_messages(server.port, kernel, cookies, [message("comm_info_request", {})], listen=4)
    assert status is None and any(m["header"]["msg_type"] == "comm_info_reply" for m in received)  # the control


def refused(reply) -> bool:
    """403 or 404, or sent to the login page: nothing served."""
    login = reply.status == 302 and reply.headers.get("Location", "").startswith("/login")
    return (reply.status in (403, 404) or login) and "kernelId" not in reply.body


UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


def test_the_token_signs_in_once_and_leaves_the_address_bar(app):
    server, token, spec = app
    first = request(server.port, f"/?token={token}")
    assert first.status == 302 and first.headers["Location"] == "/" and first.cookies
    assert "httponly" in first.headers.get("Set-Cookie", "").lower()
    page = request(server.port, "/", cookies=first.cookies)
    assert page.status == 200 and spec["shows"] in page.body and token not in page.body
    assert server.text().count(token) == 1  # printed once, in the URL to open


def test_no_traceback_reaches_the_page_over_the_kernels_websocket(app):
    server, token, _ = app
    cookies = sign_in(server.port, token)
    kernel = kernel_of(request(server.port, "/", cookies=cookies).body)
    _, info = kernel_messages(server.port, kernel, cookies, [message("comm_info_request", {})], listen=4)
    comms = next(m for m in info if m["header"]["msg_type"] == "comm_info_reply")["content"]["comms"]
    assert comms
    # every widget gets a state it must refuse (a list index past the end, a value of the wrong type)
    bad_state = {"index": 99999, "value": 12345, "selected_index": -7, "layout": "IPY_MODEL_nope"}
    crafted = [
        message("comm_msg", {"comm_id": comm, "data": {"method": "update", "state": bad_state, "buffer_paths": []}})
        for comm in comms
    ]
    log_before = server.text()
    _, received = kernel_messages(server.port, kernel, cookies, crafted, listen=12)
    assert received  # the kernel answered (busy/idle, state echoes): the control
    sent = json.dumps(received)
    assert {m["header"]["msg_type"] for m in received} <= {"status", "comm_msg", "comm_close", "comm_open"}
    for leak in ("Traceback", 'File "', str(ROOT), "site-packages", "TraitError"):
        assert leak not in sent, leak
    wait_until(lambda: "not sent to the page" in server.text()[len(log_before):], 30, "the server's log", server)
    assert "Traceback" in server.text()[len(log_before):]  # ... which keeps what the page did not get


def test_a_wildcard_host_is_refused_before_anything_is_served(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "calib.cli", "serve", str(SAMPLE), "--host", "0.0.0.0", "--no-browser", "--port", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: --host 0.0.0.0 would listen on every interface and answer to any name: give the address or the "
        "name people will type (e.g. --host 10.0.0.5 or --host calib.example.org)"
    ]
