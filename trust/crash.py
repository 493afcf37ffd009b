"""T12: crashes during load, and ``kill -9`` of the source-pack import mid-file.

Load: one thread per answer saves every ~0.5 s with the version its last acknowledged save
returned. When a save gets no answer (connection refused or reset, a 5xx while PostgreSQL is
down) the thread sends the same text with the same base again until the outcome is known; a
409 whose server text is this very text means the earlier attempt did commit, so it counts as
acknowledged. At the end every thread submits (a double click: two POSTs at once, retried
until one is answered) and checks that a save after submitting is refused.

Chaos, on a schedule relative to the start: ``kill -9`` a random gunicorn worker every 10 s;
``kill -9`` the master once (the harness then restarts gunicorn, as a supervisor would);
PostgreSQL stopped once in immediate mode (no checkpoint: committed work survives only
through the WAL, as after a crash) and started again.
"""

import contextlib
import os
import random
import signal
import threading
import time
from pathlib import Path

from trust.common import (
    CONNECTION_ERRORS,
    PYTHON,
    Cluster,
    Gunicorn,
    log,
    run,
    sha,
    spawn,
    stop,
)
from trust.load import (
    HTMX,
    SaveEvent,
    _submits_ok,
    answer_text,
    check_saves,
    db_answers,
    db_history,
    login_all,
    receipt_hash,
    send_save,
    submission_facts,
    submit_path,
)


class Chaos(threading.Thread):
    """Runs the crash schedule against ``server`` and ``cluster``; records what it did."""

    def __init__(self, *, server: Gunicorn, cluster: Cluster, duration: float, started: float):
        super().__init__(daemon=True)
        self.server, self.cluster, self.duration, self.started = server, cluster, duration, started
        self.events: list[dict] = []
        self.errors: list[str] = []
        self.stopping = threading.Event()
        master_at = round(duration * 0.35)
        postgres_at = round(duration * 0.6)
        plan = [(t, "kill worker") for t in range(10, int(duration) - 2, 10)]
        plan += [(master_at, "kill master"), (postgres_at, "crash postgres")]
        self.plan = sorted(plan)

    def note(self, what: str, **facts) -> None:
        self.events.append({"t": round(time.monotonic() - self.started, 1), "what": what, **facts})
        log(f"T12 chaos: {what} {facts if facts else ''}")

    def run(self) -> None:
        for at, action in self.plan:
            while time.monotonic() - self.started < at:
                if self.stopping.wait(0.1):
                    return
            try:
                if action == "kill worker":
                    self.note("kill -9 worker", pid=self.server.kill_worker())
                elif action == "kill master":
                    pid = self.server.master_pid
                    downtime = self.server.kill_master_and_restart()
                    self.note("kill -9 master, restarted", pid=pid, downtime_s=round(downtime, 1))
                else:
                    before = self.cluster.start_time()
                    down = time.monotonic()
                    self.cluster.crash()
                    self.note("postgres stopped in immediate mode")
                    time.sleep(3)
                    self.cluster.recover()
                    after = self.cluster.start_time()
                    self.note(
                        "postgres started again",
                        outage_s=round(time.monotonic() - down, 1),
                        restarted=before != after,
                    )
            except Exception as error:  # noqa: BLE001 - recorded; the checks fail on it
                self.errors.append(f"{action}: {error}")
                self.note(f"{action} FAILED", error=str(error)[:300])


