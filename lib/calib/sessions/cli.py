"""The `calib session ...` subcommands (calib.cli wires argparse to `cli_session`).

Writers (`set`, `undo`, `flag`, `discussed`, `note`, `lock`) create the session on first use and print one
line per event only after it is committed: that line is the acknowledgement. Readers (`log`,
`export`, `verify`) need an existing session. Refusals are SessionError / StoreError, rendered by
calib.cli as one line with exit code 1; `verify` exits 1 when the log was altered, one line per
problem. `lock` and `export` print the log's head (`COUNT:HASH`) for `verify --head`.
`setup-roles` prints (or applies) least privilege for a PostgreSQL store. Text from the log is
printed with control characters escaped (calib.sessions.text.printable): no terminal ever
interprets what someone typed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from calib.files import csv_text, neutralize_frame
from calib.inputs.config import CycleConfig, load_config
from calib.sessions.anchors import parse_head
from calib.sessions.events import ON, TOGGLES, VERSIONED, Event
from calib.sessions.export import CALIBRATED, POTENTIAL, HandBack, hand_back, write_export
from calib.sessions.roles import apply_roles, role_sql
from calib.sessions.session import CalibrationSession, open_session, open_store
from calib.sessions.text import KEPT, printable

WRITERS = ("set", "undo", "flag", "discussed", "note", "lock")
C1 = re.compile(r"[\x7f-\x9f]")  # not escaped by json.dumps(ensure_ascii=False); a terminal may act on them
SHOWN = 50  # differences from the input listed by `export`, one line each (the log holds every change)


def cli_session(args: argparse.Namespace) -> int:
    """Run one `calib session` subcommand; the exit code."""
    command: str = args.session_command
    config = load_config(args.config)
    if command == "setup-roles":
        return _setup_roles(config, args)
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
    event = session.lock(by=args.by, reason=args.reason)
    _acknowledge(session, [event])
    print(f"head {event.seq}:{event.hash}: keep it outside the store; `calib session verify ... --head "
          f"{event.seq}:{event.hash}` checks the log against it")
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
            "head": verification.head,
            "events": [event.as_dict() for event in session.events()],
        }
        text = json.dumps(document, indent=2, ensure_ascii=False)  # C0 characters are escaped as \u00XX
        sys.stdout.write(C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")  # DEL and C1 too: verbatim still
    else:  # spreadsheet-bound: neutralized like every CSV the workbench writes; JSON is verbatim
        sys.stdout.write(printable(csv_text(neutralize_frame(session.log())), KEPT))
    return 0


def _export(session: CalibrationSession, args: argparse.Namespace) -> int:
    back = hand_back(session)
    exported = write_export(session, Path(args.out), back)
    status = session.state().status
    print(
        f"wrote {' and '.join(str(p) for p in exported.paths)}: {back.people} reviews of {session.key}; "
        f"session {status}{'' if status == 'locked' else ' (lock it before uploading)'}; head {exported.head}"
    )
    for line in export_lines(back):
        print(printable(line))
    for note in exported.notes:
        print(f"note: {note}")
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
    result = session.verify([parse_head(text) for text in args.head or []])
    where = f"session {session.key} in {session.store.shown}"
    anchors = session.store.anchors
    lines = [f"hashing: {result.hashing}"]
    if anchors is not None or args.head:
        kept = " and ".join([*([str(anchors.path)] if anchors is not None else []), *(["--head"] if args.head else [])])
        lines.append(f"heads kept outside the store that agree with the log: {result.anchors} ({kept})")
    lines += [f"note: {note}" for note in result.notes]
    if result.ok:
        print(f"{where}: {result}")
        print("\n".join(f"  {line}" for line in lines))
        return 0
    print("\n".join(f"  {line}" for line in lines))
    print("\n".join(f"error: {where}: altered: {problem}" for problem in result.problems), file=sys.stderr)
    return 1


def _setup_roles(config: CycleConfig, args: argparse.Namespace) -> int:
    if not args.apply:
        sys.stdout.write(role_sql(args.owner, args.app))
        return 0
    with open_store(config, args.store) as store:
        for line in apply_roles(store, args.owner, args.app):
            print(line)
    return 0


def _acknowledge(session: CalibrationSession, events: list[Event]) -> None:
    for event in events:
        if event.kind in VERSIONED:
            what = f"{event.kind} {event.from_value} -> {event.to_value} (version {event.version})"
        elif event.kind in TOGGLES:
            what = f"{event.kind} {event.to_value or ON}"
        else:
            what = event.kind
        about = f"{event.employee_id} " if event.employee_id else ""
        print(printable(f"recorded {session.key} event {event.seq}: {about}{what} by {event.author}"), flush=True)


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

