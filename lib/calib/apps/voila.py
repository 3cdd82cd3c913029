"""Serving a notebook with Voila the workbench's way: offline, loopback, a token, no code, preheated kernels.

Shared by `calib serve` (the dashboard, calib.apps.serve) and `calib explore` (the manager's
explorer, calib.apps.explorer.serve):

- `write_served_notebook`: a copy of a notebook with its parameters injected by papermill, the
  only way paths reach a kernel. In single-notebook mode Voila serves only that file and the
  notebooks never read URL parameters, so a URL cannot choose what the kernel reads. (Voila's
  `prelaunch_hook` could inject them per request instead, but Voila refuses a prelaunch hook
  together with preheated kernels, and preheating is what makes a page load fast.)
- `voila_argv`: secure defaults. It binds 127.0.0.1 unless told otherwise, asks a token on every
  server (loopback included), answers only to its own Host names (calib.apps.access); no
  tracebacks or code reach the page, over HTTP or the kernel's websocket; preheated kernels; idle
  kernels of closed tabs are culled; kernels accept only widget messages from the page (Voila's
  own rule), never code.
- `write_template`: Voila's lab template without its CDN stylesheets: the page fetches nothing
  from the network.
- `launch`: print the URL with a fresh token and run Voila in this process (`voila_app`: the page
  handler fixed, the routes the apps do not use removed, the Host guard in front of every route,
  preheated kernels started one at a time: calib.apps.pool).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

from calib.apps.access import LOOPBACK_NAMES, allowed_hosts, host_guard, is_loopback, served_routes, without_token

TEMPLATE = "calib"
POOL_SIZE = 2  # preheated kernels waiting for the next viewer: two fit a 2-core machine
CULL_IDLE_TIMEOUT = 300  # seconds an idle kernel with no open tab lives on
CULL_INTERVAL = 60

# Voila's lab template, minus its Font Awesome CDN stylesheets and the Mermaid loader: no request
# ever leaves the server. Everything else (widget manager, spinner, styles) is the lab template's.
TEMPLATE_INDEX = """\
{%- extends 'lab/index.html.j2' -%}
{% import "spinner.macro.html.j2" as spinner %}
{%- block notebook_css -%}
  {% if frontend == "voila" %}
    {{ resources.include_js("static/voila-style.js") }}
  {% endif %}
  {{ spinner.css() }}
  <style>
    .jp-mod-noOutputs.jp-mod-noInput { display: none; }
  </style>
  {{ super.super() }}
{%- endblock notebook_css -%}
{%- block html_head_js_mermaidjs -%}
{%- endblock html_head_js_mermaidjs -%}
"""
TEMPLATE_CONF = {"base_template": "lab"}


def write_served_notebook(source: Path, parameters: Mapping[str, object], folder: Path) -> Path:
    """`source` with `parameters` injected by papermill, written as folder/<name> (Voila's root).

    The copy is rewritten only when the notebook or the parameters change. A UsageError names a
    missing notebook (the apps run from a clone of the repository).
    """
    from calib.errors import UsageError
    from calib.files import write_text_atomic

    if not source.is_file():
        raise UsageError(f"the notebook {source} is missing (run from a clone of the repository)")
    key = hashlib.sha256(source.read_bytes() + json.dumps(dict(parameters), sort_keys=True).encode()).hexdigest()
    target = Path(folder) / source.name
    if target.is_file():
        try:
            if json.loads(target.read_text(encoding="utf-8"))["metadata"].get("calib_served_from") == key:
                return target
        except (ValueError, KeyError):
            pass  # unreadable: write it again
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    notebook = load_notebook_node(str(source))  # papermill's reader: every cell gets a tags list
    notebook.metadata.pop("jupytext", None)
    parameterized = parameterize_notebook(notebook, dict(parameters), kernel_name="python3", language="python")
    parameterized.metadata["calib_served_from"] = key
    write_text_atomic(target, nbformat.writes(parameterized))
    return target


def write_template(cache_root: Path) -> Path:
    """Write the `calib` Voila template; returns the folder to add to JUPYTER_PATH."""
    from calib.files import write_text_atomic

    root = Path(cache_root).resolve() / "voila-template"
    folder = root / "voila" / "templates" / TEMPLATE
    write_text_atomic(folder / "index.html.j2", TEMPLATE_INDEX)
    write_text_atomic(folder / "conf.json", json.dumps(TEMPLATE_CONF) + "\n")
    return root


HUB_IDENTITY = "jupyterhub.singleuser.extension.JupyterHubIdentityProvider"


def voila_argv(
    notebook: Path,
    *,
    host: str,
    port: int,
    open_browser: bool,
    token: str | None = None,
    hub_prefix: str | None = None,
    pool_size: int = POOL_SIZE,
) -> list[str]:
    """Voila's command line: secure, fast and steady defaults (see the module docstring).

    Parameters
    ----------
    token
        On a laptop: the token every request must carry (or the login cookie it earns), loopback included.
    hub_prefix
        Behind JupyterHub instead (`/user/NAME/`): no token; Voila itself checks the hub's sign-in,
        on the page and on the kernel's websocket alike (JupyterHub's identity provider).
    pool_size
        Preheated kernels (one person's server behind the hub needs one).
    """
    if (token is None) == (hub_prefix is None):
        raise ValueError("a token is required, on loopback too (or, behind JupyterHub, its sign-in)")
    if token is not None and not token:
        raise ValueError("a token is required, on loopback too")
    allowed_hosts(host)  # a wildcard address is refused before anything starts
    access = [f"--Voila.token={token}"] if token else [
        f"--Voila.base_url={hub_prefix}",
        f"--Voila.server_url={hub_prefix}",
        f"--Voila.identity_provider_class={HUB_IDENTITY}",
    ]
    return [
        str(notebook),
        f"--Voila.ip={host}",
        f"--Voila.port={port}",
        "--Voila.port_retries=0",  # the port asked for, or a clear failure: never a surprise port
        f"--Voila.open_browser={open_browser}",
        *access,
        "--Voila.kernel_websocket_connection_class=calib.apps.access.QuietConnection",
        f"--VoilaConfiguration.template={TEMPLATE}",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.preheat_kernel=True",
        f"--VoilaConfiguration.default_pool_size={pool_size}",
        "--VoilaConfiguration.extension_denylist=jupyterlab-jupytext",  # its lab extension errors inside Voila
        "--KernelManager.transport=ipc",  # kernels talk over Unix sockets in a private folder, no TCP ports
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_TIMEOUT}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL}",
        # A tab still open on the projector keeps its kernel however long the room talks;
        # a closed tab disconnects, and its kernel is culled after the idle timeout.
        "--MappingKernelManager.cull_connected=False",
    ]


def app_url(host: str, port: int, token: str | None) -> str:
    """The URL to open (with the token when one is given)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def launch(
    notebook: Path, cache_root: Path, *, host: str, port: int, no_browser: bool, banner: str, warning: str
) -> int:
    """Serve `notebook` with Voila in this process until stopped; prints `banner: URL` first.

    A fresh token is made for each start and printed once, in the URL; off loopback `warning`
    follows it. Unless `no_browser`, the browser opens that URL (through a private file, so the
    token is not on a command line).
    """
    from calib.errors import UsageError

    try:
        allowed = allowed_hosts(host)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    template_root = write_template(cache_root)
    token = secrets.token_urlsafe(32)
    argv = voila_argv(notebook, host=host, port=port, token=token, open_browser=not no_browser)
    print(f"{banner}: {app_url(host, port, token)}", flush=True)
    if not is_loopback(host):
        print(warning, flush=True)
    paths = [str(template_root), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)  # where Voila finds the `calib` template
    sys.stdout.flush()
    voila_app(allowed).launch_instance(argv=argv)
    return 0


def browser_file(url: str) -> Path:
    """A private (0600) HTML file that sends the browser on to `url`: the token stays off command lines."""
    import html
    import tempfile

    handle, name = tempfile.mkstemp(prefix="calib-open-", suffix=".html")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        target = html.escape(url, quote=True)
        out.write(f'<!doctype html><meta http-equiv="refresh" content="0;url={target}"><a href="{target}">open</a>\n')
    return Path(name)


def scrubbed_log(handler) -> None:
    """Jupyter Server's request log line (tokens in URLs shown as [secret]), without its metrics."""
    from jupyter_server.log import log_request

    log_request(handler, record_prometheus_metrics=False)


def voila_app(allowed: frozenset[str] = LOOPBACK_NAMES, headers: Mapping[str, str] | None = None):
    """Voila's application with the workbench's fixes (see PageHandler and CalibVoila), `headers` on every answer.

    Its preheated kernels start one at a time (calib.apps.pool): Voila makes its kernel manager
    through `voila.app.voila_kernel_manager_factory`, wrapped here, in the server's own process.
    """
    import voila.app
    from voila.app import Voila
    from voila.tornado.handler import TornadoVoilaHandler

    from calib.apps.pool import one_at_a_time

    voila.app.voila_kernel_manager_factory = one_at_a_time(voila.app.voila_kernel_manager_factory)

    class PageHandler(TornadoVoilaHandler):
        """The page, with four fixes.

        - A request that signed in with `?token=` is sent on to the same URL without it (it now
          holds the login cookie): the token leaves the address bar, the history and the screen.
        - It sets the `_xsrf` cookie: the page shuts its kernel down on `beforeunload` with a beacon
          that echoes that cookie, which Voila never sets, so every shutdown failed with 403 and
          kernels piled up until culled (voila-dashboards/voila#1458).
        - A page asked for just after start waits for the pooled kernel already starting instead of
          starting one more (Voila records its pool only once a pooled kernel runs).
        - `?template=` and `?theme=` are ignored: a URL chooses nothing on the server (another
          template would also fetch fonts from a CDN and skip the preheated kernels).
        """

        async def get(self, path=None):
            if "token" in self.request.query_arguments and self.current_user:
                self.redirect(without_token(self.request.path, self.request.query))
                return
            self.xsrf_token  # noqa: B018 (a property read for its side effect: the _xsrf cookie)
            await super().get(path)

        def get_argument(self, name, default=None, strip=True):
            if name in ("template", "theme"):
                return default
            return super().get_argument(name, default, strip)

        def should_use_rendered_notebook(self, notebook_data, pool_size, template_name, theme, request_args):
            if pool_size > 0 and not notebook_data:
                return True
            return super().should_use_rendered_notebook(notebook_data, pool_size, template_name, theme, request_args)

    class CalibVoila(Voila):
        """Voila with the page handler above, only the routes the apps use, and the Host guard in front."""

        def init_handlers(self):
            routes = served_routes(super().init_handlers(), PageHandler, TornadoVoilaHandler)
            # Voila adds the identity provider's own routes (JupyterHub's /oauth_callback and
            # /logout) without its base URL: behind the hub they must sit under /user/NAME/.
            own = {route[0] for route in self.identity_provider.get_handlers()}
            prefix = self.base_url.rstrip("/")
            return [(prefix + route[0], *route[1:]) if route[0] in own else route for route in routes]

        def listen(self):
            host_guard(self.app, allowed)
            self.app.settings["log_function"] = scrubbed_log  # a logged URL never carries the token
            self.app.settings.setdefault("headers", {}).update(headers or {})
            super().listen()

        def launch_browser(self):
            import threading
            import webbrowser

            page = browser_file(app_url(self.ip, self.port, self.token))
            threading.Thread(target=lambda: webbrowser.open(page.as_uri(), new=2), daemon=True).start()

    return CalibVoila
