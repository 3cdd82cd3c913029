"""The dashboard's pure views, escaping, blind mode, metric policy and the server's settings, without a browser."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from calib.apps import serve
from calib.apps.dashboard import views as d
from calib.apps.dashboard import widgets as dashboard
from calib.errors import InputError, Problem
from calib.privacy import pseudonyms

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "data_samples" / "cycle.yml"
EVIL = "<script>alert(1)</script>"
ID = re.compile(r"\bE\d{4}\b")


@pytest.fixture(scope="module")
def analysis(tmp_path_factory) -> Path:
    return serve.ensure_analysis(SAMPLE, tmp_path_factory.mktemp("cache"), log=lambda *_: None)


@pytest.fixture(scope="module")
def sources(analysis) -> d.Sources:
    return d.load_sources(SAMPLE, analysis)


@pytest.fixture
def base(sources) -> d.Filters:
    return d.Filters(cycle=sources.config.cycle)


def spec_text(view: d.View) -> str:
    return json.dumps(view.chart.to_dict(), ensure_ascii=False) if view.chart is not None else ""


def everything(sources: d.Sources, filters: d.Filters) -> str:
    """Every view's HTML and chart spec, the person packets of a few people included."""
    parts = []
    for view_fn in d.VIEWS.values():
        view = view_fn(sources, filters)
        parts += [view.intro, view.html, spec_text(view)]
    for _, employee_id in d.person_options(sources, filters)[:5]:
        view = d.person(sources, filters, employee_id)
        parts += [view.intro, view.html, spec_text(view)]
    return "\n".join(parts)


def chart_rows(view: d.View) -> list[dict]:
    spec = view.chart.to_dict()
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


def test_select_follows_every_filter(sources, base):
    frame = sources.frame
    expected = frame[(frame["cycle"] == base.cycle) & (frame["org"] == "Platform") & (frame["level"] == "L4")]
    got = d.select(frame, replace(base, org="Platform", level="L4"))
    assert len(got) == len(expected) > 0
    manager = str(got["reviewer_id"].iloc[0])
    narrowed = d.select(frame, replace(base, org="Platform", level="L4", manager=manager))
    assert set(narrowed["reviewer_id"].astype(str)) == {manager}
    assert len(d.select(frame, replace(base, manager=manager), ignore=("manager",))) == len(d.select(frame, base))
    for filters in (base, replace(base, org="Platform", level="L4", manager=manager), replace(base, discipline="x")):
        assert sources.rows(filters).index.equals(d.select(frame, filters).index)


def test_overview_shows_the_shares_analysed_and_the_guideline(sources, base):
    view = d.overview(sources, base)
    rows = chart_rows(view)
    shares = {r["rating"]: r["share"] for r in rows if r.get("label", "").startswith("after calibration")}
    frame = d.select(sources.frame, base)
    truth = frame["final_rating"].astype(str).value_counts(normalize=True)
    assert shares == pytest.approx({k: truth.get(k, 0.0) for k in sources.config.rating_labels})
    assert {r["rating"] for r in rows if r.get("label") == "guideline"} == set(sources.config.guideline_curve)
    assert "people in view" in view.intro and "Headline findings" in view.html


def test_every_tab_follows_the_filters(sources, base):
    narrowed = replace(base, discipline="product")
    for name, view_fn in d.VIEWS.items():
        before, after = view_fn(sources, base), view_fn(sources, narrowed)
        assert (before.intro, before.html, spec_text(before)) != (after.intro, after.html, spec_text(after)), name
    product = set(d.select(sources.frame, narrowed)["employee_id"])
    assert {i for _, i in d.person_options(sources, narrowed)} == product


def test_the_previous_cycle_draws_and_says_where_analyses_come_from(sources, base):
    previous = replace(base, cycle=sources.config.cycles[0].id)
    assert len(sources.rows(previous)) > 0
    for name, view_fn in d.VIEWS.items():
        view = view_fn(sources, previous)
        spec_text(view)
        if name in ("Overview", "Managers", "Disciplines"):
            assert f"analysis of {base.cycle}" in view.intro + view.html, name
    assert d.person(sources, previous, d.person_options(sources, previous)[0][1]).intro


