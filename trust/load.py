"""T8 (lost writes under concurrency) and T9 (idempotent submit) against a running gunicorn.

Every save a client sends carries the version its text is based on; every 2xx is logged as
(answer, new version, hash of the text) and compared afterwards with what PostgreSQL
committed (the audit trigger installed by trust/seed.py records every committed change).
"""

import hashlib
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from trust.common import CONNECTION_ERRORS, HOST, MARKER, Client, log, percentile, sha

HTMX = {"HX-Request": "true", "Accept": "application/json"}
_VOCABULARY = (
    "source Izvestiia Trotsky coalition provenance purpose reliable biased audience propaganda Petrograd "
    "soviet décret «citation» naïve Kerenskii — 1917 Zürich Ωmega 🙂 because however suggests evidence"
)
WORDS = _VOCABULARY.split()


def answer_text(answer: int, tab: int, seq: int, rng: random.Random) -> str:
    """A unique text with the log-scan marker, multi-line and non-ASCII (the stored text
    must come back byte for byte: the hash is compared with the database's)."""
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 160)))
    return f"{MARKER} answer {answer} tab {tab} save {seq} {rng.getrandbits(32):08x}\n{words}\n"


def save_path(assignment: int, answer: int) -> str:
    return f"/learn/assignments/{assignment}/responses/{answer}/save/"


def submit_path(assignment: int) -> str:
    return f"/learn/assignments/{assignment}/submit/"


def workspace_path(assignment: int) -> str:
    return f"/learn/assignments/{assignment}/"


@dataclass
class SaveEvent:
    answer: int
    tab: int
    base: int
    text_hash: str
    status: int | None = None  # None: no answer (connection refused, reset, timeout)
    version: int | None = None  # 200: the new version; 409: the server's version
    server_hash: str | None = None  # 409 conflict: hash of the server's text
    error: str = ""  # 409/422: the JSON "error"; no answer: the exception
    latency: float = 0.0
    confirmed_by_retry: bool = False  # 409 whose server text is this very text (T12 retries)


def send_save(client: Client, assignment: int, answer: int, text: str, base: int, tab: int) -> SaveEvent:
    event = SaveEvent(answer=answer, tab=tab, base=base, text_hash=sha(text))
    started = time.monotonic()
    try:
        reply = client.post(save_path(assignment, answer), {"text": text, "version": base}, headers=HTMX)
    except CONNECTION_ERRORS as error:
        event.error = type(error).__name__
        event.latency = time.monotonic() - started
        return event
    event.latency = reply.elapsed
    event.status = reply.status
    data = reply.json()
    if reply.status == 200:
        event.version = data.get("version")
    elif reply.status in (409, 422):
        event.error = str(data.get("error", ""))
        if event.error == "conflict":
            event.version = data.get("version")
            event.server_hash = sha(data.get("text", ""))
    return event


def login_all(port: int, usernames: list[str], password: str, *, threads: int = 6) -> dict[str, Client]:
    """Log every pupil in through the real form, a few at a time (PBKDF2 is slow on purpose)."""
    clients: dict[str, Client] = {}
    errors: list[str] = []
    lock = threading.Lock()
    queue = list(usernames)

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                username = queue.pop()
            try:
                client = Client(HOST, port, timeout=60).login_or_die(username, password)
            except (RuntimeError, *CONNECTION_ERRORS) as error:
                with lock:
                    errors.append(f"{username}: {error}")
                continue
            with lock:
                clients[username] = client

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=300)
    if errors or len(clients) != len(usernames):
        raise RuntimeError(f"log-ins failed: {errors[:5]}")
    return clients


# --- Checking saves against the database -------------------------------------------------------


def db_answers(conn, answer_ids: list[int]) -> dict[int, tuple[int, str]]:
    rows = conn.execute(
        "SELECT id, version, encode(sha256(convert_to(text, 'UTF8')), 'hex') FROM analysis_response "
        "WHERE id = ANY(%s)",
        [answer_ids],
    ).fetchall()
    return {pk: (version, digest) for pk, version, digest in rows}


