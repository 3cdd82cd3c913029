"""`calib report`: the cycle report as one self-contained HTML page, beside findings.json and tables/.

The flow, one function each: load and validate the cycle (errors propagate as `calib.errors`
exceptions, which the CLI prints and exits 1 on); keep one org when asked; run every analysis
once and write findings.json, tables/ and lineage.json into a staging folder; execute
notebooks/cycle_report.ipynb with papermill against that folder; export HTML without code through
an offline template (templates/nbconvert/calib_report: no script, no CDN, inline CSS) and check
it; write per-manager packets when asked (`calib.packets`, no kernel per packet); only then swap
the staging folder into place with `replace_dir`. A failure anywhere leaves no partial report and
an existing report untouched.

Blind mode: a display mapping from employee ids, names and handles to stable pseudonyms
(`calib.privacy.pseudonyms`) is applied to every label and to every free text before display.
findings.json and tables/ are written with ids replaced by those pseudonyms, so a blind folder
holds no name and no employee id; the bias audit (tables/bias_audit.csv, the adverse_impact
findings) and any protected-attribute column are left out and the report says they are hidden
in blind mode. Pseudonyms are stable, not secret: anyone holding the ids and this code can
recompute them (`PSEUDONYM_SALT`), so blind mode keeps names out of the room's sight, it does not
anonymize data for release.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from calib.config import CycleConfig, load_config
from calib.contract import CONTRACT
from calib.errors import UsageError
from calib.load import read_table
from calib.outputs import replace_dir, staging_dir, write_text_atomic
from calib.privacy import pseudonyms
from calib.results import load_results

if TYPE_CHECKING:  # the analysis stack and altair load only when needed: start-up stays light
    from calib.analyze import Analysis
    from calib.frame import Normalized
    from calib.report_sections import ReportContext

BIAS_KINDS = ("adverse_impact",)  # findings about protected attributes: never shown or written in blind mode

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "cycle_report.ipynb"
TEMPLATES = Path(__file__).with_name("templates")
REPORT_HTML = "report.html"
LINEAGE_JSON = "lineage.json"
PSEUDONYM_SALT = ""  # the same salt as every other blind view, so a room can follow one person across them
IDENTIFYING = ("name", "handle", "email")  # people columns that name a person, besides employee_id
BIAS_TABLES = ("bias_audit",)
VERSIONED = (
    "calib",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "pandera",
    "altair",
    "vl-convert-python",
    "papermill",
    "nbconvert",
    "jinja2",
)
_WORD = re.compile(r"\w+")
_OFFLINE_BAD = (
    re.compile(r"<script\b[^>]*\bsrc\s*=", re.I),
    re.compile(
        r"<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*\b(?:src|href|data)\s*=\s*[\"']?\s*(?:https?:)?//",
        re.I,
    ),
    re.compile(r"url\(\s*[\"']?\s*(?:https?:)?//", re.I),
    re.compile(r"@import", re.I),
)


# -- display mapping ------------------------------------------------------------------------------


class Redactor:
    """Replace whole-word occurrences of known phrases (ids, names) in free text, in one pass.

    Phrases are indexed by their first word, so a text is scanned once whatever the number of
    people; a phrase matches only on word boundaries ("E001" never matches inside "E0012").
    """

    def __init__(self, mapping: Mapping[str, str]):
        self.mapping = {str(k): str(v) for k, v in mapping.items() if str(k).strip()}
        index: dict[str, list[tuple[str, int]]] = {}
        for key in self.mapping:
            first = _WORD.search(key)
            if first is not None:
                index.setdefault(first.group(), []).append((key, first.start()))
        for candidates in index.values():
            candidates.sort(key=lambda item: -len(item[0]))
        self._index = index

    def __call__(self, text: object) -> object:
        if not isinstance(text, str) or not text:
            return text
        out, pos = [], 0
        for word in _WORD.finditer(text):
            if word.start() < pos:
                continue
            for key, offset in self._index.get(word.group(), ()):
                start = word.start() - offset
                end = start + len(key)
                if start >= pos and text.startswith(key, start) and _bounded(text, start, end, key):
                    out += [text[pos:start], self.mapping[key]]
                    pos = end
                    break
        out.append(text[pos:])
        return "".join(out)


def _bounded(text: str, start: int, end: int, key: str) -> bool:
    before = start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_") or not key[0].isalnum()
    after = end == len(text) or not (text[end].isalnum() or text[end] == "_") or not key[-1].isalnum()
    return before and after


def display_mappings(people: pd.DataFrame, *, blind: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Chart labels by id, and the free-text mapping, for everyone in `people`.

    Returns
    -------
    labels, text
        Open mode: labels are names (with the id when a name is not unique), text maps an id to
        "name (id)" (all-digit ids are left alone in free text: they would clash with numbers).
        Blind mode: both map ids, names and handles to pseudonyms.
    """
    ids = people["employee_id"].astype(str)
    if blind:
        fake = pseudonyms(ids, salt=PSEUDONYM_SALT)
        mapping = dict(fake)
        for column in IDENTIFYING:
            if column in people.columns:
                for value, who in zip(people[column], ids, strict=True):
                    if isinstance(value, str) and value.strip():
                        mapping.setdefault(value, fake[who])
        return mapping, mapping
    names = people["name"].astype(str) if "name" in people.columns else ids
    repeated = names.duplicated(keep=False)
    labels = {i: (f"{n} ({i})" if r else n) for i, n, r in zip(ids, names, repeated, strict=True)}
    text = {i: f"{n} ({i})" for i, n in zip(ids, names, strict=True) if not i.isdigit()}
    return labels, text


