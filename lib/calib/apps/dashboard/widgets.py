"""The calibration dashboard's widgets: what `calib analyze` wrote, filtered, on one projected screen.

`Dashboard` holds the widgets; each callback is a few lines that call the pure views of
calib.apps.dashboard.views inside `guard`, which shows a friendly panel instead of a traceback. A filter
change redraws the visible tab at once and the other tabs when they are opened. Charts are offline
anywidget `JupyterChart`s placed directly in the widget tree (no Output widgets).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import altair as alt
import traitlets

from calib.apps.dashboard.calibrate import calibrate
from calib.apps.dashboard.layout import fit
from calib.apps.dashboard.meeting import POLL_MS, Meeting
from calib.apps.dashboard.ninebox import ninebox
from calib.apps.dashboard.picker import Picker, choices
from calib.apps.dashboard.sizer import ChartSizer
from calib.apps.dashboard.views import (
    ALL,
    PROJECTOR_CSS,
    TABS,
    VIEWS,
    Filters,
    Sources,
    View,
    esc,
    filter_options,
    load_sources,
    manager_options,
    people_in,
    person,
    person_options,
)
from calib.apps.guard import error_panel, show_error
from calib.apps.offline import enable_offline_charts
from calib.errors import WorkbenchError

RESEND_TICKS = 2  # after a change drawn by the poll, the page's state is sent again at the next ticks


# -- widgets -------------------------------------------------------------------------------------
class PageChart(alt.JupyterChart):
    """A JupyterChart whose chart parameters stay in the page (a long chart's page buttons).

    altair mirrors every parameter into the kernel; when a chart with one is replaced by a chart
    without, its page-side listener reads parameters that are gone and throws ("Cannot convert
    undefined or null to object"). Nothing here reads a page's parameters back, so none is mirrored.
    """

    @traitlets.validate("_params")
    def _in_the_page(self, proposal) -> dict:
        return {}


class Pane:
    """One tab: an intro/body HTML and its charts, created on first use and reused (JupyterCharts).

    A view's chart is drawn as `layout.fit` splits it: each part of a stack in its own JupyterChart,
    as wide as the page.
    """

    def __init__(self, widgets, extra: list | None = None):
        self._w = widgets
        self.intro = widgets.HTML(value='<p class="calib-note">Loading…</p>')
        self.html = widgets.HTML()
        self.slot = widgets.VBox(layout=widgets.Layout(display="none", width="100%"))
        self.slot.add_class("calib-charts")
        self.charts: list[PageChart] = []
        self.box = widgets.VBox([*(extra or []), self.intro, self.slot, self.html])
        self.box.add_class("calib-pane")

    @property
    def chart(self) -> PageChart | None:
        """The first chart (what the benchmarks time)."""
        return self.charts[0] if self.charts else None

    def show(self, view: View) -> None:
        """Show a view: its text first (cheap, and what a reader checks once the chart moved), then each part
        of its chart in an existing JupyterChart (no Output widgets)."""
        self.intro.value = view.intro
        self.html.value = view.html
        parts = fit(view.chart) if view.chart is not None else []
        while len(self.charts) < len(parts):
            chart = PageChart(
                parts[len(self.charts)],
                embed_options={"renderer": "svg", "actions": False},
                layout=self._w.Layout(width="100%"),
            )
            self.charts.append(chart)
        for chart, part in zip(self.charts, parts, strict=False):
            if chart.chart is not part:
                chart.chart = part
        for chart in self.charts[len(parts) :]:
            chart.chart = None
        shown = tuple(self.charts[: len(parts)])
        if self.slot.children != shown:
            self.slot.children = shown
        self.slot.layout.display = "flex" if parts else "none"

    def clear(self) -> None:
        """Forget what was shown (so nothing stale, e.g. a name after blind mode, stays in the page)."""
        self.intro.value = '<p class="calib-note">Loading…</p>'
        self.html.value = ""
        for chart in self.charts:
            chart.chart = None


class Dashboard:
    """The widget tree and its callbacks; `widget` is what the notebook displays."""

    def __init__(self, sources: Sources, *, blind: bool = False, meeting: Meeting | None = None):
        import ipywidgets as widgets

        self.sources = sources
        self.meeting = meeting
        self.names = TABS
        if meeting is not None:
            meeting.reload(sources)
            has_potential = meeting.table["potential"].notna().any()
            self.names = ("Calibrate", *(("9-box",) if has_potential else ()), *TABS)
            meeting.on_person = self._reload_person
            meeting.on_change = self._after_action
        self._quiet = False
        options = filter_options(sources)
        cycle = (
            sources.config.cycle
            if (sources.config.cycle, sources.config.cycle) in options["cycle"]
            else options["cycle"][-1][1]
        )
        style = {"description_width": "initial"}
        self.controls = {
            "cycle": widgets.Dropdown(options=options["cycle"], value=cycle, description="Cycle", style=style),
            "org": widgets.Dropdown(options=options["org"], value=ALL, description="Org", style=style),
            "discipline": widgets.Dropdown(
                options=options["discipline"], value=ALL, description="Discipline", style=style
            ),
            "level": widgets.Dropdown(options=options["level"], value=ALL, description="Level", style=style),
            "manager": widgets.Dropdown(
                options=manager_options(sources, blind), value=ALL, description="Manager", style=style
            ),
        }
        widths = {"cycle": "240px", "org": "280px", "discipline": "300px", "level": "200px", "manager": "400px"}
        for name, control in self.controls.items():
            control.layout.width = widths[name]
            control.add_class(f"calib-filter-{name}")
            control.observe(self._on_filter, names="value")
        self.blind = widgets.ToggleButton(
            value=blind,
            description=self._blind_text(blind),
            tooltip="Names and ids become pseudonyms; protected attributes are hidden",
        )
        self.blind.add_class("calib-blind")
        self.blind.observe(self._on_blind, names="value")
        self.header = widgets.HTML()
        self.header.add_class("calib-header")
        self.error = widgets.HTML(layout=widgets.Layout(display="none"))
        self.error.add_class("calib-error")
        self.person_pick = Picker(placeholder="Search by name", noun="people in view", limit=400)
        self.person_pick.layout = widgets.Layout(width="min(640px, 100%)")
        self.person_pick.add_class("calib-person-pick")
        self.person_pick.observe(self._on_person, names="value")
        self._person_ids: dict[str, str] = {key: i for i, key in sources.pseudonyms.items()}  # picker key -> id
        extra = {"Person": [self.person_pick]}
        if meeting is not None:
            extra |= {"Calibrate": meeting.calibrate_controls(), "9-box": meeting.ninebox_controls()}
            meeting.queue.observe(self._on_queue, names="value")
        self.panes = {name: Pane(widgets, extra.get(name)) for name in self.names}
        self.tabs = widgets.Tab(children=[self.panes[n].box for n in self.names], titles=list(self.names))
        self.tabs.observe(self._on_tab, names="selected_index")
        filters_box = widgets.HBox([*self.controls.values(), self.blind])
        filters_box.add_class("calib-filters")
        self.widget = widgets.VBox([self.header, filters_box, self.error, self.tabs, ChartSizer()])
        self.widget.add_class("calib-dashboard")
        self._stale: set[str] = set(self.names)
        self._resend = 0  # poll ticks left in which every widget's state is sent again
        with self.guard():
            self.refresh()
        if meeting is not None:
            self._poll = _every(POLL_MS, self._on_poll)

    # state -------------------------------------------------------------------------------------
    @property
    def filters(self) -> Filters:
        """The filters as the widgets show them."""
        values = {name: control.value for name, control in self.controls.items()}
        return Filters(**values, blind=self.blind.value)

    @property
    def active(self) -> str:
        """The name of the visible tab."""
        return self.names[self.tabs.selected_index or 0]

    @staticmethod
    def _blind_text(on: bool) -> str:
        return "Blind mode: ON" if on else "Blind mode: off"

    def guard(self):
        """Run a callback; on failure a friendly panel (the traceback goes to the server's log only)."""
        return error_panel(
            self.error,
            "Something went wrong while redrawing this view. The other views still work; "
            "the details are in the server's log.",
        )

    def _fail(self, message: str) -> None:
        show_error(self.error, message)

    # callbacks (a few lines each) ------------------------------------------------------------------
    def _on_filter(self, change) -> None:
        if not self._quiet:
            with self.guard():
                self.refresh()

    def _on_blind(self, change) -> None:
        with self.guard():
            self.blind.description = self._blind_text(change["new"])
            if self.meeting is not None:
                self.meeting.statuses.clear()  # they name people as the other mode showed them
            self._relabel_managers()
            for name in self.names:
                if name != self.active:
                    self.panes[name].clear()
            if self.active != "Person":
                self._quiet = True
                try:
                    self.person_pick.entries = []  # refilled, relabelled, when the tab is opened
                finally:
                    self._quiet = False
            self.refresh()

    def _on_tab(self, change) -> None:
        with self.guard():
            if self.active in self._stale:
                self.render(self.active)

    def _on_person(self, change) -> None:
        if not self._quiet:
            with self.guard():
                chosen = self._person_ids.get(change["new"])
                self.panes["Person"].show(person(self.sources, self.filters, chosen))

    # drawing -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the visible tab now; the others when they are opened."""
        filters = self.filters
        self._stale = set(self.names)
        if self.meeting is not None:
            self.meeting.redact = self.sources.redaction(True) if filters.blind else str
        self.render(self.active)
        self._header(filters)  # the header changes last: the view is drawn by then

    def _header(self, filters: Filters) -> None:
        mode = " · blind mode" if filters.blind else ""
        rows = self.sources.rows(filters)
        session = ""
        if self.meeting is not None:
            state = "locked" if self.meeting.locked else "open"
            who = esc(self.meeting.facilitator)
            session = f" · session {esc(self.meeting.session.name)} ({state}) · facilitator {who}"
        self.header.value = f"Calibration {esc(filters.cycle)} · {esc(people_in(rows))} in view{mode}{session}"

    def render(self, name: str) -> None:
        """Draw one tab from the current filters."""
        filters = self.filters
        if name == "Calibrate":
            self._redraw_person()
            view = calibrate(self.sources, filters, self.meeting.log)
        elif name == "9-box":
            self.meeting.fill_box(self.sources, filters)
            view = ninebox(self.sources, filters, self.meeting.table)
        elif name == "Person":
            options = person_options(self.sources, filters)
            key = self.sources.pseudonyms
            listed = choices(options, key)
            current = self._person_ids.get(self.person_pick.value)
            values = [i for _, i in options]
            chosen = current if current in values else (values[0] if values else None)
            self._quiet = True
            try:
                if self.person_pick.entries != listed:
                    self.person_pick.entries = listed
                self.person_pick.value = key.get(chosen, chosen) if chosen else ""
            finally:
                self._quiet = False
            view = person(self.sources, filters, chosen)
        else:
            view = VIEWS[name](self.sources, filters)
        self.panes[name].show(view)
        self._stale.discard(name)

    def _reload_person(self) -> None:
        """After this page's own change: read the session again, then the queue, the card and the controls."""
        self.meeting.reload(self.sources)
        self._redraw_person()

    def _redraw_person(self) -> None:
        """The queue, the card and the controls of the Calibrate tab (what an acknowledgement waits for)."""
        filters = self.filters
        self._quiet = True
        try:
            self.meeting.fill_queue(self.sources, filters)
        finally:
            self._quiet = False
        self.meeting.show_person(self.sources, filters)

    def _on_queue(self, change) -> None:
        if not self._quiet and self.meeting.choose(change["new"]):
            with self.guard():
                self.meeting.show_person(self.sources, self.filters)

    def _after_action(self) -> None:
        """After this page's own change (the card and queue are drawn already): the chart, the log, the rest."""
        with self.guard():
            filters = self.filters
            self._stale = set(self.names) - {"Calibrate"}
            if self.active == "Calibrate":
                self.panes["Calibrate"].show(calibrate(self.sources, filters, self.meeting.log))
            else:
                self.render(self.active)
            self._header(filters)

    def _after_change(self) -> None:
        """Another browser changed the session (the poll saw it): read it again and redraw."""
        with self.guard():
            self.meeting.reload(self.sources)  # memoized views read only the analysis: they stay valid
            self.refresh()

    def _on_poll(self) -> None:
        try:
            moved = self.meeting.moved()
        except Exception:  # a store that is briefly busy: try again at the next tick
            traceback.print_exc(file=sys.__stderr__)
            return
        if moved:
            self._after_change()
            self._resend = RESEND_TICKS
        elif self._resend:
            # A page that connected while the change was drawn (a preheated kernel handed to a
            # reload) may have dropped those updates: its widgets are restored from a state taken
            # before them. Sending every widget's state again puts it right.
            self._resend -= 1
            for widget in _tree(self.widget):
                widget.send_state()

    def _relabel_managers(self) -> None:
        control = self.controls["manager"]
        current = control.value
        self._quiet = True
        try:
            control.options = manager_options(self.sources, self.blind.value)
            control.value = current
        finally:
            self._quiet = False


def _tree(widget) -> list:
    """A widget and every widget inside it (children of boxes and tabs)."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _tree(child)
    return found


def _every(milliseconds: int, callback):
    """Call `callback` on the kernel's event loop every so often (tornado's PeriodicCallback)."""
    from tornado.ioloop import PeriodicCallback

    timer = PeriodicCallback(callback, milliseconds)
    timer.start()
    return timer


def error_widget(message: str):
    """A friendly error panel in place of the dashboard (no traceback)."""
    import ipywidgets as widgets

    panel = widgets.HTML(f"<b>The dashboard could not start.</b><pre>{esc(message)}</pre>")
    panel.add_class("calib-error")
    return panel


def launch(
    config: str | Path,
    results: str | Path = "",
    cache: str | Path = "",
    blind: bool = False,
    session: str = "",
    store: str = "",
    facilitator: str = "",
):
    """The dashboard for a config (and its analysis folder), or an error panel; never raises.

    With `session`, the meeting's tabs (Calibrate, 9-box) record changes in that calibration
    session of the config's cycle (created on the first change), in `store` (or the config's).
    """
    try:
        enable_offline_charts(cache)
        sources = load_sources(config, results, cache)
        meeting = None
        if session:
            import ipywidgets as widgets

            from calib.sessions import open_session

            opened = open_session(sources.config, session, store=store or None, by=facilitator or None)
            meeting = Meeting(opened, facilitator, widgets)
        return Dashboard(sources, blind=blind, meeting=meeting)
    except WorkbenchError as exc:
        return error_widget(str(exc))
    except Exception:
        traceback.print_exc(file=sys.__stderr__)
        return error_widget("An internal error stopped the dashboard; the details are in the server's log.")


def show(
    config: str | Path,
    results: str | Path = "",
    cache: str | Path = "",
    blind: bool = False,
    session: str = "",
    store: str = "",
    facilitator: str = "",
):
    """Display the projector styles and the dashboard (what the notebook calls); returns the Dashboard."""
    from IPython.display import HTML, display

    app = launch(config, results, cache, blind, session, store, facilitator)
    display(HTML(PROJECTOR_CSS))
    display(app.widget if isinstance(app, Dashboard) else app)
    return app


__all__ = [  # the widgets, and the views and filters the notebook, serve and tests read from here
    "ALL",
    "TABS",
    "VIEWS",
    "Dashboard",
    "Filters",
    "Pane",
    "enable_offline_charts",
    "error_widget",
    "filter_options",
    "launch",
    "load_sources",
    "manager_options",
    "person",
    "person_options",
    "show",
]