def test_blind_mode_scrubs_names_from_free_text(sources, base):
    evidence = sources.tables["evidence"].copy()
    start = pd.Timestamp(sources.config.window.start)
    mine = evidence.index[(evidence["employee_id"] == "E0047") & (evidence["date"] >= start)]
    evidence.loc[mine[0], "title"] = f"Paired with {sources.names['E0048']} on the checkout"
    scrubbed = d.make_sources(
        sources.config,
        sources.results,
        {**sources.tables, "evidence": evidence, "frame": sources.frame, "people": sources.people},
    )
    packet = d.person(scrubbed, replace(base, blind=True), "E0047")
    assert sources.names["E0048"] not in packet.html + spec_text(packet)
    assert f"Paired with {sources.pseudonyms['E0048']}" in packet.html


def test_a_selected_manager_gets_their_distribution_people_and_findings(sources, base):
    view = d.managers(sources, replace(base, manager="E0013"))
    name = sources.names["E0013"]
    assert f"{name}'s people in view (10)" in view.intro
    assert f"▶ {name} (n=10)" in spec_text(view)
    assert "1.0 points higher" in view.intro  # the planted leniency finding, named
    assert "<tr>" not in d.managers(sources, base).intro  # no people table until a manager is chosen


def test_people_are_never_ranked(sources, base):
    options = d.person_options(sources, base)
    assert [label.lower() for label, _ in options] == sorted(label.lower() for label, _ in options)
    table = d.people_table(sources.rows(replace(base, manager="E0013")), sources.names)
    shown = re.findall(r"<tr><td>([^<]+)</td>", table)
    assert shown == sorted(shown, key=str.lower)


def test_blind_mode_hides_names_ids_and_protected_groups(sources, base):
    blind = replace(base, blind=True)
    for filters in (blind, replace(blind, manager="E0013"), replace(blind, org="Platform", level="L4")):
        text = everything(sources, filters)
        assert not ID.search(text), ID.search(text)
        leaked = [n for n in sources.names.values() if n in text]
        assert not leaked
        assert not re.search(r"\b(woman|man|nonbinary)\b", text)
        assert "hidden in blind mode" in d.audit(sources, filters).intro
    labels = [label for label, _ in d.manager_options(sources, blind=True)[1:]]
    assert set(labels) <= set(pseudonyms(list(sources.names)).values())
    assert d.manager_options(sources, blind=True) == d.manager_options(sources, blind=True)  # stable


def test_blind_groups_are_numbered_the_same_in_the_table_and_the_charts(sources, base):
    view = d.audit(sources, replace(base, blind=True))
    table = set(re.findall(r"group \d+ \(hidden in blind mode\)", view.html))
    charted = {r["group"] for r in chart_rows(view) if "group" in r}
    assert charted and charted <= table
    sizes = {r["group"]: r["n"] for r in chart_rows(view) if r.get("n") is not None and "outcome" in r}
    described = {r["group"]: r["n"] for r in chart_rows(view) if r.get("n") is not None and "rating" in r}
    assert all(sizes[g] == n for g, n in described.items() if g in sizes)


def test_blind_groups_show_sizes_only_as_bands(sources, base):
    view = d.audit(sources, replace(base, blind=True))
    rows = chart_rows(view)
    assert rows and all(r.get("n") is None and r.get("count") is None for r in rows)  # no exact size, no counts
    assert {r["size"] for r in rows if "size" in r} <= {"5–19", "20–99", "100 or more", "fewer than 5"}
    assert not re.search(r"\bn=\d", spec_text(view)) and "(n=" not in view.html
    for n in (197, 84, 12):  # the groups' real sizes in the sample
        assert f"<td>{n}</td>" not in view.html
    labels = re.findall(r"group (\d+) \(hidden in blind mode\)", view.html)
    assert labels[: len(set(labels))] == sorted(set(labels), key=int)  # rows in the order of their numbers


