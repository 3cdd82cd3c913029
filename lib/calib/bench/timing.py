"""One timed run of the pipeline's first stages, shared by the benchmarks that report them."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TimedRun:
    """A cycle loaded and normalized, with seconds per stage and this process's peak RSS."""

    data: Any  # calib.inputs.cycle.CycleData
    normalized: Any  # calib.frame.Normalized
    figures: dict


def load_and_normalize(config_path: str, engine: Any = None) -> TimedRun:
    """Load, validate and normalize one cycle (on `engine`, default DuckDB in this process), timed."""
    from calib.delivery.sources import load_cycle
    from calib.frame import normalize
    from calib.inputs.config import load_config

    started = time.perf_counter()
    data = load_cycle(load_config(config_path), engine=engine)
    loaded = time.perf_counter()
    normalized = normalize(data)
    done = time.perf_counter()
    figures = {
        "load_validate_s": loaded - started,
        "small_inputs_s": small_inputs_seconds(data.config),
        "normalize_s": done - loaded,
        "total_s": done - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": {name: source.rows for name, source in data.sources.items()},
    }
    return TimedRun(data, normalized, figures)


def small_inputs_seconds(config: Any) -> float:
    """Seconds to read and check people, reviews and the other small inputs in pandas (a second read, timed alone)."""
    from calib.inputs.validate import EVENT_INPUTS, read_inputs

    started = time.perf_counter()
    read_inputs(config, skip=EVENT_INPUTS)
    return time.perf_counter() - started
