"""Writing outputs so that nothing half-written is ever seen: temp file or folder, then a rename."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

FLOAT_FORMAT = "%.6g"  # CSVs round to 6 significant digits, so reruns are byte-identical


def write_text_atomic(path: Path, text: str) -> None:
    """Write text to a temporary file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def csv_text(frame: pd.DataFrame) -> str:
    """A frame as CSV text with rounded floats and Unix line endings."""
    return frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def staging_dir(target: Path) -> Path:
    """A new empty folder beside `target` to build it in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


def replace_dir(staged: Path, target: Path) -> None:
    """Swap a fully written folder into place; the old one is removed only after the swap."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