def test_audit_charts_and_table_name_the_direction(sources, base):
    view = d.audit(sources, base)
    spec = spec_text(view)
    assert "Bottom rating by gender: orange groups get it more often" in spec
    assert "Top rating by gender: orange groups get it less often" in spec
    rows = re.findall(r"<tr><td>gender</td><td>([^<]+)</td><td>([^<]+)</td>.*?</tr>", view.html)
    flags = dict(((o, g), row) for (o, g), row in zip(rows, re.findall(r"<tr>.*?</tr>", view.html)[1:], strict=False))
    assert "▲ gets it more often" in flags[("bottom rating", "man")]  # man: 6% bottom vs 2% for woman
    assert "▲ gets it less often" in flags[("top rating", "woman")]


def test_the_overview_counts_what_it_lists(sources, base):
    view = d.overview(sources, base)
    cards = dict((label, int(value)) for value, label in re.findall(r"<b>(\d+)</b>(alerts|warnings)", view.intro))
    listed = {s: len(re.findall(f'<span class="calib-{s}">', view.html)) for s in ("alert", "warning")}
    assert cards == {"alerts": listed["alert"], "warnings": listed["warning"]} and listed["warning"] >= 4
    assert "<details" in view.html and "more: 2 warnings" in view.html  # beyond the first eight: one click away
    assert "info findings are recorded" not in view.html  # warnings were hidden under that line


def test_every_seam_pair_in_view_is_listed(sources, base):
    view = d.disciplines(sources, base)
    pairs = sources.results.table("seam_pairs")
    table = view.html.split('<div class="calib-scroll">')[1]
    assert table.count("<tr>") - 1 == len(pairs) and "more pairs" not in view.html
    everyone = pd.concat([pairs["employee_id"], pairs["reference_employee_id"]])
    assert everyone.is_unique  # each person in one pair


def test_durations_and_deploys_read_as_people_say_them(sources, base):
    from calib.apps.dashboard.html import duration

    assert [duration(h) for h in (862.95, 3.2, 0.42, 111.35, 30.78, float("nan"), None)] == [
        "36 days", "3.2 h", "25 min", "4.6 days", "30.8 h", "–", "–"
    ]  # fmt: skip
    html = d.team_context(sources, base).html
    assert "862.95" not in html and "36 days" in html and " h</span>" in html
    assert "0.00" not in html and "less than weekly</span>" in html  # never "0.00 deploy days / week"
    assert "a team that deploys less than weekly can still be high overall" in html
    assert '<span class="calib-nowrap">▲ mismatch</span>' in html