def read_people(config: CycleConfig) -> pd.DataFrame:
    """Only the people input (for display labels), read as `calib validate` reads it."""
    spec = config.inputs["people"]
    return read_table(
        config.input_path("people"),
        display_name=str(spec.path),
        rename=config.columns.get("people"),
        expected_columns=[c.name for c in CONTRACT["people"]],
        sheet=spec.sheet,
    )


# -- cycle and org --------------------------------------------------------------------------------


def select_cycle(config: CycleConfig, cycle: str | None) -> CycleConfig:
    """The config with another cycle under review; an unknown cycle is a usage error."""
    if not cycle or cycle == config.cycle:
        return config
    known = [c.id for c in config.cycles]
    if cycle not in known:
        raise UsageError(f"unknown cycle {cycle!r}; the config lists {', '.join(known)}")
    return config.model_copy(update={"cycle": cycle})


def filter_org(normalized: Normalized, org: str) -> Normalized:
    """Only the people whose team's `org` (in the teams input) equals or starts with `org`.

    Every input that names a person, a team, a service or a deployment keeps only the rows of
    the org; lineage (sources, warnings) stays that of the whole input files.
    """
    from calib.frame import Normalized
    from calib.validate import CycleData

    data = normalized.data
    if not data.has("teams") or "org" not in data["teams"].columns:
        raise UsageError("--org needs a teams input with an org column")
    teams = data["teams"]
    orgs = teams["org"].astype(str)
    inside = teams["org"].notna() & (orgs.eq(org) | orgs.str.startswith(org))
    if not inside.any():
        known = sorted(set(teams["org"].dropna().astype(str)))
        raise UsageError(f"unknown org {org!r}; known orgs: {', '.join(known)}")
    keep_teams = set(teams.loc[inside, "team"].astype(str))
    people = data["people"]
    people = people[people["team"].astype(str).isin(keep_teams)]
    ids = set(people["employee_id"].astype(str))
    tables: dict = {"people": people, "teams": teams[inside]}
    if data.has("services"):
        tables["services"] = data["services"][data["services"]["team"].astype(str).isin(keep_teams)]
    services = set(tables["services"]["service"].astype(str)) if "services" in tables else set()
    if data.has("deployments"):
        deployments = data["deployments"]
        tables["deployments"] = deployments[deployments["service"].astype(str).isin(services)]
    deployment_ids = set(tables["deployments"]["deployment_id"].astype(str)) if "deployments" in tables else set()
    for name, frame in data.tables.items():
        if name in tables:
            continue
        if "employee_id" in frame.columns:
            tables[name] = frame[frame["employee_id"].astype(str).isin(ids)]
        elif "reviewee_id" in frame.columns:
            tables[name] = frame[frame["reviewee_id"].astype(str).isin(ids)]
        elif "team" in frame.columns:
            tables[name] = frame[frame["team"].astype(str).isin(keep_teams)]
        elif "service" in frame.columns:
            tables[name] = frame[frame["service"].astype(str).isin(services)]
        elif "deployment_id" in frame.columns:
            tables[name] = frame[frame["deployment_id"].astype(str).isin(deployment_ids)]
        else:
            tables[name] = frame
    filtered = CycleData(data.config, tables, data.sources, data.warnings)
    frame = normalized.frame[normalized.frame["team"].astype(str).isin(keep_teams)].reset_index(drop=True)

    def teams_only(table: pd.DataFrame) -> pd.DataFrame:
        return table[table["team"].astype(str).isin(keep_teams)].reset_index(drop=True)

    return Normalized(filtered, frame, teams_only(normalized.team_dora), teams_only(normalized.team_slos))