def db_history(conn, answer_ids: list[int]) -> dict[int, list[tuple[int, int, str]]]:
    rows = conn.execute(
        "SELECT response_id, old_version, new_version, text_hash FROM trust_response_history "
        "WHERE response_id = ANY(%s) ORDER BY id",
        [answer_ids],
    ).fetchall()
    history: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for answer, old, new, digest in rows:
        history[answer].append((old, new, digest))
    return history


def check_saves(
    events: list[SaveEvent],
    *,
    final: dict[int, tuple[int, str]],
    history: dict[int, list[tuple[int, int, str]]],
    initial: dict[int, int],
    pending: dict[int, set[str]] | None = None,
) -> dict:
    """Compare what clients were told with what PostgreSQL committed.

    Lost writes, counted once per problem:
    * two acknowledgements of the same (answer, version);
    * an acknowledged (answer, version, hash) that was never committed;
    * the final (version, hash) of an answer differs from its highest acknowledged pair
      (``pending``: texts whose outcome no client learnt, which may legitimately be last);
    * two commits of the same (answer, new version), i.e. a save that overwrote another.
    Also: a 200 whose new version is not base + 1 (the save was not a compare-and-set on its
    base), a 409 conflict whose server version equals the base sent (the write was not stale).
    """
    pending = pending or {}
    acks = [e for e in events if (e.status == 200 and e.version is not None) or e.confirmed_by_retry]
    ack_pairs = Counter((e.answer, e.version) for e in acks)
    duplicate_acks = sum(count - 1 for count in ack_pairs.values() if count > 1)
    committed = {(answer, new, digest) for answer, rows in history.items() for _, new, digest in rows}
    not_committed = [e for e in acks if (e.answer, e.version, e.text_hash) not in committed]
    duplicate_commits = 0
    broken_chains = 0
    for answer, rows in history.items():
        news = Counter(new for _, new, _ in rows)
        duplicate_commits += sum(count - 1 for count in news.values() if count > 1)
        expected = initial.get(answer, 0)
        for old, new, _ in rows:
            if old != expected or new != old + 1:
                broken_chains += 1
            expected = new
    final_mismatch = []
    latest: dict[int, SaveEvent] = {}
    for event in acks:
        if event.answer not in latest or event.version > latest[event.answer].version:
            latest[event.answer] = event
    for answer, (version, digest) in final.items():
        last = latest.get(answer)
        if last is None:
            if version != initial.get(answer, 0) and digest not in pending.get(answer, set()):
                final_mismatch.append(answer)
            continue
        if (version, digest) != (last.version, last.text_hash) and digest not in pending.get(answer, set()):
            final_mismatch.append(answer)
    acked_hashes = {(e.answer, e.text_hash) for e in acks}
    unacknowledged_commits = sum(
        1
        for answer, rows in history.items()
        for _, _, digest in rows
        if (answer, digest) not in acked_hashes and digest not in pending.get(answer, set())
    )
    bad_acks = sum(1 for e in events if e.status == 200 and e.version != e.base + 1)
    conflicts = [e for e in events if e.status == 409 and e.error == "conflict"]
    false_conflicts = sum(1 for e in conflicts if e.version == e.base and not e.confirmed_by_retry)
    latencies = [e.latency for e in events if e.status is not None]
    return {
        "saves_sent": len(events),
        "acknowledged": len(acks),
        "acknowledged_by_retry_409": sum(1 for e in acks if e.confirmed_by_retry),
        "conflicts_409": len(conflicts),
        "closed_409": sum(1 for e in events if e.status == 409 and e.error != "conflict"),
        "status_422": sum(1 for e in events if e.status == 422),
        "status_5xx": sum(1 for e in events if e.status is not None and e.status >= 500),
        "other_status": dict(
            Counter(str(e.status) for e in events if e.status not in (None, 200, 409, 422) and e.status < 500)
        ),
        "no_answer": sum(1 for e in events if e.status is None),
        "lost_writes": duplicate_acks + len(not_committed) + len(final_mismatch) + duplicate_commits,
        "lost_detail": {
            "duplicate_acknowledgements": duplicate_acks,
            "acknowledged_not_committed": len(not_committed),
            "final_differs_from_last_acknowledged": len(final_mismatch),
            "duplicate_commits": duplicate_commits,
        },
        "version_chain_breaks": broken_chains,
        "acks_not_base_plus_one": bad_acks,
        "conflicts_not_stale": false_conflicts,
        "unacknowledged_commits": unacknowledged_commits,
        "commits": sum(len(rows) for rows in history.values()),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1) if latencies else None,
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
    }


