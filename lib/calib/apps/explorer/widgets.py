"""The explorer's page: a header, the Pairing and Team tabs, and the alignment document as a download.

`ExplorerApp` holds the widgets; each callback is a few lines that call calib.apps.explorer.model
and .views inside `guard`, which shows one friendly line instead of a traceback (the traceback
goes to the server's log). The Pairing tab has a person picker (the manager's people only), the
date of the last pairing (default: four weeks before the date the cycle stands at) and two
buttons that hand the person's alignment document as it stands today (calib.outputs.alignment)
to the browser, as Markdown or HTML (calib.apps.download): the server writes no file and the
page names no path on it. Charts are offline `JupyterChart`s (calib.apps.offline).
"""

from __future__ import annotations

import datetime as dt
import sys
import traceback

import altair as alt

from calib.apps.dashboard.html import PROJECTOR_CSS, esc
from calib.apps.dashboard.layout import bolder, projector
from calib.apps.download import Download, File
from calib.apps.explorer.model import Explorer, default_since, open_team, pairing, person_options, stands_at
from calib.apps.explorer.views import EXPLORER_CSS, header_html, pairing_body, pairing_intro, team_html
from calib.apps.guard import error_panel, show_error
from calib.apps.offline import enable_offline_charts
from calib.errors import UsageError, WorkbenchError

TABS = ("Pairing", "Team")
CHART_WIDTH = 980  # fits a laptop's window with the page's margins; on 1920x1080 it leaves room to breathe
FORMATS = {"Markdown": (".md", "text/markdown"), "HTML": (".html", "text/html")}


class ExplorerApp:
    """The widget tree and its callbacks; `widget` is what the notebook displays."""

    def __init__(
        self,
        explorer: Explorer,
        *,
        cycle: str | None = None,
        employee_id: str | None = None,
        since: dt.date | None = None,
    ):
        import ipywidgets as widgets

        self.explorer = explorer
        self.cycle = cycle or None
        self.window, self.as_of = stands_at(explorer, self.cycle)
        options = person_options(explorer)
        if employee_id and employee_id not in {v for _, v in options}:
            raise UsageError(f"{employee_id} is not one of {explorer.manager_id}'s people")
        style = {"description_width": "initial"}
        self.header = widgets.HTML(header_html(explorer, self.window, self.as_of))
        self.header.add_class("calib-header")
        self.error = widgets.HTML(layout=widgets.Layout(display="none"))
        self.error.add_class("calib-error")
        self.person = widgets.Dropdown(
            options=options,
            value=employee_id or options[0][1],
            description="Person",
            style=style,
            layout=widgets.Layout(width="620px"),
        )
        self.person.add_class("calib-person-pick")
        self.since = widgets.DatePicker(
            value=since or default_since(self.as_of, self.window), description="Last pairing", style=style
        )
        self.since.add_class("calib-since")
        self.downloads = [
            Download(
                lambda kind=kind: self.document(kind),
                self._on_download,
                label=f"Download the alignment document ({kind})",
                hint=f"The person's alignment document as it stands today, as {kind}, to your downloads",
            )
            for kind in FORMATS
        ]
        self.status = widgets.HTML()
        self.status.add_class("calib-status")
        self.intro = widgets.HTML()
        self.slot = widgets.Box()
        self.chart: alt.JupyterChart | None = None
        self.body = widgets.HTML()
        controls = widgets.HBox([self.person, self.since])
        controls.add_class("calib-filters")
        document = widgets.HBox(self.downloads)
        document.add_class("calib-doc-row")
        pairing_pane = widgets.VBox([controls, self.intro, document, self.status, self.slot, self.body])
        pairing_pane.add_class("calib-pane")
        self.team = widgets.HTML('<p class="calib-note">Loading…</p>')
        team_pane = widgets.VBox([self.team])
        team_pane.add_class("calib-pane")
        self.tabs = widgets.Tab(children=[pairing_pane, team_pane], titles=list(TABS))
        self._team_drawn = False
        self.widget = widgets.VBox([self.header, self.error, self.tabs])
        self.widget.add_class("calib-dashboard")
        self.widget.add_class("calib-explorer")
        self.person.observe(self._on_person, names="value")
        self.since.observe(self._on_person, names="value")
        self.tabs.observe(self._on_tab, names="selected_index")
        with self.guard():
            self.draw_pairing()

    def guard(self):
        """Run a callback; on failure a friendly panel (the traceback goes to the server's log only)."""
        return error_panel(
            self.error,
            "Something went wrong while drawing this view; the details are in the server's log.",
        )

    def _fail(self, message: str) -> None:
        show_error(self.error, message)

    # callbacks (a few lines each) -----------------------------------------------------------------
    def _on_person(self, change) -> None:
        with self.guard():
            self.status.value = ""
            self.draw_pairing()

    def _on_tab(self, change) -> None:
        if TABS[change["new"] or 0] == "Team" and not self._team_drawn:
            with self.guard():
                self.team.value = team_html(self.explorer, self.cycle)
                self._team_drawn = True

    def _on_download(self, message: str, sent: bool) -> None:
        self.status.value = f'<span class="{"calib-done" if sent else "calib-failed"}">{esc(message)}</span>'

    # drawing and writing ----------------------------------------------------------------------------
    def draw_pairing(self) -> None:
        """Draw the pairing view of the chosen person from the chosen date."""
        view = pairing(self.explorer, self.person.value, since=self.since.value or None, cycle=self.cycle)
        chart = projector(bolder(view.timeline).properties(width=CHART_WIDTH, height=150))
        if self.chart is None:
            self.chart = alt.JupyterChart(chart, embed_options={"renderer": "svg", "actions": False})
            self.slot.children = (self.chart,)
        else:
            self.chart.chart = chart
        self.intro.value = pairing_intro(view)
        self.body.value = pairing_body(view)

    def document(self, kind: str) -> File:
        """The chosen person's alignment document as it stands today, as `kind` (a key of FORMATS)."""
        from calib.outputs.alignment.model import build_documents
        from calib.outputs.alignment.render import file_stem, render_html, render_markdown

        (doc,) = build_documents(
            self.explorer.normalized, [self.person.value], cycle=self.cycle, leveling=self.explorer.leveling
        )
        suffix, mime = FORMATS[kind]
        text = render_markdown(doc) if kind == "Markdown" else render_html(doc)
        return File(f"{file_stem(doc.employee_id)}-alignment-{doc.cycle}{suffix}", f"{mime}; charset=utf-8", text)