# -- blind results --------------------------------------------------------------------------------


def blind_analysis(analysis: Analysis, redact: Redactor, protected: list[str]) -> tuple[Analysis, list[str]]:
    """The analysis as written in blind mode: ids as pseudonyms, nothing about protected attributes.

    Returns the blinded analysis and what was left out (for lineage.json and the report).
    """
    from calib.analyze import KIND_ORDER, SEVERITY_ORDER, Analysis

    hidden: list[str] = []
    tables = {}
    drop = set(protected) | set(IDENTIFYING)
    for name, table in analysis.tables.items():
        if name in BIAS_TABLES:
            hidden.append(f"tables/{name}.csv")
            continue
        table = table.drop(columns=[c for c in table.columns if c in drop])
        if "dimension" in table.columns:
            table = table[~table["dimension"].astype(str).isin(protected)]
        tables[name] = _reordered(pseudonymize_frame(table, redact), table)
    kept = [f for f in analysis.findings if f.kind not in BIAS_KINDS]
    if len(kept) < len(analysis.findings):
        hidden.append(f"{len(analysis.findings) - len(kept)} finding(s) about protected attributes")
    findings = [
        replace(
            f,
            subject=redact(f.subject),
            explanation=redact(f.explanation),
            method=redact(f.method),
            details={k: _redact_value(v, redact) for k, v in f.details.items() if k not in drop},
        )
        for f in kept
    ]
    # rows and findings come sorted by id: re-sorted by pseudonym, so their order cannot reveal the ids
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], KIND_ORDER.index(f.kind), f.subject))
    methods = {k: redact(v) for k, v in analysis.methods.items()}
    return Analysis(analysis.normalized, findings, tables, methods), hidden


