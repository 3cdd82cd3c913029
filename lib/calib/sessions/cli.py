"""The `calib session ...` subcommands (calib.cli wires argparse to `cli_session`).

Writers (`set`, `undo`, `flag`, `discussed`, `note`, `lock`) create the session on first use and print one
line per event only after it is committed: that line is the acknowledgement. Readers (`log`,
`export`, `verify`) need an existing session. Refusals are SessionError / StoreError, rendered by
calib.cli as one line with exit code 1; `verify` exits 1 when the log was altered.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from calib.files import csv_text, neutralize_frame
from calib.inputs.config import load_config
from calib.sessions.events import ON, TOGGLES, VERSIONED, Event
from calib.sessions.export import CALIBRATED, POTENTIAL, HandBack, hand_back, write_export
from calib.sessions.session import CalibrationSession, open_session

WRITERS = ("set", "undo", "flag", "discussed", "note", "lock")
SHOWN = 50  # differences from the input listed by `export`, one line each (the log holds every change)


def cli_session(args: argparse.Namespace) -> int:
    """Run one `calib session` subcommand; the exit code."""
    command: str = args.session_command
    config = load_config(args.config)
    with open_session(
        config,
        args.session,
        scope=getattr(args, "scope", None),
        store=args.store,
        by=args.by if command in WRITERS else None,
    ) as session:
        return COMMANDS[command](session, args)


def _set(session: CalibrationSession, args: argparse.Namespace) -> int:
    events = session.change(
        args.employee,
        rating=args.rating,
        potential=args.potential,
        reason=args.reason,
        by=args.by,
        expect_version=args.expect_version,
    )
    _acknowledge(session, events)
    return 0


def _undo(session: CalibrationSession, args: argparse.Namespace) -> int:
    events = session.undo(args.employee, reason=args.reason, by=args.by, expect_version=args.expect_version)
    _acknowledge(session, events)
    return 0


def _flag(session: CalibrationSession, args: argparse.Namespace) -> int:
    _acknowledge(session, [session.flag(args.employee, by=args.by, reason=args.reason, on=not args.off)])
    return 0


def _discussed(session: CalibrationSession, args: argparse.Namespace) -> int:
    _acknowledge(session, [session.mark_discussed(args.employee, by=args.by, reason=args.reason, on=not args.off)])
    return 0


def _note(session: CalibrationSession, args: argparse.Namespace) -> int:
    _acknowledge(session, [session.note(args.employee, args.text, by=args.by)])
    return 0


def _lock(session: CalibrationSession, args: argparse.Namespace) -> int:
    _acknowledge(session, [session.lock(by=args.by, reason=args.reason)])
    return 0


def _log(session: CalibrationSession, args: argparse.Namespace) -> int:
    if args.format == "json":
        verification = session.verify()
        document = {
            "cycle": session.config.cycle,
            "session": session.name,
            "scope": str(session.scope),
            "status": session.state().status,
            "head_hash": verification.head_hash,
            "events": [event.as_dict() for event in session.events()],
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:  # spreadsheet-bound: neutralized like every CSV the workbench writes; JSON is verbatim
        sys.stdout.write(csv_text(neutralize_frame(session.log())))
    return 0


def _export(session: CalibrationSession, args: argparse.Namespace) -> int:
    back = hand_back(session)
    paths = write_export(session, Path(args.out), back)
    status = session.state().status
    print(
        f"wrote {' and '.join(str(p) for p in paths)}: {back.people} reviews of {session.key}; "
        f"session {status}{'' if status == 'locked' else ' (lock it before uploading)'}"
    )
    for line in export_lines(back):
        print(line)
    return 0


def export_lines(back: HandBack, shown: int = SHOWN) -> list[str]:
    """What the export changed against the reviews input: counts, then each value (up to `shown`)."""
    lines = []
    for column, what in ((CALIBRATED, "calibrated_rating"), (POTENTIAL, "potential")):
        changed = back.changed(column)
        lines.append(
            f"{len(changed)} {what} value(s) differ from the reviews input"
            + (": the session changed them" if changed else "")
        )
        lines += [f"  {difference}" for difference in changed[:shown]]
        if len(changed) > shown:
            lines.append(f"  ... and {len(changed) - shown} more (every change is in the log)")
    filled = back.filled(CALIBRATED)
    if filled:
        lines.append(f"{len(filled)} blank calibrated_rating cell(s) filled with the rating the session kept")
    return lines


def _verify(session: CalibrationSession, args: argparse.Namespace) -> int:
    result = session.verify()
    if result.ok:
        print(f"session {session.key} in {session.store.shown}: {result}")
        return 0
    print(f"error: session {session.key} in {session.store.shown}: {result}", file=sys.stderr)
    return 1


def _acknowledge(session: CalibrationSession, events: list[Event]) -> None:
    for event in events:
        if event.kind in VERSIONED:
            what = f"{event.kind} {event.from_value} -> {event.to_value} (version {event.version})"
        elif event.kind in TOGGLES:
            what = f"{event.kind} {event.to_value or ON}"
        else:
            what = event.kind
        about = f"{event.employee_id} " if event.employee_id else ""
        print(f"recorded {session.key} event {event.seq}: {about}{what} by {event.author}", flush=True)


COMMANDS: dict[str, Callable[[CalibrationSession, argparse.Namespace], int]] = {
    "set": _set,
    "undo": _undo,
    "flag": _flag,
    "discussed": _discussed,
    "note": _note,
    "lock": _lock,
    "log": _log,
    "export": _export,
    "verify": _verify,
}

