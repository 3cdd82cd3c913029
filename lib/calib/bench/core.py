"""`make bench`: time and peak memory of the pipeline on a large synthetic org.

Each measurement runs in a fresh process so its peak RSS is its own. The large org is generated
once into reports/bench/ (git-ignored) and reused while the generator's parameters match.
Targets (issue 2): load + validate + normalize of 10k people with 1M deployments in under 5 s
and 1.5 GB on a 2-core machine. Figures are printed, never asserted: machines are shared.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from calib.bench import delivery
from calib.bench.timing import load_and_normalize
from calib.delivery.engine import DUCKDB_MEMORY_LIMIT

BENCH_DIR = Path("reports/bench")
# (module, function returning printable lines), from the report, dashboard, alignment and session features
OTHER_BENCHMARKS = [
    ("calib.bench.report", "run"),
    ("calib.bench.dashboard", "run"),
    ("calib.bench.alignment", "run"),
    ("calib.bench.sessions", "run"),
    ("calib.bench.meeting", "run"),
    ("calib.bench.explorer", "run"),
    ("calib.bench.hub", "run"),
]
# The pandas implementation the engine replaced, on this org, measured side by side with the engine
# (alternating runs on one 2-core machine, 2026-11-29): its figure, since its code is gone.
BEFORE_ENGINE_1M = "4.3-6.0 s total, load+validate 2.8-4.0 s"
LARGE_ORG = {"people": 10_000, "managers": 1_200, "deployments": 1_000_000, "seed": 7}


def ensure_org(folder: Path, params: dict, fmt: str = "csv") -> Path:
    """Generate the org into `folder` unless it already holds one made with `params`."""
    marker = folder / "params.json"
    wanted = json.dumps({**params, "format": fmt}, sort_keys=True)
    if marker.is_file() and marker.read_text() == wanted:
        return folder / "cycle.yml"
    from calib.synth.org import generate_org, write_org

    started = time.perf_counter()
    frames = generate_org(
        people=params["people"],
        managers=params["managers"],
        deployments=params["deployments"],
        seed=params["seed"],
        plant=False,
    )
    write_org(frames, folder, fmt=fmt)
    marker.write_text(wanted)
    print(
        f"  generated {params['people']:,} people, {params['deployments']:,} deployments "
        f"in {time.perf_counter() - started:.1f} s -> {folder}"
    )
    return folder / "cycle.yml"


def pipeline(config_path: str, engine: str | None = None) -> dict:
    """Load, validate and normalize one cycle (on `engine`, default DuckDB); seconds per stage and peak RSS.

    A Spark session is started first and timed on its own (`session_s`); the team DORA and SLO
    tables come back as JSON for comparing engines.
    """
    from calib.delivery.engine import connect

    started = time.perf_counter()
    on = connect(engine) if engine else None
    session = time.perf_counter() - started
    run = load_and_normalize(config_path, on)
    tables = {name: getattr(run.normalized, name).to_json(orient="split") for name in ("team_dora", "team_slos")}
    return {**run.figures, "session_s": session, "frame_rows": len(run.normalized.frame), "tables": tables}


def largest_gap(ours: dict, theirs: dict) -> float:
    """The largest absolute difference between two runs' team DORA and SLO tables (inf when their shapes differ)."""
    from io import StringIO

    import numpy as np
    import pandas as pd

    gaps = [0.0]
    for name, text in ours["tables"].items():
        a = pd.read_json(StringIO(text), orient="split")
        b = pd.read_json(StringIO(theirs["tables"][name]), orient="split")
        if list(a.columns) != list(b.columns) or len(a) != len(b):
            return float("inf")
        for column in a.select_dtypes("number").columns:
            x, y = a[column].astype(float).to_numpy(), b[column].astype(float).to_numpy()
            if (np.isnan(x) != np.isnan(y)).any():
                return float("inf")
            gaps.append(float(np.nanmax(np.abs(x - y), initial=0.0)))
        for column in a.columns.difference(a.select_dtypes("number").columns):
            if not a[column].astype(str).equals(b[column].astype(str)):
                return float("inf")
    return max(gaps)