def _reordered(blinded: pd.DataFrame, original: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by their pseudonyms (within stage, dimension and cycle), not by the ids they replace."""
    changed = [c for c in blinded.columns if not blinded[c].equals(original[c])]
    if not changed:
        return blinded
    groups = [
        c
        for c in ("stage", "dimension", "cycle", "previous_cycle", "current_cycle", "period")
        if c in blinded.columns and c not in changed
    ]
    return blinded.sort_values([*groups, *changed], kind="stable", na_position="last").reset_index(drop=True)


def pseudonymize_frame(table: pd.DataFrame, redact: Redactor) -> pd.DataFrame:
    """Every text cell with ids (or names) replaced, one lookup per distinct value."""
    out = table.copy()
    for column in out.columns:
        series = out[column]
        if not (
            pd.api.types.is_object_dtype(series)
            or pd.api.types.is_string_dtype(series)
            or isinstance(series.dtype, pd.CategoricalDtype)
        ):
            continue
        values = series.dropna().unique()
        changed = {v: redact(v) for v in values if isinstance(v, str)}
        changed = {k: v for k, v in changed.items() if k != v}
        if changed:
            out[column] = series.astype(object).map(lambda v, m=changed: m.get(v, v) if isinstance(v, str) else v)
    return out


def _redact_value(value: object, redact: Redactor) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_redact_value(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v, redact) for k, v in value.items()}
    return value


# -- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A cycle analysed for the report: what was written, and what packets need (unblinded)."""

    normalized: Normalized
    analysis: Analysis
    labels: dict[str, str]
    text: dict[str, str]
    lineage: dict


def prepare_results(
    config: str | Path, out: str | Path, *, cycle: str = "", org: str = "", blind: bool = False
) -> Prepared:
    """Load, validate, filter and analyse a cycle; write findings.json, tables/ and lineage.json to `out`.

    Raises
    ------
    ConfigError, InputError
        The config or an input is invalid (every problem listed).
    UsageError
        An unknown cycle or org.
    """
    from calib.analyze import run_analyses, write_analysis
    from calib.frame import normalize
    from calib.summary import render_problems
    from calib.validate import load_cycle

    out = Path(out)
    started = time.perf_counter()
    settings = select_cycle(load_config(config), cycle or None)
    data = load_cycle(settings)
    loaded = time.perf_counter()
    normalized = normalize(data)
    if org:
        normalized = filter_org(normalized, org)
    normalized_at = time.perf_counter()
    analysis = run_analyses(normalized)
    analysed = time.perf_counter()
    labels, text = display_mappings(data["people"], blind=blind)
    hidden: list[str] = []
    written = analysis
    if blind:
        written, hidden = blind_analysis(analysis, Redactor(text), list(settings.protected_attributes))
    write_analysis(written, out)
    redact = Redactor(text) if blind else (lambda line: line)
    warnings = render_problems(data.warnings, shown_per_kind=3)
    lineage = {
        "cycle": settings.cycle,
        "org": org,
        "blind": blind,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "people": int(normalized.frame.loc[normalized.frame["cycle"] == settings.cycle, "employee_id"].nunique()),
        "seconds": {
            "load and validate": round(loaded - started, 2),
            "normalize": round(normalized_at - loaded, 2),
            "analyses": round(analysed - normalized_at, 2),
        },
        "warning_count": len(data.warnings),
        "warnings": [redact(line) for line in warnings],
        "versions": package_versions(),
        "hidden_in_blind_mode": hidden,
        "bias_findings_hidden": sum(f.kind in BIAS_KINDS for f in analysis.findings) if blind else 0,
    }
    write_text_atomic(out / LINEAGE_JSON, json.dumps(lineage, indent=2, ensure_ascii=False) + "\n")
    return Prepared(normalized, analysis, labels, text, lineage)


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages the report's numbers and charts depend on."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def report_context(
    results: str | Path, config: str | Path, *, blind: bool = False, org: str = "", max_rows: int = 50
) -> ReportContext:
    """What the notebook's sections read: the results folder, labels for people, lineage."""
    from calib.report_sections import ReportContext

    settings = load_config(config)
    labels, text = display_mappings(read_people(settings), blind=blind)
    lineage_path = Path(results) / LINEAGE_JSON
    lineage = json.loads(lineage_path.read_text(encoding="utf-8")) if lineage_path.is_file() else {}
    return ReportContext(
        results=load_results(results),
        names=labels,
        text=Redactor(text),
        blind=blind,
        guideline=settings.guideline_curve,
        lineage=lineage,
        org=org,
        max_rows=max_rows,
    )


# -- notebook and HTML ----------------------------------------------------------------------------


WARMUP = (  # what the notebook's first cell imports, and vl-convert's first (slow) render
    "import altair, pandas, vl_convert\n"
    "from calib import report_sections\n"
    "from calib.report import report_context\n"
    "vl_convert.vegalite_to_svg({'mark': 'point', 'data': {'values': [{}]}})\n"
    "del altair, pandas, vl_convert, report_sections, report_context\n"
)


@contextmanager
def warm_kernel() -> Iterator[object]:
    """A kernel for the report notebook, started (and its imports loaded) while the analyses run.

    The analyses use one core; the kernel's start-up and imports use the other, which takes
    several seconds off a report. The warm-up only imports what the notebook's first cell imports.
    """
    from jupyter_client import AsyncKernelManager
    from jupyter_core.utils import run_sync

    manager = AsyncKernelManager(kernel_name="python3")
    # the kernel's own stderr (a transport notice at start-up) is not for the user's terminal;
    # errors in cells still reach papermill as messages
    run_sync(manager.start_kernel)(cwd=str(NOTEBOOK.parent), stderr=subprocess.DEVNULL)
    client = manager.client()
    client.start_channels()
    try:
        client.execute(WARMUP, silent=True, store_history=False)
        yield _Warm(manager, client)
    finally:
        client.stop_channels()
        if run_sync(manager.is_alive)():
            run_sync(manager.shutdown_kernel)(now=True)


@dataclass
class _Warm:
    manager: object
    client: object

    def ready(self, timeout: float = 300) -> object:
        """The kernel manager, once the warm-up has finished (its reply is not otherwise needed)."""
        from jupyter_core.utils import run_sync

        run_sync(self.client.get_shell_msg)(timeout=timeout)
        return self.manager


def execute_notebook(
    output: Path, *, results: Path, config: Path, cycle: str, org: str, blind: bool, kernel: object = None
) -> None:
    """Run the report notebook with papermill against a results folder (one kernel per report)."""
    import papermill

    # nbconvert takes seconds to import: do it while this process only waits for the kernel
    threading.Thread(target=importlib.import_module, args=("nbconvert",), daemon=True).start()
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(output),
        parameters={"config": str(config), "results": str(results), "cycle": cycle, "org": org, "blind": blind},
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
        cwd=str(NOTEBOOK.parent),
        **({"km": kernel} if kernel is not None else {}),
    )