def test_the_page_draws_each_part_as_wide_as_the_page_and_long_charts_in_pages(sources, base):
    from calib.apps.dashboard.layout import fit

    view = d.managers(sources, replace(base, manager="E0013"))
    parts = fit(view.chart)
    assert len(parts) == 2 and all(p.to_dict()["width"] == "container" for p in parts)
    assert all(p.to_dict()["config"]["axis"]["labelFontSize"] == 19 for p in parts)
    paged = parts[1].to_dict()
    [param] = paged["params"]
    page_of = {r["label"]: r["_page"] for rows in paged["datasets"].values() for r in rows if "_page" in r}
    pages = -(-len(page_of) // 16)
    assert len(page_of) > 16 and param["bind"]["input"] == "radio" and len(param["bind"]["options"]) == pages
    assert param["value"] == next(p for label, p in page_of.items() if label.startswith("▶ "))  # the chosen one's
    assert max(list(page_of.values()).count(p) for p in range(pages)) <= 16
    assert all(layer["encoding"]["x"]["axis"]["orient"] == "top" for layer in paged["layer"][1:])
    domains = [layer["encoding"]["x"].get("scale", {}).get("domain") for layer in paged["layer"][1:]]
    assert domains[0] is not None and all(dom == domains[0] for dom in domains)  # one x scale for every page


def test_findings_name_people_or_pseudonyms(sources):
    finding = sources.results.findings.query("subject == 'E0013'").iloc[0]
    assert sources.names["E0013"] in d.finding_text(finding, sources.redaction(False), blind=False)
    hidden = d.finding_text(finding, sources.redaction(True), blind=True)
    assert sources.pseudonyms["E0013"] in hidden and "E0013" not in hidden
    gap = sources.results.findings.query("kind == 'adverse_impact'").iloc[0]
    assert "woman" not in d.finding_text(gap, sources.redaction(True), blind=True)


@pytest.fixture
def evil(sources) -> d.Sources:
    """The sample with a script for a manager's name and hostile evidence titles and links."""
    people = sources.people.copy()
    people.loc[people["employee_id"] == "E0013", "name"] = EVIL
    evidence = sources.tables["evidence"].copy()
    start = pd.Timestamp(sources.config.window.start)
    mine = evidence.index[(evidence["employee_id"] == "E0047") & (evidence["date"] >= start)]  # one of E0013's people
    evidence.loc[mine[0], ["title", "url"]] = ['<img src=x onerror="alert(2)">', "javascript:alert(3)"]
    evidence.loc[mine[1], ["title", "url"]] = ["A fine postmortem", "https://x.example/a?b=1&c=<2>"]
    frames = {**sources.tables, "frame": sources.frame, "people": people, "evidence": evidence}
    return d.make_sources(sources.config, sources.results, frames)


def test_every_name_title_and_url_is_escaped(evil, base):
    evil_manager = replace(base, manager="E0013")
    html = "\n".join(v.intro + v.html for v in (d.managers(evil, evil_manager), d.overview(evil, base)))
    packet = d.person(evil, evil_manager, "E0047")
    html += packet.intro + packet.html
    assert "<script" not in html and "<img" not in html and "javascript:" not in html.replace("javascript:alert(3)", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in packet.html
    assert 'href="https://x.example/a?b=1&amp;c=&lt;2&gt;"' in packet.html
    assert 'href="javascript' not in packet.html
    assert (EVIL, "E0013") in d.manager_options(evil, blind=False)  # options are text, not HTML
    assert d.link("x", "ftp://a") == "x" and d.link("<b>", None) == "&lt;b&gt;"


def with_telemetry(sources: d.Sources, policy=None) -> d.Sources:
    cycle = sources.config.cycle
    rows = [
        (cycle, "E0047", "pr_count", 3.0),
        (cycle, "E0047", "review_latency_hours", 20.0),
        (cycle, "E0047", "lines_of_code", 99999.0),
        (cycle, "E0047", "commits", 512.0),
        (cycle, "E0047", "deployment_frequency", 7.0),
        (cycle, "E0015", "pr_count", 50.0),
    ]
    telemetry = pd.DataFrame(rows, columns=["cycle", "employee_id", "metric", "value"])
    config = sources.config if policy is None else sources.config.model_copy(update={"metric_policy": policy})
    frames = {**sources.tables, "frame": sources.frame, "people": sources.people, "telemetry": telemetry}
    return d.make_sources(config, sources.results, frames)


def test_telemetry_is_context_only_and_never_forbidden(sources, base):
    packet = d.person(with_telemetry(sources), base, "E0047").html
    assert "Telemetry (context only)" in packet and "never a score or a ranking" in packet
    shown = re.findall(r"<tr><td>([a-z ]+)</td><td>[\d.]+</td></tr>", packet.split("Telemetry")[1])
    assert shown == ["pr count", "review latency hours"]  # alphabetical, the policy's contextual metrics only
    for banned in ("lines of code", "lines_of_code", "commits", "99999", "512"):
        assert banned not in packet
    assert "deployment frequency" not in packet.split("Telemetry")[1]  # a team metric is never one person's
    others = {i for _, i in d.person_options(with_telemetry(sources), base)}
    assert others == {i for _, i in d.person_options(sources, base)}  # telemetry changes no list or order


def test_a_forbidden_team_metric_is_never_shown(sources, base):
    from calib.inputs.policy import MetricPolicy

    strict = with_telemetry(sources, MetricPolicy(forbidden=["lead_time", "review_latency_hours"]))
    context = d.team_context(strict, base)
    assert "lead time" not in context.html and "<th>deploys</th>" in context.html
    assert not any(r.get("metric") == "lead time" for r in chart_rows(context))
    packet = d.person(strict, base, "E0047").html
    assert "median lead time" not in packet and "review latency" not in packet and "<th>deploys</th>" in packet
    table = next(t for t in packet.split("<table")[1:] if "<th>deploys</th>" in t)
    cells = dict(zip(re.findall(r"<th>(.*?)</th>", table), re.findall(r"<td>(.*?)</td>", table), strict=True))
    deploys = cells["deploys"]
    assert re.fullmatch(r"every day|\d+(\.\d+)? days? a week|less than weekly", deploys), deploys  # never a bare 0.4


def test_the_widgets_redraw_on_filter_tab_person_and_blind(sources):
    app = dashboard.Dashboard(sources)
    overview = app.panes["Overview"].chart
    before = json.dumps(overview.spec)
    app.controls["discipline"].value = "product"
    assert json.dumps(overview.spec) != before and app.error.layout.display == "none"
    assert "Loading" in app.panes["Audit"].intro.value  # drawn only when opened
    app.tabs.selected_index = d.TABS.index("Person")
    product = {i for _, i in d.person_options(sources, app.filters)}
    assert {app._person_ids[e["key"]] for e in app.person_pick.entries} == product  # the search picker's entries
    first = app.panes["Person"].intro.value
    app.person_pick.value = app.person_pick.entries[-1]["key"]
    assert app.panes["Person"].intro.value != first
    app.blind.value = True
    shown = app.panes["Person"].intro.value + app.header.value + " ".join(o[0] for o in app.controls["manager"].options)
    shown += json.dumps(app.person_pick.entries) + app.person_pick.value  # what the picker sends to the page
    assert not any(n in shown for n in sources.names.values()) and "blind mode" in app.header.value
    assert not any(i in shown for i in product)  # keyed by pseudonym, never by employee id
    assert app.panes["Overview"].chart.spec is None  # hidden tabs are cleared, nothing named stays in the page
    app.blind.value = False
    app.tabs.selected_index = 0
    app.blind.value = True
    assert not app.person_pick.entries  # the hidden person list is emptied too, refilled when opened


def test_a_failing_view_shows_a_friendly_panel_not_a_traceback(sources, monkeypatch, capsys):
    app = dashboard.Dashboard(sources)

    def broken(*_):
        raise KeyError("some_column")

    monkeypatch.setitem(d.VIEWS, "Overview", broken)
    app.controls["level"].value = "L4"
    assert app.error.layout.display == "block"
    assert "could not be drawn" in app.error.value and "Traceback" not in app.error.value
    assert "some_column" not in app.error.value  # internals stay in the server log

    def invalid(*_):
        raise InputError([Problem("people.csv", 3, "name", None, "a name")])

    monkeypatch.setitem(d.VIEWS, "Overview", invalid)
    app.controls["level"].value = "L5"
    assert "people.csv, row 3, column name" in app.error.value
    monkeypatch.setitem(d.VIEWS, "Overview", d.overview)
    app.controls["level"].value = d.ALL
    assert app.error.layout.display == "none"


def test_a_broken_config_gives_a_panel_never_an_exception(tmp_path):
    panel = dashboard.launch(tmp_path / "missing.yml", cache=tmp_path)
    assert "could not start" in panel.value and "missing.yml" in panel.value and "Traceback" not in panel.value
    (tmp_path / "bad.yml").write_text(f"cycle: x\nmin_group_size: {EVIL}\n")
    panel = dashboard.launch(tmp_path / "bad.yml", cache=tmp_path)
    assert "&lt;script&gt;" in panel.value and "<script>" not in panel.value


def test_the_analysis_is_cached_per_input_fingerprint(tmp_path, monkeypatch, tiny_cycle):
    config = tiny_cycle()
    cache = tmp_path / "cache"
    first = serve.ensure_analysis(config, cache, log=lambda *_: None)
    assert (first / "findings.json").is_file() and (first / "snapshot" / "frame.parquet").is_file()
    import calib.analyses.runner

    monkeypatch.setattr(calib.analyses.runner, "run_analyses", lambda *_: pytest.fail("reanalysed unchanged inputs"))
    assert serve.ensure_analysis(config, cache, log=lambda *_: None) == first
    monkeypatch.undo()
    people = config.parent / "people.csv"
    people.write_text(people.read_text().replace("Cy Dev", "Cy Developer"))
    second = serve.ensure_analysis(config, cache, log=lambda *_: None)
    assert second != first and second.parent == first.parent


def test_the_cache_key_covers_the_analysis_code_only(tmp_path):
    (tmp_path / "analyses").mkdir()
    (tmp_path / "analyses" / "runner.py").write_text(
        "from calib.analyses.raters import x\nfrom calib.analyses import seam\nimport calib.frame\n"
    )
    for name in ("analyses/raters", "analyses/seam", "frame", "dashboard", "charts"):
        (tmp_path / f"{name}.py").write_text("from calib.errors import E\n" if name.endswith("raters") else "")
    (tmp_path / "errors.py").write_text("")
    found = serve.analysis_modules(tmp_path, ("analyses.runner",))
    assert found == {"analyses.runner", "analyses.raters", "analyses.seam", "frame", "errors"}
    modules = serve.analysis_modules(Path(serve.__file__).parents[1])
    assert {"analyses.runner", "analyses.raters", "frame", "analyses.bias", "analyses.curves"} <= modules
    assert not {m for m in modules if m.startswith(("apps", "outputs", "bench", "cli"))}


def test_the_served_notebook_gets_its_paths_from_the_server(tmp_path):
    import nbformat

    served = serve.write_served_notebook(tmp_path / "analysis", SAMPLE, tmp_path)
    notebook = nbformat.read(served, as_version=4)
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    values: dict = {}
    exec(injected[0].source, values)  # the injected cell is plain literals
    assert (values["config"], values["results"], values["cache"]) == (
        str(SAMPLE),
        str(tmp_path / "analysis"),
        str(tmp_path),
    )
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "QUERY_STRING" not in code and "environ" not in code  # the URL never picks a file
    assert [c.cell_type for c in notebook.cells][:2] == ["markdown", "code"]


def test_voila_runs_with_secure_fast_and_steady_settings(tmp_path):
    argv = serve.voila_argv(tmp_path / "nb.ipynb", host="127.0.0.1", port=8866, token="s3cret", open_browser=False)
    flags = dict(a.split("=", 1) for a in argv[1:])
    assert flags["--Voila.ip"] == "127.0.0.1" and flags["--Voila.token"] == "s3cret"  # loopback too
    assert flags["--Voila.kernel_websocket_connection_class"] == "calib.apps.access.QuietConnection"
    assert flags["--VoilaConfiguration.show_tracebacks"] == "False"
    assert flags["--VoilaConfiguration.strip_sources"] == "True"
    assert flags["--VoilaConfiguration.preheat_kernel"] == "True"
    assert int(flags["--VoilaConfiguration.default_pool_size"]) >= 1
    assert int(flags["--MappingKernelManager.cull_idle_timeout"]) > 0
    assert flags["--VoilaConfiguration.extension_denylist"] == "jupyterlab-jupytext"
    assert flags["--VoilaConfiguration.template"] == serve.TEMPLATE
    for host, token in (("127.0.0.1", None), ("127.0.0.1", ""), ("0.0.0.0", "s3cret"), ("::", "s3cret")):
        with pytest.raises(ValueError, match="token|every interface"):
            serve.voila_argv(tmp_path / "nb.ipynb", host=host, port=8866, token=token, open_browser=False)
    assert [serve.is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "10.0.0.5", "example.com")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert serve.dashboard_url("10.0.0.5", 8866, "t") == "http://10.0.0.5:8866/?token=t"


def test_the_template_fetches_nothing_from_the_network(tmp_path):
    root = serve.write_template(tmp_path)
    text = (root / "voila" / "templates" / serve.TEMPLATE / "index.html.j2").read_text()
    assert "http" not in text and "fontawesome" not in text.lower()
    assert "http" not in d.PROJECTOR_CSS and "font-size: 22px" in d.PROJECTOR_CSS


def test_the_offline_bundle_is_cached_on_disk(tmp_path, monkeypatch):
    import altair as alt

    monkeypatch.setattr(alt.JupyterChart, "_is_offline", False)
    monkeypatch.setattr(alt.JupyterChart, "_esm", alt.JupyterChart._esm)
    dashboard.enable_offline_charts(tmp_path)
    (bundle,) = tmp_path.glob("jupyterchart-*.js")
    assert alt.JupyterChart._is_offline and "https://esm.sh" not in bundle.read_text()
    monkeypatch.setattr(alt.JupyterChart, "_is_offline", False)
    dashboard.enable_offline_charts(tmp_path)
    assert alt.JupyterChart._esm == bundle.read_text()
