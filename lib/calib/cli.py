"""The `calib` command: the edge where errors are rendered for people.

Exit codes: 0 done, 1 invalid config or input (every problem listed) or a file the system
refused (one line: the path and why), 2 usage error, 3 internal error (a bug: one line, the
traceback only with --debug). `calib` alone prints the help and exits 0: asking what it does is
not a mistake.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from calib import __version__
from calib.errors import UsageError, WorkbenchError

EXIT_INVALID = 1
EXIT_INTERNAL = 3


class _Progress:
    """Stages of long work on one line of a terminal's stderr, cleared when the work is done."""

    def __call__(self, stage: str) -> None:
        print(f"\r\033[K{stage}", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        print("\r\033[K", end="", file=sys.stderr, flush=True)


def _progress(args: argparse.Namespace) -> _Progress | None:
    """A progress line on a terminal; None when stderr is not a terminal or with --quiet."""
    if getattr(args, "quiet", False) or not sys.stderr.isatty():
        return None
    return _Progress()


def _validate(args: argparse.Namespace) -> int:
    from calib.delivery.sources import load_cycle
    from calib.frame import normalize
    from calib.inputs.config import load_config
    from calib.outputs.summary import summarize

    progress = _progress(args)
    normalized = normalize(load_cycle(load_config(args.config).with_engine(args.engine), progress=progress))
    if progress:
        progress.done()
    print(summarize(normalized))
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from calib.analyses.runner import run_analyses, write_analysis
    from calib.delivery.sources import load_cycle
    from calib.frame import normalize
    from calib.inputs.config import load_config

    progress = _progress(args)
    normalized = normalize(load_cycle(load_config(args.config).with_engine(args.engine), progress=progress))
    if progress:
        progress("analyses ...")
    analysis = run_analyses(normalized)
    if progress:
        progress.done()
    out = Path(args.out)
    write_analysis(analysis, out)
    counts = {}
    for finding in analysis.findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    summary = ", ".join(f"{counts[k]} {k}" for k in ("alert", "warning", "info") if k in counts) or "none"
    print(
        f"{len(analysis.findings)} findings ({summary}); "
        f"wrote {out / 'findings.json'} and {len(analysis.tables)} tables in {out / 'tables'}"
    )
    for finding in analysis.findings:
        if finding.severity == "alert":
            print(f"  [{finding.kind}] {finding.explanation}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from calib.outputs.report.build import cli_report

    return cli_report(args, progress=_progress(args))


def _serve(args: argparse.Namespace) -> int:
    from calib.apps.serve import cli_serve

    return cli_serve(args)


def _explore(args: argparse.Namespace) -> int:
    from calib.apps.explorer.serve import cli_explore

    return cli_explore(args)


def _hub(args: argparse.Namespace) -> int:
    from calib.hub.launch import cli_hub

    return cli_hub(args)


def _cut(args: argparse.Namespace) -> int:
    from calib.hub.launch import cli_cut

    return cli_cut(args)


def _audit(args: argparse.Namespace) -> int:
    from calib.hub.audit import cli_audit

    return cli_audit(args)


def _alignment(args: argparse.Namespace) -> int:
    from calib.outputs.alignment.command import cli_alignment

    return cli_alignment(args)


def _talent(args: argparse.Namespace) -> int:
    from calib.outputs.talent import cli_talent

    return cli_talent(args)


def _session(args: argparse.Namespace) -> int:
    from calib.sessions.cli import cli_session

    return cli_session(args)


def _generate_sample(args: argparse.Namespace) -> int:
    from calib.synth.org import generate_org, write_org

    try:
        frames = generate_org(
            people=args.people,
            managers=args.managers,
            seed=args.seed,
            deployments=args.deployments,
            plant=not args.no_plant,
        )
    except ValueError as exc:  # sizes the generator cannot honour
        raise UsageError(f"generate-sample: {exc}") from None
    write_org(frames, Path(args.out), fmt=args.format)
    print(f"Wrote {len(frames)} inputs and cycle.yml to {args.out}")
    return 0


ENGINE_HELP = (
    "where the delivery stage runs (reading, checks, DORA, SLOs): duckdb (default), pyspark (a local Spark "
    "session), postgresql://user@host/db or sc://host:15002 (Spark Connect); default: the config's engine"
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="calib", description="Calibration workbench for engineering performance reviews."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on a terminal")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check a cycle's inputs and print a summary")
    validate.add_argument("config", help="the cycle config (YAML)")
    validate.add_argument("--engine", default=None, help=ENGINE_HELP)
    validate.set_defaults(run=_validate)

    analyze = commands.add_parser("analyze", help="run every analysis; write findings.json and tables/")
    analyze.add_argument("config", help="the cycle config (YAML)")
    analyze.add_argument("--out", default="reports/analysis", help="output folder (default: reports/analysis)")
    analyze.add_argument("--engine", default=None, help=ENGINE_HELP)
    analyze.set_defaults(run=_analyze)

    report = commands.add_parser("report", help="the cycle report: self-contained HTML, findings.json, tables/")
    report.add_argument("config", help="the cycle config (YAML)")
    report.add_argument("--cycle", default=None, help="the cycle to report (default: the config's)")
    report.add_argument("--org", default=None, help="only this org or sub-org (teams.org)")
    report.add_argument("--out", default="reports/cycle-report", help="output folder (replaced whole on success)")
    report.add_argument("--engine", default=None, help=ENGINE_HELP)
    report.add_argument(
        "--blind", action="store_true", help="pseudonyms instead of names and ids; no protected attributes"
    )
    report.add_argument(
        "--per-manager", action="store_true", help="also one packet per manager, holding only their team"
    )
    report.add_argument(
        "--session", default=None, help="a calibration session: its ratings are the after-calibration ratings"
    )
    report.add_argument(
        "--store",
        default=None,
        help="the session's SQLite file or postgresql:// URL (default: sessions.store in "
        "the config, else reports/sessions.sqlite)",
    )
    report.set_defaults(run=_report)

    serve = commands.add_parser("serve", help="serve the calibration dashboard with Voila")
    serve.add_argument("config", help="the cycle config (YAML)")
    serve.add_argument("--port", type=int, default=8866)
    serve.add_argument("--host", default="127.0.0.1", help="bind address (a token is required off loopback)")
    serve.add_argument("--no-browser", action="store_true", help="do not open a browser")
    serve.add_argument("--session", default=None, help="record the meeting in this calibration session (editable)")
    serve.add_argument("--facilitator", default=None, help="who records the changes (required with --session)")
    serve.add_argument("--store", default=None, help="SQLite file or postgresql:// URL (default: the config's)")
    serve.set_defaults(run=_serve)

    explore = commands.add_parser("explore", help="serve one manager's team explorer with Voila (their people only)")
    explore.add_argument("config", help="the cycle config (YAML)")
    explore.add_argument("--manager", required=True, help="the manager's employee_id: the page holds only their people")
    explore.add_argument("--port", type=int, default=8867)
    explore.add_argument("--host", default="127.0.0.1", help="bind address (a token is required off loopback)")
    explore.add_argument("--no-browser", action="store_true", help="do not open a browser")
    explore.add_argument(
        "--session", default=None, help="a calibration session: its ratings are the after-calibration ratings"
    )
    explore.add_argument("--store", default=None, help="the session's SQLite file or postgresql:// URL")
    explore.set_defaults(run=_explore)

    hub = commands.add_parser(
        "hub", help="JupyterHub in front of the meeting, the managers' explorers and the notebooks (sign-in)"
    )
    hub.add_argument("config", help="the cycle config (YAML)")
    hub.add_argument("--users", required=True, help="USERS.yml: who may sign in, and as what")
    hub.add_argument("--port", type=int, default=8000)
    hub.add_argument("--host", default="127.0.0.1", help="the address or name people reach the hub at")
    hub.add_argument("--session", default=None, help="the calibration session facilitators land on")
    hub.add_argument("--store", default=None, help="the session's SQLite file or postgresql:// URL")
    hub.add_argument("--state", default="reports/hub", help="the hub's folder: its database, secrets, audit log")
    hub.add_argument("--user-python", default=None, help="a Python every account can run, with calib installed")
    hub.add_argument("--proxy", default=None, help="the configurable-http-proxy program (default: make hub-node's)")
    hub.set_defaults(run=_hub)

    cut = commands.add_parser("cut", help="one manager's explorer written to a folder (for a server elsewhere)")
    cut.add_argument("config", help="the cycle config (YAML)")
    cut.add_argument("--manager", required=True, help="the manager's employee_id: the folder holds only their people")
    cut.add_argument("--out", required=True, help="the folder to write (the explorer's snapshot, notebook, template)")
    cut.add_argument("--cache", default="reports/.cache", help="where cuts are cached between runs")
    cut.add_argument("--session", help="put this calibration session's ratings in the cut")
    cut.add_argument("--store", help="where the session is kept (default: the config's sessions.store)")
    cut.set_defaults(run=_cut)

    audit = commands.add_parser("audit", help="who signed in to the hub, whose server started and stopped, when")
    audit.add_argument("--state", default="reports/hub", help="the hub's folder (calib hub --state)")
    audit.add_argument("--user", default=None, help="only this person's events")
    audit.add_argument("--format", choices=["table", "json"], default="table")
    audit.set_defaults(run=_audit)

    alignment = commands.add_parser("alignment", help="performance alignment documents (Markdown + HTML)")
    alignment.add_argument("config", help="the cycle config (YAML)")
    who = alignment.add_mutually_exclusive_group(required=True)
    who.add_argument("--employee", help="one person's employee_id")
    who.add_argument("--manager", help="every direct report of this manager")
    alignment.add_argument("--out", default="reports/alignment", help="output folder")
    alignment.add_argument("--cycle", default=None, help="the cycle (default: the config's); works mid-cycle")
    alignment.set_defaults(run=_alignment)

    talent = commands.add_parser("talent", help="talent mapping table (CSV + XLSX) for a manager and a thought partner")
    talent.add_argument("config", help="the cycle config (YAML)")
    talent.add_argument("--manager", default=None, help="only this manager's direct reports (default: everyone)")
    talent.add_argument("--cycle", default=None, help="the cycle (default: the config's)")
    talent.add_argument("--out", default="reports/talent", help="output folder")
    talent.set_defaults(run=_talent)

    _add_session_parser(commands)

    sample = commands.add_parser("generate-sample", help="write a seeded synthetic org")
    sample.add_argument("--out", required=True, help="folder to write (created; files in it are replaced)")
    sample.add_argument("--people", type=int, default=300)
    sample.add_argument("--managers", type=int, default=40)
    sample.add_argument("--deployments", type=int, default=None, help="default: realistic rates for the team sizes")
    sample.add_argument("--seed", type=int, default=20260630)
    sample.add_argument("--format", choices=["csv", "parquet"], default="csv")
    sample.add_argument("--no-plant", action="store_true", help="no planted patterns (benchmark orgs)")
    sample.set_defaults(run=_generate_sample)
    return parser


def _add_session_parser(commands: argparse._SubParsersAction) -> None:
    """`calib session set|undo|flag|discussed|note|lock|log|export|verify|setup-roles` (run by calib.sessions.cli)."""
    session = commands.add_parser("session", help="calibration sessions: record changes with reasons, lock, export")
    sub = session.add_subparsers(dest="session_command", required=True)

    def command(name: str, help_text: str, *, writer: bool, person: bool) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text)
        parser.add_argument("config", help="the cycle config (YAML)")
        parser.add_argument("--session", required=True, help="the session's name (unique within the cycle)")
        parser.add_argument(
            "--store",
            default=None,
            help="SQLite file or postgresql:// URL (default: sessions.store in the "
            "config, else reports/sessions.sqlite)",
        )
        if person:
            parser.add_argument("--employee", required=True, help="the person's employee_id")
        if writer:
            parser.add_argument("--by", required=True, help="who makes the change (recorded as given)")
            parser.add_argument("--scope", default=None, help="cycle, org:NAME or manager:ID (at creation)")
        parser.set_defaults(run=_session)
        return parser

    change = command("set", "change a rating and/or potential, with a reason", writer=True, person=True)
    change.add_argument("--rating", default=None, help="the new rating (a label of rating_scale)")
    change.add_argument("--potential", default=None, help="the new potential (a label of sessions.potential_scale)")
    change.add_argument("--reason", required=True, help="why (required; kept verbatim in the log)")
    change.add_argument("--expect-version", type=int, default=None, help="the person's version you saw")
    undo = command("undo", "set back a person's last change (a new event, never a deletion)", writer=True, person=True)
    undo.add_argument("--reason", required=True, help="why (required; kept verbatim in the log)")
    undo.add_argument("--expect-version", type=int, default=None, help="the person's version you saw")
    for name, help_text in (("flag", "flag a person for discussion"), ("discussed", "mark a person as discussed")):
        toggle = command(name, help_text + " (--off: take the mark off)", writer=True, person=True)
        toggle.add_argument("--reason", default="")
        toggle.add_argument("--off", action="store_true", help="take the mark off (recorded as its own event)")
    command("note", "add a note about a person", writer=True, person=True).add_argument("--text", required=True)
    command("lock", "lock the session: no more changes", writer=True, person=False).add_argument("--reason", default="")
    log = command("log", "print the session's log to stdout", writer=False, person=False)
    log.add_argument("--format", choices=["csv", "json"], default="csv")
    export = command("export", "the reviews input with the session's ratings, plus the log", writer=False, person=False)
    export.add_argument("--out", required=True, help="FILE.csv (log in FILE-log.csv) or FILE.xlsx (sheet log)")
    verify = command(
        "verify", "check the log's hash chain, its anchors and triggers; exit 1 if altered", writer=False, person=False
    )
    verify.add_argument(
        "--head", action="append", default=None, metavar="COUNT:HASH",
        help="a head kept outside the store (as lock and export print it); may be repeated",
    )
    roles = sub.add_parser("setup-roles", help="PostgreSQL least privilege: print (or apply) the SQL for two roles")
    roles.add_argument("config", help="the cycle config (YAML)")
    roles.add_argument("--owner", required=True, help="the role that owns the tables and triggers (no daily login)")
    roles.add_argument("--app", required=True, help="calib's role: may only read the log and add to it")
    roles.add_argument("--store", default=None, help="postgresql:// URL (default: sessions.store in the config)")
    roles.add_argument("--apply", action="store_true", help="run it on the store (as a superuser or the owner)")
    roles.set_defaults(run=_session)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; render problems and errors without tracebacks."""
    from calib.errors import render_problems

    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except WorkbenchError as exc:
        problems = getattr(exc, "problems", None)
        lines = render_problems(problems) if problems else [f"error: {exc}"]
        print("\n".join(lines), file=sys.stderr)
        errors = sum(1 + p.more for p in problems or [] if p.severity == "error")
        if errors:
            print(f"{errors} error(s); nothing was written.", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # the system refused a path the user gave (a file where a folder goes, no permission, ...)
        if args.debug:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # a bug: say so in one line, never a traceback by default
        if args.debug:
            traceback.print_exc()
        print(
            f"calib: internal error ({type(exc).__name__}: {exc}). Rerun with --debug and report it.", file=sys.stderr
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