def analyze_timing(config_path: str) -> dict:
    """Seconds to load+normalize and to run every analysis, and peak RSS."""
    from calib.analyses.runner import run_analyses
    from calib.delivery.sources import load_cycle
    from calib.frame import normalize
    from calib.inputs.config import load_config

    started = time.perf_counter()
    normalized = normalize(load_cycle(load_config(config_path)))
    loaded = time.perf_counter()
    analysis = run_analyses(normalized)
    done = time.perf_counter()
    return {
        "load_s": loaded - started,
        "analyze_s": done - loaded,
        "findings": len(analysis.findings),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _in_child(*args: str) -> dict:
    run = subprocess.run([sys.executable, "-m", "calib.bench", *args], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def delivery_benchmarks(scales: list[str]) -> int:
    """`calib validate` on 10M (and 100M) deployments beside one hand-written DuckDB query."""
    for scale in scales:
        deployments = delivery.SCALES[scale]
        print(
            f"Benchmark: calib validate, 10k people, {deployments:,} deployments, {2 * deployments:,} changes, "
            f"{deployments // 10:,} incidents as Parquet"
            + (" (goal: within 1.2x of the same work by hand)" if scale == "10M" else " (bounded memory)"),
            flush=True,
        )
        base = ensure_org(BENCH_DIR / "org-10k-parquet", LARGE_ORG, fmt="parquet")
        config = delivery.ensure_events(BENCH_DIR / f"events-{scale}", deployments, base)
        ours = _in_child("--child-validate", str(config))
        print(
            f"  calib validate   {ours['total_s']:6.1f} s (read+check {ours['load_validate_s']:.1f} s, "
            f"metrics {ours['normalize_s']:.1f} s), peak RSS {ours['peak_rss_mb']:,.0f} MB",
            flush=True,
        )
        limits = [DUCKDB_MEMORY_LIMIT, delivery.REFERENCE_MEMORY] if scale == "10M" else [delivery.REFERENCE_MEMORY]
        for limit in limits:
            try:
                theirs = _in_child("--child-reference", str(config), "--memory-limit", limit)
            except SystemExit as failed:  # e.g. DuckDB's in-memory median past its memory limit
                said = str(failed).strip().splitlines()
                print(f"  reference query  failed at {limit}: {said[-1] if said else failed}", flush=True)
                continue
            gap = delivery.largest_difference(ours["dora"], theirs["dora"])
            same = " (calib's own limit)" if limit == DUCKDB_MEMORY_LIMIT else ""
            events = ours["total_s"] - ours["small_inputs_s"]
            print(
                f"  reference        {theirs['total_s']:6.1f} s (the same checks {theirs['checks_s']:.1f} s, team DORA "
                f"{theirs['dora_s']:.1f} s), peak RSS {theirs['peak_rss_mb']:,.0f} MB (written by hand: "
                f"calib.bench.delivery.ROW_CHECKS, ACROSS_CHECKS, REFERENCE_SQL; DuckDB limited to {limit}{same})\n"
                f"  ratio {ours['total_s'] / theirs['total_s']:.2f}x; without people, reviews and the other small "
                f"inputs ({ours['small_inputs_s']:.1f} s, pandas) {events / theirs['total_s']:.2f}x (goal 1.2x); "
                f"largest difference in team DORA {gap:.3g}; problems: calib {ours['problems']:,}, the reference "
                + (", ".join(f"{k} {v:,}" for k, v in theirs["problems"].items()) or "0"),
                flush=True,
            )
    return 0


def spark_run(config: Path, duckdb: dict) -> None:
    """The same org on a local Spark session (calib.delivery.spark.LOCAL_CONF), printed beside DuckDB's best run."""
    from calib.delivery import spark

    if spark.java() is None:
        print(f"  on local Spark: not run, it needs {spark.JAVA_HINT}")
        return
    ours = _in_child("--child-pipeline", str(config), "--engine", "pyspark")
    gap = largest_gap(duckdb, ours)
    print(
        f"  on local Spark ({spark.LOCAL_CONF['spark.master']}, driver {spark.LOCAL_CONF['spark.driver.memory']}; one "
        f"run): load+validate {ours['load_validate_s']:.2f} s, normalize {ours['normalize_s']:.2f} s, total "
        f"{ours['total_s']:.2f} s ({ours['total_s'] / duckdb['total_s']:.1f}x DuckDB) after starting the session "
        f"{ours['session_s']:.1f} s; peak RSS of calib's process {ours['peak_rss_mb']:,.0f} MB (Spark's JVM apart); "
        f"team DORA and SLO tables against DuckDB's: largest difference {gap:.3g}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m calib.bench")
    parser.add_argument("--child-pipeline", help=argparse.SUPPRESS)
    parser.add_argument("--child-analyze", help=argparse.SUPPRESS)
    parser.add_argument("--child-insteval", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-validate", help=argparse.SUPPRESS)
    parser.add_argument("--child-reference", help=argparse.SUPPRESS)
    parser.add_argument("--memory-limit", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["pipeline", "delivery"], help="run only these benchmarks")
    parser.add_argument("--scales", default="10M,100M", help="delivery event scales to run (10M, 100M)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    args = parser.parse_args(argv)
    if args.child_pipeline:
        print(json.dumps(pipeline(args.child_pipeline, args.engine)))
        return 0
    if args.child_analyze:
        print(json.dumps(analyze_timing(args.child_analyze)))
        return 0
    if args.child_validate:
        print(json.dumps(delivery.validate_run(args.child_validate, args.memory_limit)))
        return 0
    if args.child_reference:
        print(json.dumps(delivery.reference_run(args.child_reference, args.memory_limit or delivery.REFERENCE_MEMORY)))
        return 0
    if args.only == "delivery":
        return delivery_benchmarks(args.scales.split(","))
    if args.child_insteval:
        from calib.analyses.crossed import insteval_benchmark

        print(json.dumps(insteval_benchmark(), default=float))
        return 0

    print(
        "Benchmark: load + validate + normalize, 10k people, 1M deployments (target < 5 s, < 1.5 GB, "
        f"and not slower than before the engine: {BEFORE_ENGINE_1M}); then on local Spark"
    )
    config = ensure_org(BENCH_DIR / "org-10k", LARGE_ORG)
    runs = [_in_child("--child-pipeline", str(config)) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r["total_s"])
    rows = ", ".join(f"{k} {v:,}" for k, v in best["rows"].items())
    print(f"  inputs: {rows}")
    print(
        f"  load+validate {best['load_validate_s']:.2f} s, normalize {best['normalize_s']:.2f} s, "
        f"total {best['total_s']:.2f} s (best of {len(runs)}; all: "
        + ", ".join(f"{r['total_s']:.2f}" for r in runs)
        + ")"
    )
    print(f"  peak RSS {max(r['peak_rss_mb'] for r in runs):,.0f} MB")
    spark_run(config, best)

    if args.only == "pipeline":
        return 0
    delivery_benchmarks(args.scales.split(","))

    print("Benchmark: analyze (every analysis) on the same 10k-person org")
    analysis = min((_in_child("--child-analyze", str(config)) for _ in range(2)), key=lambda r: r["analyze_s"])
    print(
        f"  analyze {analysis['analyze_s']:.2f} s after load+normalize {analysis['load_s']:.2f} s; "
        f"{analysis['findings']} findings, peak RSS {analysis['peak_rss_mb']:,.0f} MB"
    )

    print("Benchmark: crossed REML on lme4's InstEval (73,421 ratings; lme4: 0.1062, 0.2737, 1.3872)")
    fit = _in_child("--child-insteval")
    print(
        f"  {fit['seconds']:.2f} s; reviewer {fit['rater']:.4f}, reviewee {fit['ratee']:.4f}, "
        f"residual {fit['residual']:.4f}; largest gap to lme4 {100 * fit['max_relative_gap']:.3f}%"
    )

    for module, function in OTHER_BENCHMARKS:
        print("\n".join(getattr(importlib.import_module(module), function)()), flush=True)
    return 0
