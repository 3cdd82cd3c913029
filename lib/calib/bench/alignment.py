"""Benchmark: a manager's alignment documents, in-process and as a new `calib alignment` process."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from calib.files import SAMPLE_DIR
from calib.outputs.alignment.command import cli_alignment


def run(people: int = 300, managers: int = 40, seed: int = 20260630) -> list[str]:
    """Time `cli_alignment` for the largest team of a generated org (issue 6: under 10 s for 12).

    The org is generated into a temporary folder with the sample's leveling framework beside it;
    returns printable lines. Figures are printed, never asserted: machines are shared.
    """
    import contextlib
    import io
    import shutil
    import subprocess
    import sys
    import tempfile
    import time

    from calib.synth.org import generate_org, write_org

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = generate_org(people=people, managers=managers, seed=seed)
        write_org(frames, folder)
        sample = SAMPLE_DIR / "leveling.yml"
        if sample.is_file():
            shutil.copyfile(sample, folder / "leveling.yml")
        else:  # an installed package without the sample: documents without level descriptions
            text = (folder / "cycle.yml").read_text()
            (folder / "cycle.yml").write_text(re.sub(r"(?m)^leveling_framework:.*\n", "", text))
        sizes = frames["people"].groupby("manager_id").size()
        manager = sorted(sizes[sizes == sizes.max()].index)[0]
        args = argparse.Namespace(
            config=str(folder / "cycle.yml"), employee=None, manager=manager, out=str(folder / "out"), cycle=None
        )
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            cli_alignment(args)
        seconds = time.perf_counter() - started
        written = len(list((folder / "out").iterdir()))
        command = [sys.executable, "-m", "calib.cli", "alignment", args.config, "--manager", manager, "--out"]
        started = time.perf_counter()
        run = subprocess.run([*command, str(folder / "cold")], capture_output=True, text=True, check=False)
        cold = time.perf_counter() - started
    return [
        f"alignment documents: {people} people, manager {manager} with {int(sizes.max())} direct reports",
        f"  cli_alignment (load + validate + normalize + {written} files): {seconds:.2f} s (target < 10 s)",
        f"  `calib alignment` in a new process, imports included: {cold:.2f} s"
        + ("" if run.returncode == 0 else f" (failed: {run.stderr.strip()[:200]})"),
    ]
