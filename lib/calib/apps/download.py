"""A button that hands a file the kernel makes to the browser as a download: no path on the server.

The browser asks (a widget message), the kernel answers with the file's name, type and text, and
the page saves it through a Blob link: the file lands wherever the person's browser keeps
downloads, and nothing is written on the server. The JavaScript ships inline (anywidget), so the
page fetches nothing from the network.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import anywidget
import traitlets

from calib.errors import WorkbenchError

DOWNLOAD_ESM = """
function render({ model, el }) {
  const button = document.createElement("button");
  button.className = "jupyter-widgets jupyter-button widget-button calib-download";
  const draw = () => {
    button.textContent = model.get("label");
    button.title = model.get("tooltip");
    button.disabled = model.get("disabled");
  };
  draw();
  model.on("change:label change:tooltip change:disabled", draw);
  button.addEventListener("click", () => model.send({ event: "request" }));
  model.on("msg:custom", (msg) => {
    if (!msg || msg.event !== "file") return;
    const url = URL.createObjectURL(new Blob([msg.text], { type: msg.mime }));
    const link = document.createElement("a");
    link.href = url;
    link.download = msg.name;
    link.style.display = "none";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  });
  el.appendChild(button);
}
export default { render };
"""


@dataclass(frozen=True)
class File:
    """A file to download: its name (no folders), media type and text."""

    name: str
    mime: str
    text: str


class Download(anywidget.AnyWidget):
    """A button; a click asks `make()` for a `File` and the browser saves it.

    `on_done(message)` is called with a line to show after each request: what was sent, or why
    not (a WorkbenchError's own words; anything else is logged and reported as an internal error).
    """

    _esm = DOWNLOAD_ESM
    label = traitlets.Unicode("Download").tag(sync=True)
    hint = traitlets.Unicode("").tag(sync=True)  # hover text (DOMWidget's `tooltip` needs a description)
    disabled = traitlets.Bool(False).tag(sync=True)

    def __init__(self, make: Callable[[], File], on_done: Callable[[str, bool], None], **kwargs):
        super().__init__(**kwargs)
        self._make, self._on_done = make, on_done
        self.on_msg(self._on_request)

    def _on_request(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict) or content.get("event") != "request" or self.disabled:
            return
        try:
            file = self._make()
        except WorkbenchError as exc:
            self._on_done(f"Not downloaded: {exc}", False)
            return
        except Exception:
            traceback.print_exc(file=sys.__stderr__)
            self._on_done("Not downloaded: an internal error (see the server log).", False)
            return
        self.send({"event": "file", "name": file.name, "mime": file.mime, "text": file.text})
        self._on_done(f"Sent {file.name} to your browser's downloads.", True)
