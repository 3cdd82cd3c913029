"""Report benchmarks (issue 4): the sample report, a 10k-person report and its size, 500+ packets.

Each report runs as `python -m calib.cli report` in a fresh process, timed from outside: what a
user waits for, imports included. Targets on a 2-core machine: the sample report under 30 s; 10k
people with 1M deployments under 60 s with HTML under 10 MB; packets for about 500 managers
under 2 minutes. Figures are printed, never asserted (machines are shared: the load average is
printed beside each figure). Orgs are generated once under reports/bench/ and reused.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from calib.bench.core import BENCH_DIR, LARGE_ORG, ensure_org

SAMPLE = Path("data_samples/cycle.yml")
PACKET_ORG = {"people": 4_000, "managers": 500, "deployments": 100_000, "seed": 11}


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def timed_report(config: Path, out: Path, *extra: str) -> dict:
    """Run `calib report` in a fresh process: wall and CPU seconds, HTML bytes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "calib.cli", "report", str(config), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise SystemExit(f"calib report failed:\n{run.stderr[-2000:]}")
    lineage = json.loads((out / "lineage.json").read_text(encoding="utf-8"))
    return {
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "html_bytes": (out / "report.html").stat().st_size,
        "stages": lineage.get("seconds", {}),
    }


def packets_timing(config: str, out: str) -> dict:
    """Analyse an org, then write every manager's packet (the `--per-manager` step), timed apart."""
    from calib.outputs.report.packets import write_packets
    from calib.outputs.report.prepare import prepare_results

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as results:
        prepared = prepare_results(config, results)
        analysed = time.perf_counter()
        count = write_packets(prepared, Path(out), blind=False)
    done = time.perf_counter()
    return {"analysis_s": analysed - started, "packets_s": done - analysed, "packets": count}


def run() -> list[str]:
    """Every report benchmark, one line each."""
    lines = []
    sample = timed_report(SAMPLE, BENCH_DIR / "report-sample")
    lines.append(
        f"report, sample org: {sample['wall_s']:.1f} s (target < 30 s; CPU {sample['cpu_s']:.1f} s; {_load()}), "
        f"HTML {sample['html_bytes'] / 1e6:.2f} MB"
    )
    config = ensure_org(BENCH_DIR / "org-10k", LARGE_ORG)
    large = timed_report(config, BENCH_DIR / "report-10k")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in large["stages"].items())
    lines.append(
        f"report, 10k people, 1M deployments: {large['wall_s']:.1f} s (target < 60 s; CPU {large['cpu_s']:.1f} s; "
        f"{_load()}; {stages}), HTML {large['html_bytes'] / 1e6:.2f} MB (target < 10 MB)"
    )
    config = ensure_org(BENCH_DIR / "org-500m", PACKET_ORG)
    child = subprocess.run(
        [sys.executable, "-m", "calib.bench.report", "--child-packets", str(config), str(BENCH_DIR / "packets-500m")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    if child.returncode != 0:
        raise SystemExit(f"packet benchmark failed:\n{child.stderr[-2000:]}")
    packets = json.loads(child.stdout.strip().splitlines()[-1])
    lines.append(
        f"packets: {packets['packets']} managers' packets in {packets['packets_s']:.1f} s (target < 120 s; {_load()}), "
        f"after {packets['analysis_s']:.1f} s of load + analysis ({PACKET_ORG['people']:,} people)"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print every report benchmark (or run one child measurement)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--child-packets"]:
        print(json.dumps(packets_timing(args[1], args[2])))
        return 0
    print("Benchmark: calib report (issue 4)")
    for line in run():
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
