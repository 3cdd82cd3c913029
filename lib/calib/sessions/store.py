"""The session store: two tables, an engine per URL, and one locked read-check-append transaction.

`sessions` holds one row per session (cycle, name, scope) with the log's head: how many events it
holds, the last event's hash and whether it is locked (a cache of the log, checked by verify).
`session_events` is the log, one row per event; triggers refuse UPDATE and DELETE on it (and
TRUNCATE on PostgreSQL), refuse deleting a session or changing its identity, and refuse moving
its head backwards. A unique (session_id, seq) is a second guard against two writers appending
the same place.

Every append locks first and reads second: a SQLite file (the default, for one host) through
`BEGIN IMMEDIATE` (calib.sessions.engine), a PostgreSQL server (for several hosts) through
`SELECT ... FOR UPDATE` on the session's row. A change is acknowledged (returned) only after its
transaction has committed, and after its head was appended to the anchor file (calib.sessions.anchors).

The tables and their triggers are created together, once, when the store has neither; afterwards
opening a store runs no DDL (a PostgreSQL role without the owner's rights can use it), and every
append first checks that the triggers are intact: a missing one is never re-created, the append is
refused and `verify` names it. Events are chained with the session's key when it has one
(calib.sessions.keys).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from calib.sessions.anchors import SUFFIX, AnchorFile
from calib.sessions.changes import Snapshot
from calib.sessions.engine import BUSY_TIMEOUT_S, postgres_engine, sqlite_engine, store_url
from calib.sessions.errors import SessionError, StoreError
from calib.sessions.events import GENESIS, Draft, Event, seal, utc_now
from calib.sessions.keys import SessionKey, secret_for, session_mode
from calib.sessions.triggers import TABLES, install_triggers, trigger_problems

SCHEMA_LOCK = 5_202_611  # PostgreSQL advisory lock key: one process creates the tables at a time

metadata = sa.MetaData()
sessions_table = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("cycle", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("scope", sa.String(300), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # "open" or "locked": a cache of the log
    sa.Column("event_count", sa.Integer, nullable=False),  # the log's head: events appended so far
    sa.Column("head_hash", sa.String(64), nullable=False),  # ... and the last one's hash
    sa.UniqueConstraint("cycle", "name", name="uq_sessions_cycle_name"),
)
events_table = sa.Table(
    "session_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("employee_id", sa.String(200)),
    sa.Column("from_value", sa.Text),
    sa.Column("to_value", sa.Text),
    sa.Column("base_version", sa.Integer),
    sa.Column("version", sa.Integer),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("session_id", "seq", name="uq_session_events_seq"),
    sa.Index("ix_session_events_person", "session_id", "employee_id", "kind", "seq"),
)
EVENT_FIELDS = [c.name for c in events_table.columns if c.name not in ("id", "session_id")]


@dataclass(frozen=True)
class SessionRecord:
    """A session's row: identity, scope, and the head of its log as last recorded."""

    id: int
    cycle: str
    name: str
    scope: str
    status: str
    event_count: int
    head_hash: str

    @property
    def key(self) -> str:
        """`cycle/name`, how messages name the session."""
        return f"{self.cycle}/{self.name}"


@dataclass(frozen=True)
class NewSession:
    """A session to create on its first change, if no one has created it yet."""

    cycle: str
    name: str
    scope: str
    author: str
    scope_given: bool = True  # False: accept whatever scope an existing session has

    @property
    def key(self) -> str:
        """`cycle/name`."""
        return f"{self.cycle}/{self.name}"


BESIDE = "beside"  # anchors: STORE.anchors beside a SQLite file, none for a server