def error_widget(message: str):
    """A friendly error panel in place of the explorer (no traceback)."""
    import ipywidgets as widgets

    panel = widgets.HTML(f"<b>The team explorer could not start.</b><pre>{esc(message)}</pre>")
    panel.add_class("calib-error")
    return panel


def launch(
    *,
    snapshot: str = "",
    config: str = "",
    manager_id: str = "",
    cycle: str = "",
    employee_id: str = "",
    last_pairing: str = "",
    assets: str = "",
):
    """The explorer on a scoped snapshot (served), or on a config cut here (JupyterLab); never raises.

    Returns an `ExplorerApp`, or an error panel saying what is wrong in one line.
    """
    try:
        enable_offline_charts(assets)
        if snapshot:
            from calib.apps.explorer.snapshot import load_scoped

            explorer = load_scoped(snapshot)
        elif config and manager_id:
            explorer = open_team(config, manager_id)
        else:
            raise UsageError("give a scoped snapshot (calib explore) or a config and a manager_id")
        try:
            since = dt.date.fromisoformat(last_pairing) if last_pairing else None
        except ValueError:
            raise UsageError(f"last_pairing {last_pairing!r}: expected a date as YYYY-MM-DD") from None
        return ExplorerApp(
            explorer,
            cycle=cycle or None,
            employee_id=employee_id or None,
            since=since,
        )
    except WorkbenchError as exc:
        return error_widget(str(exc))
    except Exception:
        traceback.print_exc(file=sys.__stderr__)
        return error_widget("An internal error stopped the explorer; the details are in the server's log.")


def show(**parameters):
    """Display the styles and the explorer (what the notebook calls, with its parameters); returns the app."""
    from IPython.display import HTML, display

    app = launch(**parameters)
    display(HTML(PROJECTOR_CSS + EXPLORER_CSS))
    display(app.widget if isinstance(app, ExplorerApp) else app)
    return app