def export_html(notebook: Path, *, title: str) -> str:
    """The executed notebook as HTML: no code, no prompts, no script, styles inline; checked offline."""
    import nbformat
    from nbconvert import HTMLExporter

    node = nbformat.read(str(notebook), as_version=4)
    node.metadata.pop("widgets", None)
    node.metadata["title"] = title
    node.cells = [c for c in node.cells if c.cell_type != "raw"]
    exporter = HTMLExporter(
        template_name="calib_report",
        extra_template_basedirs=[str(TEMPLATES / "nbconvert")],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    html, _ = exporter.from_notebook_node(node)
    check_offline(html)
    return html


def check_offline(html: str) -> None:
    """Raise if the page would load anything: a script with src, a remote stylesheet, image or frame."""
    for pattern in _OFFLINE_BAD:
        found = pattern.search(html)
        if found:
            raise RuntimeError(f"the report HTML would load from the network: {found.group(0)[:120]!r}")


# -- the command ----------------------------------------------------------------------------------


def build_report(
    config: str | Path,
    out: str | Path,
    *,
    cycle: str = "",
    org: str = "",
    blind: bool = False,
    per_manager: bool = False,
) -> dict:
    """Write the whole report folder, or nothing: report.html, findings.json, tables/, lineage.json, packets/.

    Returns what was written and how long each step took.
    """
    out = Path(out).resolve()  # the kernel runs in notebooks/: every path it gets is absolute
    config = Path(config).resolve()
    staged = staging_dir(out)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        with warm_kernel() as kernel:
            prepared = prepare_results(config, staged, cycle=cycle, org=org, blind=blind)
            timings["analyze"] = time.perf_counter() - started
            work = staged / ".work"
            work.mkdir()
            executed = work / "cycle_report.ipynb"
            step = time.perf_counter()
            execute_notebook(
                executed,
                results=staged,
                config=config,
                cycle=prepared.lineage["cycle"],
                org=org,
                blind=blind,
                kernel=kernel.ready(),
            )
            timings["notebook"] = time.perf_counter() - step
        step = time.perf_counter()
        scope = f" — {org}" if org else ""
        html = export_html(executed, title=f"Calibration report {prepared.lineage['cycle']}{scope}")
        write_text_atomic(staged / REPORT_HTML, html)
        timings["html"] = time.perf_counter() - step
        shutil.rmtree(work)
        packets = 0
        if per_manager:
            from calib.packets import write_packets

            step = time.perf_counter()
            packets = write_packets(prepared, staged / "packets", blind=blind)
            timings["packets"] = time.perf_counter() - step
        _shareable(staged)
        replace_dir(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    timings["total"] = time.perf_counter() - started
    return {
        "folder": out,
        "html": out / REPORT_HTML,
        "html_bytes": (out / REPORT_HTML).stat().st_size,
        "packets": packets,
        "findings": len(prepared.analysis.findings),
        "seconds": timings,
    }


def _shareable(folder: Path) -> None:
    """Temporary files are private (0600); the finished report gets the user's usual permissions."""
    mask = os.umask(0)
    os.umask(mask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def cli_report(args: argparse.Namespace) -> int:
    """`calib report CONFIG [--cycle C] [--org O] [--out DIR] [--blind] [--per-manager]`."""
    done = build_report(
        args.config,
        args.out,
        cycle=args.cycle or "",
        org=args.org or "",
        blind=bool(args.blind),
        per_manager=bool(getattr(args, "per_manager", False)),
    )
    folder = done["folder"]
    print(
        f"Wrote the report to {done['html']} ({done['html_bytes'] / 1e6:.1f} MB, {done['seconds']['total']:.0f} s), "
        f"with findings.json, tables/ and lineage.json in {folder}" + (" (blind mode)" if args.blind else "")
    )
    if done["packets"]:
        print(f"Wrote {done['packets']} manager packets and an index: {folder / 'packets' / 'index.html'}")
    return 0


__all__ = [
    "Prepared",
    "Redactor",
    "build_report",
    "check_offline",
    "cli_report",
    "display_mappings",
    "filter_org",
    "prepare_results",
    "report_context",
]