# --- T8 ---------------------------------------------------------------------------------------


def run_t8(
    *, port: int, group: dict, password: str, conn, tabs: int, saves: int, budget: float, cpu_probe=None
) -> dict:
    """``tabs`` tabs per answer, each sending ``saves`` saves as fast as the server answers,
    all answers at once; then the reordering checks; then the comparison with the database."""
    assignment = group["assignment"]
    students = group["students"]
    log(f"T8: logging in {len(students)} pupils through the log-in form")
    clients = login_all(port, [s["username"] for s in students], password)
    answers = [(clients[s["username"]], a["id"]) for s in students for a in s["answers"]]
    answer_ids = [answer for _, answer in answers]
    initial = {answer: version for answer, (version, _) in db_answers(conn, answer_ids).items()}
    pages_ok = 0
    for student in students:
        page = clients[student["username"]].get(workspace_path(assignment))
        pages_ok += page.status == 200 and 'name="version" value="0"' in page.text
    events: list[SaveEvent] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(answers) * tabs + 1)
    deadline = time.monotonic() + budget

    def tab(client: Client, answer: int, number: int):
        rng = random.Random(answer * 100 + number)
        version = initial[answer]
        mine = []
        barrier.wait(timeout=120)
        for seq in range(saves):
            if time.monotonic() > deadline:
                break
            text = answer_text(answer, number, seq, rng)
            event = send_save(client, assignment, answer, text, version, number)
            mine.append(event)
            if event.status == 200 and event.version is not None:
                version = event.version
            elif event.status == 409 and event.error == "conflict" and event.version is not None:
                # Mostly the tab learns the server's version and saves its text on top of it;
                # sometimes it has not caught up yet and sends its next save on the stale base
                # again (which must be refused again).
                version = event.version if rng.random() < 0.85 else version
            if rng.random() < 0.1:
                time.sleep(rng.random() * 0.05)  # a pause in typing: breaks the tabs' lockstep
        with lock:
            events.extend(mine)

    threads = [
        threading.Thread(target=tab, args=(client, answer, number), daemon=True)
        for client, answer in answers
        for number in range(tabs)
    ]
    for thread in threads:
        thread.start()
    log(f"T8: {len(answers)} answers x {tabs} tabs x {saves} saves = {len(threads) * saves} saves")
    cpu_before = cpu_probe() if cpu_probe else {}
    barrier.wait(timeout=120)
    started = time.monotonic()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 30))
    duration = time.monotonic() - started
    cpu_after = cpu_probe() if cpu_probe else {}
    stuck = sum(thread.is_alive() for thread in threads)
    final = db_answers(conn, answer_ids)
    history = db_history(conn, answer_ids)
    result = check_saves(events, final=final, history=history, initial=initial)
    reorder = reorder_checks(clients, students, assignment, conn)
    result.update(
        answers=len(answers),
        tabs_per_answer=tabs,
        saves_per_tab=saves,
        planned_saves=len(threads) * saves,
        duration_s=round(duration, 1),
        saves_per_s=round(len(events) / duration, 1) if duration else None,
        threads_stuck=stuck,
        cpu_ms_per_save={
            key: round((cpu_after[key] - cpu_before[key]) * 1000 / max(1, len(events)), 2)
            for key in cpu_before
        },
        # The duration if gunicorn, PostgreSQL and this harness had had every core to themselves:
        # the CPU they used over the cores there are. Far below duration_s = the machine was busy.
        cpu_bound_duration_s=round(
            sum(cpu_after[key] - cpu_before[key] for key in cpu_before) / (os.cpu_count() or 1), 1
        )
        if cpu_before
        else None,
        workspace_pages_ok=pages_ok,
        reorder=reorder,
        reorder_failures=sum(not check["ok"] for check in reorder),
    )
    return result