class Writer(threading.Thread):
    """One pupil, one answer: paced saves with retries, then submit."""

    def __init__(self, *, client, assignment, answer, question, interval, load_until, stop_by, number):
        super().__init__(daemon=True)
        self.client, self.assignment, self.answer, self.question = client, assignment, answer, question
        self.interval, self.load_until, self.stop_by, self.number = interval, load_until, stop_by, number
        self.events: list[SaveEvent] = []
        self.logical = 0
        self.version = 0
        self.last_text = ""
        self.acked_versions: list[int] = []
        self.pending: set[str] = set()  # texts whose outcome never became known
        self.anomalies: list[str] = []
        self.submit_posts: list[dict] = []
        self.submitted = False
        self.after_submit: int | str | None = None
        self.rng = random.Random(answer)

    def backoff(self, attempt: int) -> None:
        time.sleep(min(2.0, 0.2 * 1.5**attempt) * (0.5 + self.rng.random()))

    def save(self, text: str) -> bool:
        """Send until the outcome is known; False if it never became known in time."""
        base = self.version
        attempt = 0
        while time.monotonic() < self.stop_by:
            event = send_save(self.client, self.assignment, self.answer, text, base, self.number)
            self.events.append(event)
            if event.status == 200 and event.version is not None:
                self.acknowledge(event.version, text)
                return True
            if event.status == 409 and event.error == "conflict":
                if event.server_hash == event.text_hash and attempt > 0:
                    event.confirmed_by_retry = True  # the earlier attempt committed
                    self.acknowledge(event.version, text)
                    return True
                self.anomalies.append(f"conflict on base {base} (server has {event.version})")
                self.version = event.version or self.version
                return True
            if event.status is not None and event.status < 500:
                self.anomalies.append(f"status {event.status} {event.error}")
                return True
            attempt += 1
            self.backoff(attempt)
        self.pending.add(sha(text))
        return False

    def acknowledge(self, version: int, text: str) -> None:
        if self.acked_versions and version <= self.acked_versions[-1]:
            self.anomalies.append(f"version went back: {self.acked_versions[-1]} then {version}")
        self.acked_versions.append(version)
        self.version = version
        self.last_text = text

    def submit(self) -> None:
        """Double click, then retry until an answer arrives."""
        attempt = 0
        while time.monotonic() < self.stop_by and not self.submitted:
            replies: list[dict] = []

            def post(htmx: bool, replies=replies):
                try:
                    reply = self.client.post(
                        submit_path(self.assignment), {}, headers=HTMX if htmx else None, timeout=15
                    )
                    target = reply.header("HX-Redirect") if htmx else reply.header("Location")
                    replies.append({"status": reply.status, "htmx": htmx, "target": target})
                except CONNECTION_ERRORS as error:
                    replies.append({"status": None, "htmx": htmx, "error": type(error).__name__})

            clicks = [threading.Thread(target=post, args=(htmx,), daemon=True) for htmx in (True, False)]
            for click in clicks:
                click.start()
            for click in clicks:
                click.join(timeout=30)
            self.submit_posts.extend(replies)
            answered = [r for r in replies if r["status"] is not None and r["status"] < 500]
            if answered:
                self.submitted = _submits_ok(answered, self.assignment)
                if not self.submitted:
                    self.anomalies.append(f"submit answered {[r['status'] for r in answered]}")
                break
            attempt += 1
            self.backoff(attempt)
        attempt = 0
        while time.monotonic() < self.stop_by:
            event = send_save(self.client, self.assignment, self.answer, "after submit ZQX", self.version, 0)
            if event.status is not None and event.status < 500:
                self.after_submit = event.status if event.error != "submitted" else "409 submitted"
                return
            attempt += 1
            self.backoff(attempt)

    def run(self) -> None:
        next_at = time.monotonic() + self.rng.random() * self.interval
        seq = 0
        while time.monotonic() < self.load_until:
            time.sleep(max(0.0, next_at - time.monotonic()))
            text = answer_text(self.answer, self.number, seq, self.rng)
            seq += 1
            self.logical += 1
            if not self.save(text):
                return  # outcome unknown: nothing more can be based on it
            next_at += self.interval  # after an outage the backlog is sent at once, as retries are
        self.submit()