class SessionStore:
    """A connection to one session store. Safe for many processes at once; open one per process.

    Parameters
    ----------
    target
        A SQLite file path, or a database URL.
    key
        The configured session key (calib.sessions.keys); new sessions are keyed with it.
    anchors
        The anchor file; BESIDE: `STORE.anchors` for a SQLite file, none for a PostgreSQL server.
    """

    def __init__(self, target: str | Path | URL, *, key: SessionKey | None = None, anchors: Path | str | None = BESIDE):
        self.url = target if isinstance(target, URL) else store_url(target)
        self.dialect = self.url.get_backend_name()
        self.shown = self.url.database if self.dialect == "sqlite" else self.url.render_as_string(hide_password=True)
        self.key = key
        if anchors == BESIDE:
            anchors = f"{self.url.database}{SUFFIX}" if self.dialect == "sqlite" else None
        self.anchors = None if anchors is None else AnchorFile(Path(anchors), self.url)
        self._modes: dict[int, str | None] = {}  # session id -> key id: fixed when a session is created
        with self._errors("cannot be opened"):
            self.engine = sqlite_engine(self.url) if self.dialect == "sqlite" else postgres_engine(self.url)
            self._ensure_schema()

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sessions ------------------------------------------------------------------------------
    def find(self, cycle: str, name: str) -> SessionRecord | None:
        """The session named `name` in `cycle`, or None."""
        with self._read() as conn:
            return _find(conn, cycle, name)

    def sessions(self, cycle: str | None = None) -> list[SessionRecord]:
        """Every session (of one cycle, when given), by cycle and name."""
        query = sa.select(sessions_table).order_by(sessions_table.c.cycle, sessions_table.c.name)
        if cycle is not None:
            query = query.where(sessions_table.c.cycle == cycle)
        with self._read() as conn:
            return [SessionRecord(**row._mapping) for row in conn.execute(query)]

    def create(self, new: NewSession) -> SessionRecord:
        """The session, created with its `open` event if it does not exist yet (race-safe)."""
        return self.append(new, None, lambda snapshot: [])[0]

    # -- the log -------------------------------------------------------------------------------
    def append(
        self, target: SessionRecord | NewSession, employee_id: str | None, plan: Callable[[Snapshot], list[Draft]]
    ) -> tuple[SessionRecord, list[Event]]:
        """Lock the session, read its status and one person's events, plan, append, commit.

        A NewSession is created (with its `open` event) in the same transaction when it does not
        exist yet, so a refused first change leaves nothing behind. `plan` sees what was read
        under the lock and returns drafts or raises (then nothing is written). Returns the
        session's record after the append and the committed events of the plan.
        """
        descriptor = self.anchors.open() if self.anchors is not None else None
        try:
            for attempt in (1, 2):
                try:
                    with self._write() as conn:
                        self._check_triggers(conn)
                        record, created = self._lock_row(conn, target)
                        secret = secret_for(self.key_id(record, conn), self.key, record.key) if not created else (
                            self._new_secret()
                        )
                        locked_by = locked_at = None
                        if record.status == "locked":
                            lock = _events(conn, record, kind="lock")
                            locked_by, locked_at = (lock[-1].author, lock[-1].at) if lock else (None, None)
                        person = _person_events(conn, record, employee_id) if employee_id is not None else []
                        drafts = plan(Snapshot(record.scope, record.status, locked_by, locked_at, person))
                        record, events = self._append(conn, record, drafts, secret)
                except sa.exc.IntegrityError:
                    if isinstance(target, NewSession) and attempt == 1:
                        continue  # another process created the session between our look and our insert
                    raise StoreError(
                        f"session {target.cycle}/{target.name} in {self.shown}: its log holds events its head does "
                        "not count (written outside calib?); run `calib session verify`"
                    ) from None
                if descriptor is not None and (created or events):
                    self._anchor(descriptor, record)
                return record, events
        finally:
            if descriptor is not None:
                os.close(descriptor)
        raise AssertionError("unreachable")

    def integrity_problems(self) -> list[str]:
        """What is wrong with the store's append-only triggers (calib.sessions.triggers), one line each."""
        with self._read() as conn:
            return trigger_problems(conn, self.dialect)

    def file_notes(self) -> list[str]:
        """For a SQLite store (and its anchor file): each file others can read, with the command that fixes it."""
        paths = [Path(f"{self.url.database}{end}") for end in ("", "-wal", "-shm")] if self.dialect == "sqlite" else []
        paths += [self.anchors.path] if self.anchors is not None else []
        notes = []
        for path in paths:
            try:
                mode = stat.S_IMODE(path.stat().st_mode)
            except OSError:
                continue
            if mode & 0o077:
                notes.append(f"{path} can be read by others (mode {mode:04o}): run `chmod 600 {path}`")
        return notes

    def key_id(self, record: SessionRecord, conn: Connection | None = None) -> str | None:
        """The id of the key the session is hashed with (from its committed open event), or None:
        plain SHA-256. Read once per session: a session's hashing is fixed when it is created."""
        if record.id not in self._modes:
            if conn is None:
                with self._read() as reader:
                    self._modes[record.id] = _key_id(reader, record)
            else:
                self._modes[record.id] = _key_id(conn, record)
        return self._modes[record.id]

    def events(self, record: SessionRecord, *, employee_id: str | None = None) -> list[Event]:
        """The session's log (or one person's part of it), in order."""
        with self._read() as conn:
            return _events(conn, record, employee_id=employee_id)

    def log_with_head(self, record: SessionRecord) -> tuple[SessionRecord, list[Event]]:
        """The session's row and its whole log, read in one consistent snapshot."""
        with self._read() as conn:
            row = conn.execute(sa.select(sessions_table).where(sessions_table.c.id == record.id)).one()
            return SessionRecord(**row._mapping), _events(conn, record)

    # -- internals -----------------------------------------------------------------------------
    def _lock_row(self, conn: Connection, target: SessionRecord | NewSession) -> tuple[SessionRecord, bool]:
        """The session's row, locked until commit (FOR UPDATE; SQLite's BEGIN IMMEDIATE already is), and
        whether it was created here (with its open event, hashed with the configured key if any)."""
        table = sessions_table
        if isinstance(target, SessionRecord):
            row = conn.execute(LOCK_BY_ID, {"session_id": target.id}).one_or_none()
        else:
            where = (table.c.cycle == target.cycle) & (table.c.name == target.name)
            row = conn.execute(sa.select(table).where(where).with_for_update()).one_or_none()
        if row is None:
            if not isinstance(target, NewSession):
                raise StoreError(f"session {target.key} is no longer in the store {self.shown}")
            session_id = conn.execute(
                sa.insert(table)
                .values(
                    cycle=target.cycle, name=target.name, scope=target.scope, status="open", event_count=0,
                    head_hash=GENESIS,
                )
                .returning(table.c.id)
            ).scalar_one()
            record = SessionRecord(session_id, target.cycle, target.name, target.scope, "open", 0, GENESIS)
            opened = Draft(kind="open", author=target.author, to_value=target.scope,
                           from_value=self.key.mode if self.key is not None else None)
            return self._append(conn, record, [opened], self._new_secret())[0], True
        record = SessionRecord(**row._mapping)
        if isinstance(target, NewSession) and target.scope_given and target.scope != record.scope:
            raise SessionError(f"session {record.key} has the scope {record.scope}, not {target.scope}")
        return record, False

    def _new_secret(self) -> bytes | None:
        """What a session created now is keyed with: the configured key, if any."""
        return self.key.secret if self.key is not None else None

    def _append(
        self, conn: Connection, record: SessionRecord, drafts: list[Draft], secret: bytes | None
    ) -> tuple[SessionRecord, list[Event]]:
        if not drafts:
            return record, []
        at = utc_now()
        prev, seq, status = record.head_hash, record.event_count, record.status
        sealed = []
        for draft in drafts:
            seq += 1
            sealed.append(
                seal(draft, cycle=record.cycle, session=record.name, seq=seq, at=at, prev_hash=prev, secret=secret)
            )
            prev = sealed[-1].hash
            status = "locked" if draft.kind == "lock" else status
        if sealed:
            conn.execute(
                sa.insert(events_table),
                [{"session_id": record.id, **{f: getattr(e, f) for f in EVENT_FIELDS}} for e in sealed],
            )
            conn.execute(
                sa.update(sessions_table)
                .where(sessions_table.c.id == record.id)
                .values(event_count=seq, head_hash=prev, status=status)
            )
        return replace(record, event_count=seq, head_hash=prev, status=status), sealed

    def _ensure_schema(self) -> None:
        """Create the tables and their triggers when the store has neither; otherwise run no DDL."""
        with self.engine.connect().execution_options(calib_read_only=True) as conn:  # no write lock to look
            if _tables(conn) == set(TABLES):
                return
        with self.engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE, one creator at a time
            if self.dialect == "postgresql":  # CREATE TABLE IF NOT EXISTS is not race-safe there
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            present = _tables(conn)
            if present == set(TABLES):
                return
            if present:
                raise StoreError(
                    f"session store {self.shown} holds the table {', '.join(sorted(present))} but not "
                    f"{', '.join(sorted(set(TABLES) - present))}: damaged, or not a calib session store"
                )
            metadata.create_all(conn)
            install_triggers(conn, self.dialect)

    def _check_triggers(self, conn: Connection) -> None:
        problems = trigger_problems(conn, self.dialect)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise StoreError(
                f"session store {self.shown}: {problems[0]}{more}: the log may have been tampered with; "
                "nothing was written: run `calib session verify`"
            )

    def _anchor(self, descriptor: int, record: SessionRecord) -> None:
        assert self.anchors is not None
        line = self.anchors.line(cycle=record.cycle, session=record.name, events=record.event_count,
                                 head=record.head_hash, locked=record.status == "locked")
        try:
            os.write(descriptor, line)
        except OSError as exc:
            raise StoreError(
                f"session {record.key}: committed up to event {record.event_count} (head "
                f"{record.event_count}:{record.head_hash}), but the anchor file {self.anchors.path} could not be "
                f"written: {exc.strerror}"
            ) from None

    @contextmanager
    def transaction(self, doing: str) -> Iterator[Connection]:
        """A write transaction whose database errors become one line (`session store X DOING: why`)."""
        with self._errors(doing), self.engine.begin() as conn:
            yield conn

    def _write(self) -> AbstractContextManager[Connection]:
        return self.transaction("could not be written")

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors("could not be read"), self.engine.connect() as conn:
            if self.dialect == "postgresql":  # one snapshot for every statement of the read
                conn.execution_options(isolation_level="REPEATABLE READ")
            else:
                conn.execution_options(calib_read_only=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (SessionError, sa.exc.IntegrityError):
            raise
        except sa.exc.DBAPIError as exc:
            raise StoreError(f"session store {self.shown} {doing}: {self._reason(exc)}") from None
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise StoreError(f"session store {self.shown} {doing}: {self._reason(exc)}") from None

    def _reason(self, exc: Exception) -> str:
        original = getattr(exc, "orig", None) or exc
        text = " ".join(str(original).split()) or type(original).__name__
        if "database is locked" in text:
            text += f" (another writer held it for more than {BUSY_TIMEOUT_S} s)"
        if self.url.password:
            text = text.replace(str(self.url.password), "***")
        return text[:300]


def _tables(conn: Connection) -> set[str]:
    inspector = sa.inspect(conn)
    return {name for name in TABLES if inspector.has_table(name)}


def _key_id(conn: Connection, record: SessionRecord) -> str | None:
    opened = conn.execute(
        sa.select(events_table.c.kind, events_table.c.from_value).where(
            events_table.c.session_id == record.id, events_table.c.seq == 1
        )
    ).one_or_none()
    if opened is None or opened.kind != "open":
        raise StoreError(f"session {record.key}: its log has no open event (altered?): run `calib session verify`")
    return session_mode(opened.from_value)


def _find(conn: Connection, cycle: str, name: str) -> SessionRecord | None:
    row = conn.execute(
        sa.select(sessions_table).where(sessions_table.c.cycle == cycle, sessions_table.c.name == name)
    ).one_or_none()
    return None if row is None else SessionRecord(**row._mapping)


def _events(
    conn: Connection, record: SessionRecord, *, employee_id: str | None = None, kind: str | None = None
) -> list[Event]:
    query = sa.select(*(events_table.c[f] for f in EVENT_FIELDS)).where(events_table.c.session_id == record.id)
    if employee_id is not None:
        query = query.where(events_table.c.employee_id == employee_id)
    if kind is not None:
        query = query.where(events_table.c.kind == kind)
    rows = conn.execute(query.order_by(events_table.c.seq))
    return [Event(cycle=record.cycle, session=record.name, **row._mapping) for row in rows]


PERSON = (  # built once: statement construction costs more than SQLite's own work here
    sa.select(*(events_table.c[f] for f in EVENT_FIELDS))
    .where(
        events_table.c.session_id == sa.bindparam("session_id"),
        events_table.c.employee_id == sa.bindparam("employee_id"),
        events_table.c.kind != "note",
    )
    .order_by(events_table.c.seq)
)
LOCK_BY_ID = sa.select(sessions_table).where(sessions_table.c.id == sa.bindparam("session_id")).with_for_update()


def _person_events(conn: Connection, record: SessionRecord, employee_id: str) -> list[Event]:
    """The person's events but notes, in seq order: all a change, a toggle or an undo is checked against
    (current values, version, who changed them last, flags, changes still standing); a person has few."""
    rows = conn.execute(PERSON, {"session_id": record.id, "employee_id": employee_id})
    return [Event(cycle=record.cycle, session=record.name, **row._mapping) for row in rows]