def reorder_checks(clients: dict, students: list[dict], assignment: int, conn, count: int = 4) -> list[dict]:
    """The same tab's save n delivered after its save n+1 must be refused (no regression), and an
    over-long save is refused whole:
    * overtaken: save n is held in the network (all but its last byte sent), save n+1 with the
      same base is sent and acknowledged, then save n arrives;
    * replayed: saves n and n+1 are acknowledged in order, then save n arrives again."""
    rng = random.Random(7)
    checks = []
    for student in students[:count]:
        client = clients[student["username"]]
        answer = student["answers"][0]["id"]
        ((version, _),) = db_answers(conn, [answer]).values()
        text_n, text_n1 = (answer_text(answer, 9, seq, rng) for seq in (1, 2))
        path = save_path(assignment, answer)
        held = client.post_held(path, {"text": text_n, "version": version}, headers=HTMX)
        time.sleep(0.3)
        later = client.post(path, {"text": text_n1, "version": version}, headers=HTMX)
        early = held.release()
        ((final_version, final_hash),) = db_answers(conn, [answer]).values()
        ok = (
            later.status == 200
            and early.status == 409
            and early.json().get("error") == "conflict"
            and sha(early.json().get("text", "")) == sha(text_n1)
            and (final_version, final_hash) == (version + 1, sha(text_n1))
        )
        checks.append(
            {
                "answer": answer,
                "case": "overtaken",
                "statuses": [later.status, early.status],
                "ok": ok,
            }
        )
        version = final_version
        text_a, text_b = (answer_text(answer, 9, seq, rng) for seq in (3, 4))
        first = client.post(path, {"text": text_a, "version": version}, headers=HTMX)
        second = client.post(path, {"text": text_b, "version": version + 1}, headers=HTMX)
        replay = client.post(path, {"text": text_a, "version": version}, headers=HTMX)
        ((final_version, final_hash),) = db_answers(conn, [answer]).values()
        ok = (first.status, second.status, replay.status) == (200, 200, 409) and (
            final_version,
            final_hash,
        ) == (version + 2, sha(text_b))
        checks.append(
            {
                "answer": answer,
                "case": "replayed",
                "statuses": [first.status, second.status, replay.status],
                "ok": ok,
            }
        )
    # An over-long save (one character past the 20,000 limit) is refused whole: 422, nothing stored.
    student = students[0]
    client = clients[student["username"]]
    answer = student["answers"][0]["id"]
    (before,) = db_answers(conn, [answer]).values()
    too_long = client.post(
        save_path(assignment, answer),
        {"text": (MARKER + " " + "x" * 20_000)[:20_001], "version": before[0]},
        headers=HTMX,
    )
    (after,) = db_answers(conn, [answer]).values()
    checks.append(
        {
            "answer": answer,
            "case": "too long",
            "statuses": [too_long.status],
            "ok": too_long.status == 422 and too_long.json().get("error") == "invalid" and after == before,
        }
    )
    return checks


# --- T9 ---------------------------------------------------------------------------------------


