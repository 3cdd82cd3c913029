"""The hub's audit trail: every sign-in, refusal, server start and stop, with who, role and scope.

One JSON object per line in `<state>/hub/audit.jsonl`, appended (O_APPEND, one write per event, in
the hub's own folder: only its account reads it). `calib audit --state DIR` prints it as a table, oldest
first, optionally for one person; `--format json` prints the lines as they are, for a SIEM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

AUDIT_FILE = "audit.jsonl"
EVENTS = ("sign-in", "refused", "server-start", "server-stop")


@dataclass(frozen=True)
class Entry:
    """One audited event. `by` is who asked for it when that is someone else (an operator)."""

    at: str
    event: str
    user: str
    role: str | None = None
    scope: str | None = None
    by: str | None = None
    detail: str | None = None


def record(
    state: Path,
    event: str,
    user: str,
    *,
    role: str | None = None,
    scope: str | None = None,
    by: str | None = None,
    detail: str | None = None,
) -> Entry:
    """Append one event to the audit file (created 0600)."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    entry = Entry(dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), event, user, role, scope, by, detail)
    line = json.dumps({k: v for k, v in asdict(entry).items() if v is not None}, ensure_ascii=False) + "\n"
    handle = os.open(Path(state) / AUDIT_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(handle, line.encode("utf-8"))
    finally:
        os.close(handle)
    return entry


def entries(state: Path, user: str | None = None) -> Iterator[Entry]:
    """The audit file's events, oldest first (one person's, when `user` is given)."""
    path = Path(state) / AUDIT_FILE
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                entry = Entry(**json.loads(line))
                if user is None or entry.user == user:
                    yield entry


def table(rows: list[Entry]) -> str:
    """The events as aligned text columns: when (UTC), event, user, role, scope, by, detail."""
    header = ("when (UTC)", "event", "user", "role", "scope", "by", "detail")
    cells = [header] + [
        (e.at[:19].replace("T", " "), e.event, e.user, e.role or "", e.scope or "", e.by or "", e.detail or "")
        for e in rows
    ]
    widths = [max(len(printable(row[i])) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(printable(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def printable(text: str) -> str:
    """Text safe for a terminal: control characters shown as escapes, never sent raw."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def cli_audit(args: argparse.Namespace) -> int:
    """`calib audit [--state DIR] [--user NAME] [--format table|json]`: the audit log, oldest first."""
    from calib.errors import UsageError
    from calib.hub.workspace import PRIVATE_DIR

    folder = Path(args.state) / PRIVATE_DIR
    if not (folder / AUDIT_FILE).is_file():
        raise UsageError(f"{folder / AUDIT_FILE}: no such file (is --state the folder `calib hub --state` used?)")
    rows = list(entries(folder, args.user))
    if args.format == "json":
        for row in rows:
            sys.stdout.write(json.dumps({k: v for k, v in asdict(row).items() if v is not None}) + "\n")
    else:
        print(table(rows))
    return 0
