"""`python -m calib.hub.singleuser NOTEBOOK`: one person's Voila server behind the hub, run by its Spawner.

JupyterHub gives the server its address and prefix in the environment (`JUPYTERHUB_SERVICE_URL`,
`JUPYTERHUB_SERVICE_PREFIX`, and the OAuth client it signs people in with). Voila serves the one
notebook the hub prepared, with the workbench's defaults (calib.apps.voila), checking the hub's
sign-in itself on every page and kernel websocket: only the server's owner gets in (JupyterHub's
`access:servers` scope; operators hold `admin:servers` only). The Host header must name this
machine or the hub's public name (`CALIB_HUB_HOST`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

from calib.apps.access import allowed_hosts
from calib.apps.voila import voila_app, voila_argv

PUBLIC_HOST = "CALIB_HUB_HOST"  # the name people type to reach the hub (its --host)
TEMPLATES = "CALIB_TEMPLATE_ROOT"  # where the hub wrote the `calib` Voila template


def main(argv: list[str] | None = None) -> int:
    """Serve the notebook named on the command line behind the hub; returns when the server stops."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m calib.hub.singleuser NOTEBOOK (started by calib hub's Spawner)", file=sys.stderr)
        return 2
    notebook = Path(args[0])
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    host = url.hostname or "127.0.0.1"
    allowed = allowed_hosts(host) | {name for name in os.environ.get(PUBLIC_HOST, "").split(",") if name}
    beside = notebook.resolve().parent.parent / "voila-template"  # where calib cut and the hub write it
    templates = os.environ.get(TEMPLATES) or (str(beside) if beside.is_dir() else "")
    if templates:
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [templates, os.environ.get("JUPYTER_PATH", "")]))
    flags = voila_argv(notebook, host=host, port=url.port or 80, open_browser=False, hub_prefix=prefix, pool_size=1)
    from jupyterhub import __version__ as hub_version

    # the version header JupyterHub checks its servers for (else it warns at every start)
    voila_app(frozenset(allowed), {"X-JupyterHub-Version": hub_version}).launch_instance(argv=flags)
    return 0


if __name__ == "__main__":
    sys.exit(main())