def run_t12(
    *,
    server: Gunicorn,
    cluster: Cluster,
    dbname: str,
    group: dict,
    password: str,
    duration: float,
    saves: int,
) -> dict:
    assignment = group["assignment"]
    students = group["students"]
    log(f"T12: logging in {len(students)} pupils")
    clients = login_all(server.port, [s["username"] for s in students], password)
    durability = cluster.durability_settings()
    with cluster.connect(dbname) as conn:
        initial = {pk: version for pk, (version, _) in db_answers(conn, _answer_ids(students)).items()}
    load_seconds = duration - 12
    interval = load_seconds * len(students) / saves
    started = time.monotonic()
    writers = [
        Writer(
            client=clients[s["username"]],
            assignment=assignment,
            answer=s["answers"][0]["id"],
            question=s["answers"][0]["question"],
            interval=interval,
            load_until=started + load_seconds,
            stop_by=started + duration + 45,
            number=n,
        )
        for n, s in enumerate(students)
    ]
    chaos = Chaos(server=server, cluster=cluster, duration=duration, started=started)
    log(f"T12: {len(writers)} writers, one save every {interval:.2f} s each, {duration:.0f} s with chaos")
    chaos.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=max(1.0, started + duration + 60 - time.monotonic()))
    chaos.stopping.set()
    chaos.join(timeout=120)
    elapsed = time.monotonic() - started
    stuck = sum(writer.is_alive() for writer in writers)
    server.stop()
    cluster.wait_ready()

    events = [event for writer in writers for event in writer.events]
    pending = {writer.answer: writer.pending for writer in writers if writer.pending}
    with cluster.connect(dbname) as conn:
        ids = _answer_ids(students)
        result = check_saves(
            events,
            final=db_answers(conn, ids),
            history=db_history(conn, ids),
            initial=initial,
            pending=pending,
        )
        final = db_answers(conn, ids)
        submissions = []
        for writer, student in zip(writers, students, strict=True):
            facts = submission_facts(conn, assignment, student["username"])
            expected = receipt_hash({writer.answer: (writer.question, writer.version, writer.last_text)})
            submissions.append(
                {
                    "rows": facts["rows"],
                    "transitions": facts["transitions"],
                    "changes": facts["changes"],
                    "status": facts["status"],
                    "receipt_ok": facts["receipt_hash"] == expected == facts["receipt_of_stored_answers"],
                    "final_is_last_acknowledged": final[writer.answer]
                    == (writer.version, sha(writer.last_text)),
                }
            )
    duplicate = sum(1 for s in submissions if s["rows"] > 1 or s["transitions"] > 1 or s["changes"] > 1)
    result.update(
        writers=len(writers),
        logical_saves=sum(writer.logical for writer in writers),
        planned_saves=saves,
        duration_s=round(elapsed, 1),
        durability=durability,
        chaos=chaos.events,
        chaos_errors=chaos.errors,
        worker_kills=sum(1 for e in chaos.events if e["what"] == "kill -9 worker" and e.get("pid")),
        master_restarts=sum(1 for e in chaos.events if e["what"].startswith("kill -9 master")),
        postgres_restarts=sum(
            1 for e in chaos.events if e["what"] == "postgres started again" and e["restarted"]
        ),
        retries=sum(1 for e in events if e.status is None or e.status >= 500),
        unresolved_saves=sum(len(p) for p in pending.values()),
        anomalies=[a for writer in writers for a in writer.anomalies][:20],
        anomaly_count=sum(len(writer.anomalies) for writer in writers),
        writers_stuck=stuck,
        submitted=sum(1 for s in submissions if s["status"] == "submitted"),
        submit_posts=sum(len(w.submit_posts) for w in writers),
        duplicate_submissions=duplicate,
        receipts_ok=sum(1 for s in submissions if s["receipt_ok"]),
        final_is_last_acknowledged=sum(1 for s in submissions if s["final_is_last_acknowledged"]),
        saves_after_submit_refused=sum(1 for w in writers if w.after_submit == "409 submitted"),
    )
    return result


def _answer_ids(students: list[dict]) -> list[int]:
    return [answer["id"] for student in students for answer in student["answers"]]


# --- kill -9 of the import ---------------------------------------------------------------------

PACK_TABLES = (
    "analysis_source",
    "analysis_passage",
    "analysis_glossaryterm",
    "analysis_markscheme",
    "analysis_level",
    "analysis_exercise",
    "analysis_exercisesource",
    "analysis_question",
)


