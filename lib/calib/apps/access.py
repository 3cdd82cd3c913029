"""Who may reach a served app: one Host allow-list, the token's handling, the routes served, quiet kernels.

The workbench's Voila servers (calib.apps.voila) apply these rules, each in this one place:

- **Host.** Every request, whatever its route (page, kernel websocket, static file), is refused
  with 403 unless its `Host` header names this machine's loopback (`localhost`, 127.0.0.0/8,
  ::1) or the one name the server was started with (`--host`). A web page on another name
  cannot reach the server through DNS rebinding. A wildcard address (0.0.0.0, ::) is refused at
  start: it would have to accept whatever name a request claims.
- **Token.** Jupyter Server's identity provider asks a token on every server, loopback included
  (Voila's page, kernels and shutdown handlers check it); the first request carries it as
  `?token=`, gets the signed login cookie, and is redirected to the same URL without it, so the
  token never stays in the address bar, the history or a projected screen.
- **Routes.** Only what the apps use: the page, its kernel's websocket and shutdown, and Voila's
  static assets (package files, as Jupyter Server serves its own). `/voila/query/<kernel>` (which
  answered anyone with the page's query string) and `/voila/files/` (files beside the notebook)
  are not served; `ROUTES_WITHOUT_SIGN_IN` lists the asset routes that need none.
- **Quiet kernels.** A kernel's error replies and its stderr (tracebacks, warnings with server
  paths) never go over the websocket: `QuietConnection` drops them and the server's log keeps them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from tornado import web
from tornado.routing import Router

WILDCARDS = frozenset({"0.0.0.0", "::", "[::]", ""})
LOOPBACK_NAMES = frozenset({"localhost"})
# Voila's routes that serve package files only (JavaScript, CSS, themes): no data, no sign-in
ROUTES_WITHOUT_SIGN_IN = ("/voila/templates/", "/voila/static/", "/voila/api/themes/", "/voila/labextensions/")
DROPPED_ROUTES = ("/voila/query/", "/voila/files/")  # see the module docstring
REFUSED_HOST = "This server answers only to the name it was started with."


def bare_host(header: str) -> str:
    """The name or address of a `Host` header: no port, no IPv6 brackets, lower case, no final dot."""
    text = header.strip().lower()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    return text.rstrip(".")


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) only accepts connections from this machine."""
    host = bare_host(host) if host.startswith("[") else host.lower().rstrip(".")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str) -> frozenset[str]:
    """The `Host` names a server bound to `host` answers to, besides any loopback address.

    Raises
    ------
    ValueError
        For a wildcard address, which would have to trust whatever name a request claims.
    """
    if host.strip() in WILDCARDS:
        raise ValueError(
            f"--host {host or '(empty)'} would listen on every interface and answer to any name: give the "
            "address or the name people will type (e.g. --host 10.0.0.5 or --host calib.example.org)"
        )
    name = bare_host(host) if host.startswith("[") else host.strip().lower().rstrip(".")
    return LOOPBACK_NAMES | {name}


def host_allowed(header: str | None, allowed: Iterable[str]) -> bool:
    """Whether a request whose `Host` header is `header` may be answered (see the module docstring)."""
    if not header:
        return False
    host = bare_host(header)
    return host in set(allowed) or is_loopback(host)


def without_token(path: str, query: str) -> str:
    """`path?query` with every `token` argument removed (the rest kept in order)."""
    from urllib.parse import parse_qsl, urlencode

    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "token"]
    return path + (f"?{urlencode(kept)}" if kept else "")


def served_routes(routes: list[tuple], page_handler: type, page: type) -> list[tuple]:
    """Voila's routes as the apps serve them: `page` (Voila's page handler) replaced by `page_handler`,
    `DROPPED_ROUTES` answered by `NotServed`."""
    served = []
    for route in routes:
        if any(dropped in route[0] for dropped in DROPPED_ROUTES):
            served.append((route[0], NotServed))
        else:
            served.append((route[0], page_handler, *route[2:]) if route[1] is page else route)
    return served


class HostRefused(web.RequestHandler):
    """The answer to a request whose Host is not allowed: 403 and one line, whatever the route."""

    def prepare(self) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(REFUSED_HOST + "\n")


class NotServed(web.RequestHandler):
    """A route Voila has and the apps do not use (`DROPPED_ROUTES`): 404, before the page's catch-all sees it."""

    def prepare(self) -> None:
        raise web.HTTPError(404)


class HostGuard(Router):
    """A router in front of an application's own: a request with another Host never reaches a handler."""

    def __init__(self, application: web.Application, inner: Router, allowed: frozenset[str]):
        self.application, self.inner, self.allowed = application, inner, allowed

    def find_handler(self, request, **kwargs):
        if host_allowed(request.headers.get("Host"), self.allowed):
            return self.inner.find_handler(request, **kwargs)
        return self.application.get_handler_delegate(request, HostRefused)


def host_guard(application: web.Application, allowed: frozenset[str]) -> None:
    """Make `application` refuse, on every route, a Host that is not loopback or in `allowed`.

    The check sits in front of the application's router, so no handler (static files and
    websockets included) can forget it.
    """
    if not isinstance(application.default_router, HostGuard):
        application.default_router = HostGuard(application, application.default_router, allowed)


class QuietConnection(ZMQChannelsWebsocketConnection):
    """Jupyter Server's kernel websocket connection, minus errors and stderr (see `silenced`)."""

    def handle_outgoing_message(self, stream: str, outgoing_msg: list) -> None:
        _, parts = self.session.feed_identities(outgoing_msg)
        if len(parts) >= 5:
            header = self.session.unpack(parts[1])
            if silenced(header, lambda: self.session.unpack(parts[4])):
                self.log.warning("kernel %s, not sent to the page: %s", self.kernel_id, kept_text(
                    self.session.unpack(parts[4])))
                return
        super().handle_outgoing_message(stream, outgoing_msg)


TRACEBACK_LINE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
REPLIES = ("execute_reply", "inspect_reply", "complete_reply", "history_reply", "shutdown_reply", "comm_info_reply")


def kept_text(content: dict) -> str:
    """What the server's log keeps of a silenced message: its text or its traceback."""
    if "traceback" in content:
        return "\n".join([f"{content.get('ename', '')}: {content.get('evalue', '')}", *content["traceback"]])
    return str(content.get("text", content))


def silenced(header: dict, content: Callable[[], dict]) -> bool:
    """Whether a kernel message must not reach the page: an error, stderr, or anything carrying a traceback.

    `content` returns the message's content (unpacked only for the types that need it).
    """
    kind = header.get("msg_type")
    if kind == "error":
        return True
    if kind == "stream":
        body = content()
        return body.get("name") == "stderr" or bool(TRACEBACK_LINE.search(str(body.get("text", ""))))
    if kind in REPLIES:
        body = content()
        return body.get("status") == "error" or "traceback" in body
    return False