def receipt_hash(answers: dict[int, tuple[int, int, str]]) -> str:
    """What Submission.compute_receipt_hash gives for {answer: (question, version, text)}."""
    digest = hashlib.sha256()
    for question, version, text in sorted(answers.values()):
        digest.update(f"{question}:{version}:".encode())
        digest.update(text.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


RECEIPT_CODE = re.compile(r'<code class="receipt__code">([0-9a-f]+)</code>')
RECEIPT_TIME = re.compile(r'id="receipt".*?<time datetime="([^"]+)"', re.S)


def read_receipt(client: Client, assignment: int) -> tuple[str, str]:
    page = client.get(workspace_path(assignment))
    code = RECEIPT_CODE.search(page.text)
    when = RECEIPT_TIME.search(page.text)
    return (code.group(1) if code else "", when.group(1) if when else "")


def submission_facts(conn, assignment: int, username: str) -> dict:
    rows = conn.execute(
        "SELECT s.id, s.status, s.receipt_hash, s.submitted_at FROM analysis_submission s "
        "JOIN accounts_user u ON u.id = s.student_id WHERE s.assignment_id = %s AND u.username = %s",
        [assignment, username],
    ).fetchall()
    transitions = 0
    if rows:
        transitions = conn.execute(
            "SELECT count(*) FROM trust_submission_history WHERE submission_id = ANY(%s) "
            "AND old_status = 'in_progress' AND new_status = 'submitted'",
            [[row[0] for row in rows]],
        ).fetchone()[0]
        changes = conn.execute(
            "SELECT count(*) FROM trust_submission_history WHERE submission_id = ANY(%s)",
            [[row[0] for row in rows]],
        ).fetchone()[0]
    else:
        changes = 0
    stored = {}
    if rows:
        stored = {
            pk: (question, version, text)
            for pk, question, version, text in conn.execute(
                "SELECT id, question_id, version, text FROM analysis_response WHERE submission_id = %s",
                [rows[0][0]],
            ).fetchall()
        }
    return {
        "receipt_of_stored_answers": receipt_hash(stored) if stored else "",
        "rows": len(rows),
        "status": rows[0][1] if rows else None,
        "receipt_hash": rows[0][2] if rows else "",
        "submitted_at": rows[0][3].isoformat() if rows else None,
        "transitions": transitions,
        "changes": changes,
    }


def concurrent_submits(client: Client, assignment: int, count: int) -> list[dict]:
    """``count`` submit POSTs released together (double clicks, retries, two tabs): half as
    htmx requests (200 + HX-Redirect), half as plain form posts (302 + Location); then each
    follows its redirect and reads the receipt the pupil sees."""
    barrier = threading.Barrier(count)
    results: list[dict] = [{} for _ in range(count)]

    def one(index: int):
        htmx = index % 2 == 0
        barrier.wait(timeout=60)
        try:
            reply = client.post(submit_path(assignment), {}, headers=HTMX if htmx else None)
        except CONNECTION_ERRORS as error:
            results[index] = {"status": None, "error": type(error).__name__}
            return
        target = reply.header("HX-Redirect") if htmx else reply.header("Location")
        code, when = read_receipt(client, assignment)
        results[index] = {
            "status": reply.status,
            "htmx": htmx,
            "target": target,
            "latency_ms": round(reply.elapsed * 1000, 1),
            "receipt_code": code,
            "submitted_at": when,
        }

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _submits_ok(results: list[dict], assignment: int) -> bool:
    want = f"/learn/assignments/{assignment}/#receipt"
    return all(
        r.get("status") in ((200,) if r.get("htmx") else (302, 303)) and r.get("target", "").endswith(want)
        for r in results
    )


def run_t9(*, port: int, groups: dict, password: str, conn, submits: int, racers: int) -> dict:
    """Idempotent submit: (a) a pupil with saved answers, (b) a pupil who never opened the
    workspace (the submission row itself is created by the racing requests), then (c) submit
    racing autosaves, for ``racers`` pupils."""
    started = time.monotonic()
    group = groups["t9"]
    fresh = groups["t9fresh"]
    race = groups["t9race"]
    names = [s["username"] for s in group["students"]] + [s["username"] for s in fresh["students"]]
    names += [s["username"] for s in race["students"][:racers]]
    clients = login_all(port, names, password)
    cases = []
    rng = random.Random(9)

    # (a) and (b): 20 parallel submits of one answer set.
    for case, grp, student in (
        ("saved answers", group, group["students"][0]),
        ("never opened", fresh, fresh["students"][0]),
    ):
        client = clients[student["username"]]
        acked: dict[int, tuple[int, int, str]] = {}
        for answer in student["answers"]:
            text = answer_text(answer["id"], 0, 0, rng)
            event = send_save(client, grp["assignment"], answer["id"], text, 0, 0)
            if event.status == 200:
                acked[answer["id"]] = (answer["question"], event.version, text)
        results = concurrent_submits(client, grp["assignment"], submits)
        facts = submission_facts(conn, grp["assignment"], student["username"])
        codes = {r.get("receipt_code") for r in results}
        times = {r.get("submitted_at") for r in results}
        expected = receipt_hash(acked) if student["answers"] else facts["receipt_of_stored_answers"]
        after = (
            send_save(client, grp["assignment"], student["answers"][0]["id"], "late ZQX", 1, 0)
            if student["answers"]
            else None
        )
        ok = (
            facts["rows"] == 1
            and facts["transitions"] == 1
            and facts["changes"] == 1
            and _submits_ok(results, grp["assignment"])
            and len(codes) == 1
            and len(times) == 1
            and facts["receipt_hash"][:12] in codes
            and facts["receipt_hash"] == expected == facts["receipt_of_stored_answers"]
            and (after is None or (after.status == 409 and after.error == "submitted"))
        )
        cases.append(
            {
                "case": case,
                "posts": len(results),
                "statuses": dict(Counter(str(r.get("status")) for r in results)),
                "status_5xx": sum(1 for r in results if (r.get("status") or 0) >= 500),
                "distinct_receipts_seen": len(codes),
                "distinct_times_seen": len(times),
                "submission_rows": facts["rows"],
                "transitions": facts["transitions"],
                "receipt_matches_last_saves": facts["receipt_hash"] == expected,
                "save_after_submit": after.status if after else None,
                "ok": ok,
            }
        )
        log(f"T9 {case}: {cases[-1]}")

    # (c) submit racing autosaves: each answer has a tab saving as fast as it can; a submit
    # lands in the middle. What was handed in must be exactly the last acknowledged drafts.
    for student in race["students"][:racers]:
        client = clients[student["username"]]
        last: dict[int, tuple[int, int, str]] = {}
        refused: Counter = Counter()
        stop_at = time.monotonic() + 20
        stats = Counter()

        def saver(answer: dict, client=client, last=last, refused=refused, stop_at=stop_at, stats=stats):
            version = 0
            seq = 0
            local = random.Random(answer["id"])
            while time.monotonic() < stop_at:
                text = answer_text(answer["id"], 1, seq, local)
                seq += 1
                event = send_save(client, race["assignment"], answer["id"], text, version, 1)
                stats[str(event.status)] += 1
                if event.status == 200:
                    version = event.version
                    last[answer["id"]] = (answer["question"], version, text)
                elif event.status == 409 and event.error == "submitted":
                    refused[answer["id"]] += 1
                    return
                else:
                    return

        savers = [threading.Thread(target=saver, args=(a,), daemon=True) for a in student["answers"]]
        for thread in savers:
            thread.start()
        time.sleep(0.3 + rng.random() * 0.5)
        results = concurrent_submits(client, race["assignment"], 3)
        for thread in savers:
            thread.join(timeout=30)
        after = [
            send_save(client, race["assignment"], a["id"], "after ZQX", last.get(a["id"], (0, 0))[1], 1)
            for a in student["answers"]
        ]
        facts = submission_facts(conn, race["assignment"], student["username"])
        final = db_answers(conn, [a["id"] for a in student["answers"]])
        drafts_match = all(
            final[answer] == (version, sha(text)) for answer, (_, version, text) in last.items()
        ) and len(last) == len(student["answers"])
        ok = (
            facts["rows"] == 1
            and facts["transitions"] == 1
            and _submits_ok(results, race["assignment"])
            and drafts_match
            and facts["receipt_hash"] == receipt_hash(last)
            and all(e.status == 409 and e.error == "submitted" for e in after)
            and sum(refused.values()) == len(student["answers"])
        )
        cases.append(
            {
                "case": "racing autosave",
                "posts": len(results),
                "statuses": dict(Counter(str(r.get("status")) for r in results)),
                "status_5xx": sum(1 for r in results if (r.get("status") or 0) >= 500)
                + sum(n for status, n in stats.items() if status.isdigit() and int(status) >= 500),
                "saves_during_race": dict(stats),
                "transitions": facts["transitions"],
                "submitted_text_is_last_acknowledged": drafts_match,
                "receipt_matches_last_saves": facts["receipt_hash"] == receipt_hash(last),
                "saves_after_submit": [e.status for e in after],
                "ok": ok,
            }
        )
        log(f"T9 racing: {cases[-1]}")
    return {
        "cases": cases,
        "failures": sum(not case["ok"] for case in cases),
        "status_5xx": sum(case["status_5xx"] for case in cases),
        "duration_s": round(time.monotonic() - started, 1),
    }