def write_big_pack(path: Path, *, sources: int, passages: int) -> int:
    """A valid pack of ``sources`` sources with ``passages`` passages and 3 glossary terms
    each: slow enough to import that it can be killed in the middle of writing."""
    sentence = (
        "The committee met again at the Smolny Institute and resolved, after a long debate about "
        "the railway union's demands, to publish its terms in tomorrow's paper. "
    )
    lines = ["# Generated by trust/crash.py: a large pack for the kill -9 test.", "sources:"]
    for s in range(sources):
        lines += [
            f"  - slug: trust-bulk-{s:04d}",
            f'    title: "Generated source {s}"',
            '    author: "Trust harness"',
            '    date: "November 1917"',
            "    sort_date: 1917-11-14",
            '    publication: "Izvestiia"',
            '    kind: "newspaper report"',
            "    passages:",
        ]
        for p in range(passages):
            lines += [f'      - label: "Passage {p + 1}"', "        text: |-"]
            lines += [f"          {sentence * 3}Line {n + 1} of passage {p + 1}." for n in range(3)]
        lines.append("    glossary:")
        for g in range(3):
            lines += [f'      - term: "term {g}"', f'        definition: "Definition {g} of source {s}."']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path.stat().st_size


def fingerprint(conn) -> dict:
    counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in PACK_TABLES}
    counts["trust_bulk_sources"] = conn.execute(
        "SELECT count(*) FROM analysis_source WHERE slug LIKE 'trust-bulk-%%'"
    ).fetchone()[0]
    return counts


def run_import_kill(
    *, env: dict, cluster: Cluster, dbname: str, workdir: Path, sources: int, passages: int
) -> dict:
    """``kill -9`` of ``manage.py import_sources`` while it writes (its transaction has an id),
    then: no row of the file may remain, and running it again imports it whole."""
    pack = workdir / "big-pack.yaml"
    size = write_big_pack(pack, sources=sources, passages=passages)
    env = {**env, "PROVENANCE_PACK_MAX_BYTES": str(max(size + 1, 64 * 1024 * 1024))}
    cmd = [PYTHON, "manage.py", "import_sources", str(pack)]
    result: dict = {"pack_bytes": size, "sources": sources, "passages": sources * passages}
    with cluster.connect(dbname, autocommit=True) as conn:
        before = fingerprint(conn)
        proc = spawn(cmd, env=env, log_path=workdir / "import.log")
        started = time.monotonic()
        write_began = None
        killed_mid_write = False
        try:
            while proc.poll() is None and time.monotonic() - started < 180:
                writing = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                    "AND backend_xid IS NOT NULL",
                    [dbname],
                ).fetchone()[0]
                if writing and write_began is None:
                    write_began = time.monotonic()
                    delay = random.uniform(1.0, 2.5)
                if write_began is not None and time.monotonic() - write_began >= delay:
                    if writing and proc.poll() is None:
                        os.killpg(proc.pid, signal.SIGKILL)
                        killed_mid_write = True
                    break
                time.sleep(0.05)
        finally:
            stop(proc, grace=0)
        result.update(
            killed_mid_write=killed_mid_write,
            killed_after_s=round(time.monotonic() - started, 2),
            killed_after_write_began_s=round(time.monotonic() - write_began, 2) if write_began else None,
            exit_before_kill=proc.returncode if not killed_mid_write else None,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            left = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [dbname],
            ).fetchone()[0]
            if not left:
                break
            time.sleep(0.1)
        after_kill = fingerprint(conn)
        result["partial_rows"] = sum(abs(after_kill[key] - before[key]) for key in before)
        rerun_started = time.monotonic()
        status, output = run(cmd, timeout=300, env=env, check=False)
        with contextlib.suppress(OSError), open(workdir / "import.log", "a", encoding="utf-8") as handle:
            handle.write(output)
        after = fingerprint(conn)
    result.update(
        rerun_exit=status,
        rerun_s=round(time.monotonic() - rerun_started, 1),
        rerun_rows_ok=(
            after["trust_bulk_sources"] == sources
            and after["analysis_passage"] - before["analysis_passage"] == sources * passages
            and after["analysis_glossaryterm"] - before["analysis_glossaryterm"] == sources * 3
        ),
        fingerprint_before=before,
        fingerprint_after_kill=after_kill,
        fingerprint_after_rerun=after,
    )
    log(
        f"import kill: killed mid-write {result['killed_mid_write']}, partial rows {result['partial_rows']}, "
        f"rerun exit {status} in {result['rerun_s']} s, rows ok {result['rerun_rows_ok']}"
    )
    return result
