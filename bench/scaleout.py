"""``make scaleout``: two app servers behind a non-sticky proxy, sharing only PostgreSQL and Redis.

Instance A on 127.0.0.2:8000 and instance B on 127.0.0.3:8000 (distinct loopback "hosts"), each
gunicorn with 2 sync workers, the same code and SECRET_KEY, its own empty temp dir, and
PROVENANCE_INSTANCE=A/B so every response says who served it (X-Instance, from
config.instance.InstanceHeaderMiddleware). haproxy on 127.0.0.1 balances round robin per
request, no stickiness, health-checking /healthz every second. Redis on 127.0.0.1:6379 (started
here if nothing answers there) holds the cache; sessions are cached_db, log-in lockouts (axes)
live in PostgreSQL.

Checks (PASS or FAIL; check 7 also MISS, NOISY or SKIP; exit status 1 if any FAILs):
 1. log in through the balancer; the next 20 requests alternate A/B and all stay logged in;
 2. a CSRF token from a page rendered by one instance is accepted by a POST served by the other;
 3. an autosave through one instance, reloaded through the other, shows the same text and version;
 4. failed log-ins alternating A/B lock the account after as many attempts as on one instance,
    and the locked account is refused by both; ten wrong passwords from 127.0.0.2 through the
    balancer lock that address only (the app reads the client from X-Forwarded-For): the right
    password from 127.0.0.3 still logs in; a pupil's rate-limited posts alternating A/B are
    refused (429) after exactly the limit, because both instances count in Redis;
 5. kill -9 instance A during a stream of autosaves: once haproxy has taken A out, errors stop,
    and every acknowledged save is in the database (no acknowledged version lost or duplicated);
 6. the instances run the shared-state profile (Redis cache, database-backed sessions);
 7. G9, scale-out neutrality: the same load through haproxy on 127.0.0.1 against two layouts of the
    same four sync workers, "1x4" (one gunicorn with 4 workers on 127.0.0.2:8001) and "2x2" (two
    with 2 workers on 127.0.0.2:8000 and 127.0.0.3:8000), all started fresh and kept running side
    by side so they can be interleaved, and all in this script's session (Linux's autogroup
    scheduler shares a busy CPU equally between sessions: two instances in sessions of their own
    would get twice the share one instance gets next to other work). The load is wrk
    (bench/wrk/mix.lua; C, a few hundredths of a core) with one connection per pupil for
    --g9-pupils pupils, each autosaving its own answer with the version it was last told and
    reloading its workspace every --g9-page-every-th request (G7's 6 autosaves per page view): a
    closed loop with twice as many requests in flight as workers, so both layouts are saturated.
    After a warm-up of each layout, rounds run the two layouts back to back, alternating which
    goes first (1x4 2x2, 2x2 1x4, ...: a slow drift of the machine's other load then biases
    alternate pairs in opposite directions instead of every pair the same way); each round gives
    a throughput ratio (req/s 2x2 / 1x4) and a CPU ratio (CPU-ms per request of the gunicorn
    masters and workers, from psutil before and after each run, 2x2 / 1x4), and medians of the
    per-round ratios are the result. haproxy, PostgreSQL (the backends of this database), wrk and
    the rest of the machine are measured too and reported, with a third ratio: req/s per core
    that other work left over (ours plus idle), which estimates what each layout would do alone
    and so stays near its true value when neighbours come and go (raw req/s does not).

    G9 is informational: on 2 cores both layouts share the same CPU, so what it can show is "no
    penalty, no shared-state contention", and only on a quiet machine: with other work running,
    single rounds swing from 0.5x to 1.8x in throughput and by 20 % in CPU-ms per request. A
    round is quiet when other work used at most 0.25 cores during both its runs; when at least
    half the rounds are quiet, the medians are taken over those and the result is PASS or MISS
    (off target: throughput 0.9-1.1x, CPU-ms per request within 10 %), otherwise the medians of
    all rounds are reported as NOISY; none of the three fails the run. Check 7 fails the run only
    when G9 is badly off, which noise does not produce and a real scale-out defect does: any
    error or 409 during the measurement (a version or session that one instance does not see
    from the other), one 2x2 instance serving under 35 % of the requests (stickiness or a dead
    backend), or, on a quiet machine, throughput under 0.75x or CPU-ms per request more than
    25 % above 1x4 (per-process caches warming twice, contention on shared rows), or when it
    could not be measured at all. Rounds stop early if the run would pass --budget seconds, so
    the whole script stays inside the Makefile's 300 s timeout (SKIP if not one round fits).
Every process started here is stopped at the end, on failure too. Traffic stays on 127.0.0.0/8.
"""

import argparse
import atexit
import html
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    OUT,
    PYTHON,
    ROOT,
    Client,
    answer_versions,
    cpu_seconds,
    drain,
    drop_database,
    ensure_database,
    free_port,
    gunicorn_cmd,
    install_signal_handlers,
    log,
    production_env,
    run,
    spawn,
    stop,
    stop_all,
    wait_http,
    write_wrk_data,
)

INSTANCES = {"A": "127.0.0.2", "B": "127.0.0.3"}
APP_PORT = 8000
PROXY_HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/7"
TEMPLATE = ROOT / "bench" / "haproxy.cfg.template"
# Quotations and hints per pupil per minute on these servers (check 4); the load only autosaves.
WORK_WRITE_LIMIT = 6
MIX_SCRIPT = ROOT / "bench" / "wrk" / "mix.lua"
RESULTS = []

# G9: the same four sync workers in two layouts; (host, port) per instance name (X-Instance).
G9_LAYOUTS = {
    "1x4": {"workers": 4, "servers": {"solo": ("127.0.0.2", 8001)}},
    "2x2": {"workers": 2, "servers": {"A": ("127.0.0.2", 8000), "B": ("127.0.0.3", 8000)}},
}
G9_TARGET = {"throughput": (0.9, 1.1), "cpu": 0.10}
G9_BAD = {"throughput": 0.75, "cpu": 1.25, "share": 0.35}
# Cores used by other work during the runs above which the ratios are too noisy to judge.
G9_QUIET_CORES = 0.25


def check(number: int, title: str, passed: bool, detail: str, *, result: str = "", **extra) -> bool:
    """Record and print one check; ``result`` overrides PASS/FAIL (G9's MISS, NOISY and SKIP,
    which do not fail the run)."""
    result = result or ("PASS" if passed else "FAIL")
    RESULTS.append({"check": number, "title": title, "result": result, "detail": detail, **extra})
    print(f"{result}  {number}. {title}: {detail}", flush=True)
    return passed


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


class ScaleOut:
    def __init__(self, args):
        self.args = args
        self.secret = secrets.token_urlsafe(50)
        self.work = Path(tempfile.mkdtemp(prefix="provenance-scaleout-"))
        self.servers = {}

    # --- setup ------------------------------------------------------------------------------

    def tools(self):
        for tool, package in (("haproxy", "haproxy"), ("redis-server", "redis-server")):
            if not shutil.which(tool):
                log(f"{tool} is missing: installing {package} with apt-get")
                run(["apt-get", "install", "-y", "-qq", package], timeout=300, check=False)
                if not shutil.which(tool):
                    run(["apt-get", "update", "-qq"], timeout=300, check=False)
                    run(["apt-get", "install", "-y", "-qq", package], timeout=300)
        if not port_open("127.0.0.1", 6379):
            log("starting redis-server on 127.0.0.1:6379")
            spawn(
                ["redis-server", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"],
                env=dict(os.environ),
                log_path=self.work / "redis.log",
            )
            deadline = time.monotonic() + 15
            while not port_open("127.0.0.1", 6379):
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.2)

    def database(self):
        drop_database(self.args.db)
        url = ensure_database(self.args.db)
        self.env = production_env(
            url,
            secret=self.secret,
            REDIS_URL=REDIS_URL,
            DJANGO_PROXY_COUNT="1",
            DJANGO_WORK_WRITE_RATE=f"{WORK_WRITE_LIMIT}/m",
            DJANGO_SETTINGS_MODULE=self.args.settings,
        )
        if self.args.pythonpath:
            self.env["PYTHONPATH"] = self.args.pythonpath
        log(f"database {self.args.db}: migrate, import the source pack, seed two small classes")
        run([PYTHON, "manage.py", "migrate", "--noinput"], timeout=300, env=self.env, quiet=True)
        run(
            [
                PYTHON,
                "bench/seed_bench.py",
                "--force",
                "--classes",
                "2",
                "--big-class",
                "0",
                "--archived",
                "0",
            ],
            timeout=180,
            env=self.env,
            quiet=True,
        )
        run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], timeout=180, env=self.env, quiet=True)
        run(
            [PYTHON, "-c", f"import redis; redis.Redis.from_url({REDIS_URL!r}).flushdb()"],
            timeout=30,
            env=self.env,
            quiet=True,
        )

    def launch(self, name, host, port, workers, *, new_session=True):
        """Start one gunicorn instance (its own temp dir, its name in X-Instance); not waited for."""
        tmp = self.work / f"tmp-{name}"
        tmp.mkdir(exist_ok=True)
        env = {**self.env, "PROVENANCE_INSTANCE": name, "TMPDIR": str(tmp), "HOME": str(tmp)}
        return spawn(
            gunicorn_cmd(f"{host}:{port}", workers=workers, instance=f"scaleout-{name}"),
            env=env,
            log_path=self.work / f"gunicorn-{name}.log",
            new_session=new_session,
        )

    def start_instance(self, name):
        self.servers[name] = self.launch(name, INSTANCES[name], APP_PORT, workers=2)
        wait_http(APP_PORT, host=INSTANCES[name], timeout=60, proc=self.servers[name])

    def launch_proxy(self, label, servers: dict, preferred_port: int, *, new_session=True):
        """haproxy from the template on 127.0.0.1 in front of ``servers`` ({name: (host, port)});
        returns (process, port, stats socket) once every server is UP."""
        port = free_port(PROXY_HOST, preferred_port)
        stats_socket = self.work / f"haproxy-{label}.sock"
        lines = "\n".join(f"    server {name} {host}:{p} check" for name, (host, p) in servers.items())
        config = TEMPLATE.read_text().format(
            bind=f"{PROXY_HOST}:{port}", servers=lines, stats_socket=stats_socket
        )
        path = self.work / f"haproxy-{label}.cfg"
        path.write_text(config)
        run(["haproxy", "-c", "-q", "-f", str(path)], timeout=30)
        proc = spawn(
            ["haproxy", "-db", "-f", str(path)],
            env=dict(os.environ),
            log_path=self.work / f"haproxy-{label}.log",
            new_session=new_session,
        )
        wait_http(port, host=PROXY_HOST, timeout=30, proc=proc)
        self.wait_state(dict.fromkeys(servers, "UP"), timeout=15, stats_socket=stats_socket)
        return proc, port, stats_socket

    def start_proxy(self):
        self.proxy, self.proxy_port, self.stats_socket = self.launch_proxy(
            "ab", {name: (host, APP_PORT) for name, host in INSTANCES.items()}, self.args.port
        )

    def server_states(self, stats_socket=None) -> dict:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(stats_socket or self.stats_socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        states = {}
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "app" and row.get("svname") not in (None, "FRONTEND", "BACKEND"):
                states[row["svname"]] = row["status"].split()[0]
        return states

    def wait_state(self, wanted: dict, timeout: float, stats_socket=None) -> float:
        """Wait until haproxy reports each server in ``wanted`` state; return when it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.server_states(stats_socket)
            if all(states.get(name) == state for name, state in wanted.items()):
                return time.monotonic()
            time.sleep(0.1)
        raise RuntimeError(
            f"haproxy did not report {wanted} within {timeout:.0f} s (now {self.server_states(stats_socket)})"
        )

    def client(self) -> Client:
        return Client(PROXY_HOST, self.proxy_port, timeout=20)

    def pupils(self):
        """Pupils of the seeded classes with a draft answer each: (username, assignment, response)."""
        _, output = run(
            [
                PYTHON,
                "-c",
                "import django, json; django.setup();"
                "from analysis.models import Response;"
                "rows = Response.objects.filter(submission__status='in_progress',"
                " submission__assignment__archived_at__isnull=True).exclude(text='')"
                ".order_by('submission__student__username', 'pk')"
                ".values_list('submission__student__username', 'submission__assignment_id', 'pk');"
                "seen = {}; [seen.setdefault(u, (u, a, r)) for u, a, r in rows];"
                "print('PUPILS', json.dumps(list(seen.values())))",
            ],
            timeout=60,
            env=self.env,
            quiet=True,
        )
        return json.loads(re.search(r"PUPILS (.*)", output).group(1))

    # --- checks -----------------------------------------------------------------------------

    def check_alternation(self, pupil):
        client = self.client()
        client.login_or_die(pupil[0])
        served, statuses = [], []
        for _ in range(20):
            reply = client.get("/learn/")
            served.append(reply.header("X-Instance") or "?")
            statuses.append(reply.status)
        alternates = all(a != b for a, b in zip(served, served[1:], strict=False))
        passed = set(served) == {"A", "B"} and alternates and all(s == 200 for s in statuses)
        detail = f"served by {''.join(served)}, statuses {sorted(set(statuses))}"
        if "?" in served:
            detail += " (no X-Instance header: add config.instance.InstanceHeaderMiddleware to MIDDLEWARE)"
        return check(
            1, "log in through the balancer, 20 requests alternate A/B, all logged in", passed, detail
        )

    def workspace(self, client, assignment_id, response_id):
        reply = client.get(f"/learn/assignments/{assignment_id}/")
        match = re.search(
            rf'action="/learn/assignments/{assignment_id}/responses/{response_id}/save/"[\s\S]*?'
            r'name="version" value="(\d+)"[\s\S]*?<textarea[^>]*>\n?([\s\S]*?)</textarea>',
            reply.text,
        )
        token = re.search(r'"X-CSRFToken": "([^"]+)"', reply.text)
        return {
            "served_by": reply.header("X-Instance"),
            "status": reply.status,
            "version": int(match.group(1)) if match else None,
            "text": html.unescape(match.group(2)) if match else None,
            "token": token.group(1) if token else None,
        }

    def check_csrf_and_autosave(self, pupil):
        username, assignment_id, response_id = pupil
        client = self.client()
        client.login_or_die(username)
        save_url = f"/learn/assignments/{assignment_id}/responses/{response_id}/save/"
        # 2. Token from a page one instance rendered, POST served by the other.
        page = self.workspace(client, assignment_id, response_id)
        text = f"Saved through one instance, read through the other ({uuid.uuid4().hex[:8]})."
        reply = client.post(
            save_url,
            {"text": text, "version": page["version"]},
            headers={"X-CSRFToken": page["token"] or "", "HX-Request": "true"},
        )
        served = reply.header("X-Instance")
        check(
            2,
            "CSRF token from a page rendered by one instance accepted by a POST served by the other",
            reply.status == 200 and page["served_by"] != served and bool(page["token"]),
            f"page from {page['served_by']}, POST served by {served}: {reply.status}",
        )
        # 3. The autosave, reloaded through the other instance.
        version = reply.json().get("version") if reply.status == 200 else None
        reload = self.workspace(client, assignment_id, response_id)
        check(
            3,
            "autosave through one instance, reload through the other: same text and version",
            reload["served_by"] != served and reload["text"] == text and reload["version"] == version,
            f"saved v{version} on {served}; page from {reload['served_by']} shows v{reload['version']}, "
            f"text {'matches' if reload['text'] == text else 'DIFFERS'}",
        )

    def failed_logins_until_locked(self, client, username, limit=40):
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        served = []
        for attempt in range(1, limit + 1):
            reply = client.post(
                "/accounts/login/",
                {"username": username, "password": "wrong-password", "csrfmiddlewaretoken": token},
            )
            served.append(reply.header("X-Instance") or "?")
            if reply.status == 429:
                return attempt, served
        return None, served

    def check_lockout(self, pupils):
        one_user, balanced_user = pupils[-1][0], pupils[-2][0]
        direct = Client(INSTANCES["A"], APP_PORT, timeout=20)
        n_single, _ = self.failed_logins_until_locked(direct, one_user)
        n_balanced, served = self.failed_logins_until_locked(self.client(), balanced_user)
        refused = []
        for name, host in INSTANCES.items():
            reply = Client(host, APP_PORT, timeout=20).login(balanced_user, "bench-pass-1917")
            refused.append(f"{name}:{reply.status}")
        both_refuse = all(item.endswith(":429") for item in refused)
        passed = n_single is not None and n_single == n_balanced and set(served) == {"A", "B"} and both_refuse
        check(
            4,
            "failed log-ins alternating A/B lock at the same limit as one instance",
            passed,
            f"one instance locked at attempt {n_single}, through the balancer at attempt {n_balanced} "
            f"(served by {''.join(served)}); right password afterwards: {', '.join(refused)}",
        )

    def check_lockout_by_address(self, pupils):
        """Ten wrong passwords for one pupil sent from 127.0.0.2 through the balancer lock that
        (user name, address) pair only: the right password sent from 127.0.0.3 still logs in.
        The app reads the client from haproxy's X-Forwarded-For (DJANGO_PROXY_COUNT=1)."""
        username = pupils[-3][0]
        attacker = Client(PROXY_HOST, self.proxy_port, timeout=20, source="127.0.0.2")
        n_locked, served = self.failed_logins_until_locked(attacker, username, limit=10)
        again = attacker.login(username, "bench-pass-1917").status
        victim = Client(PROXY_HOST, self.proxy_port, timeout=20, source="127.0.0.3")
        reply = victim.login(username, "bench-pass-1917")
        passed = n_locked == 10 and again == 429 and reply.status == 302
        check(
            4,
            "ten wrong passwords from 127.0.0.2 through the balancer leave the pupil free from 127.0.0.3",
            passed,
            f"from 127.0.0.2: locked at attempt {n_locked} (served by {''.join(served)}), right password "
            f"then {again}; from 127.0.0.3 the right password: {reply.status}",
        )

    def check_rate_limit(self, pupil):
        """Quotation posts (empty, so each is refused as unreadable, 422, but counted) through the
        balancer: the one after the limit is 429 whichever instance serves it."""
        username, assignment_id, response_id = pupil
        client = self.client()
        client.login_or_die(username)
        path = f"/learn/assignments/{assignment_id}/responses/{response_id}/evidence/"
        statuses, served = [], []
        for _ in range(WORK_WRITE_LIMIT + 2):
            reply = client.post(path, {}, headers={"HX-Request": "true"})
            statuses.append(reply.status)
            served.append(reply.header("X-Instance") or "?")
        expected = [422] * WORK_WRITE_LIMIT + [429, 429]
        check(
            4,
            f"a pupil's posts alternating A/B are limited at {WORK_WRITE_LIMIT} a minute, as on one instance",
            statuses == expected and set(served) == {"A", "B"},
            f"statuses {' '.join(map(str, statuses))} (served by {''.join(served)})",
        )

    def check_kill(self, pupils):
        """A stream of autosaves (one thread per pupil, each owning one answer, sequential saves
        carrying the version), kill -9 instance A part-way, then audit the database."""
        streams = pupils[: self.args.streams]
        lock = threading.Lock()
        events = []  # (time, kind, response_id, version, text)
        clients = [self.client().login_or_die(p[0]) for p in streams]
        start_versions = {}
        for pupil, client in zip(streams, clients, strict=True):
            start_versions[pupil[2]] = self.workspace(client, pupil[1], pupil[2])["version"]
        # The clock starts once everyone is logged in (log-ins are slow on a busy machine).
        stop_at = time.monotonic() + self.args.stream_seconds
        kill_at = time.monotonic() + self.args.stream_seconds / 3

        def stream(index, pupil, client):
            _, assignment_id, response_id = pupil
            url = f"/learn/assignments/{assignment_id}/responses/{response_id}/save/"
            version, seq = start_versions[response_id], 0
            while time.monotonic() < stop_at:
                seq += 1
                text = f"stream {index} save {seq}"
                try:
                    reply = client.post(
                        url, {"text": text, "version": version}, headers={"HX-Request": "true"}
                    )
                    status = reply.status
                    payload = (
                        reply.json() if reply.header("Content-Type").startswith("application/json") else {}
                    )
                except (OSError, ValueError) as error:
                    status, payload = f"error {type(error).__name__}", {}
                now = time.monotonic()
                with lock:
                    if status == 200:
                        version = payload["version"]
                        events.append((now, "ack", response_id, version, text))
                    elif status == 409 and "version" in payload:
                        # The save reached the database but its answer was lost with instance A:
                        # the next save builds on what the server holds, as the page would.
                        version = payload["version"]
                        events.append((now, "conflict", response_id, version, payload.get("text")))
                    else:
                        events.append((now, "error", response_id, None, str(status)))
                        time.sleep(0.05)

        threads = [
            threading.Thread(target=stream, args=(i, p, c), daemon=True)
            for i, (p, c) in enumerate(zip(streams, clients, strict=True))
        ]
        for thread in threads:
            thread.start()
        time.sleep(max(0, kill_at - time.monotonic()))
        killed_at = time.monotonic()
        os.killpg(self.servers["A"].pid, signal.SIGKILL)
        down_at = self.wait_state({"A": "DOWN"}, timeout=15)
        for thread in threads:
            thread.join(timeout=self.args.stream_seconds + 30)
        stop(self.servers.pop("A"))

        settle = down_at + 0.5
        acks = [e for e in events if e[1] == "ack"]
        errors_before = [e for e in events if e[1] == "error" and e[0] < settle]
        errors_after = [e for e in events if e[1] == "error" and e[0] >= settle]
        acks_after = [e for e in acks if e[0] >= settle]
        conflicts = [e for e in events if e[1] == "conflict"]
        # Every acknowledged save is in the database: for each answer the stored (version, text)
        # is the last acknowledged pair, and no version was acknowledged twice.
        last = {}
        seen, duplicates = set(), 0
        for _, _, response_id, version, text in acks:
            duplicates += (response_id, version) in seen
            seen.add((response_id, version))
            if version >= last.get(response_id, (-1, ""))[0]:
                last[response_id] = (version, text)
        stored = self.stored_answers(list(last))
        lost = [pk for pk, pair in last.items() if stored.get(pk) != list(pair)]
        passed = not errors_after and acks_after and not lost and not duplicates
        check(
            5,
            "kill -9 instance A during autosaves: errors stop once haproxy drops it, no acknowledged "
            "save lost",
            bool(passed),
            f"{len(acks)} saves acknowledged by {len(streams)} pupils; A killed, haproxy marked it down "
            f"{down_at - killed_at:.1f} s later; errors {len(errors_before)} before that, "
            f"{len(errors_after)} after; {len(acks_after)} saves after; {len(conflicts)} re-synced "
            f"after a lost answer; acknowledged saves missing from the database: {len(lost)}; "
            f"versions acknowledged twice: {duplicates}",
        )

    def stored_answers(self, response_ids):
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"], connect_timeout=10) as conn:
            rows = conn.execute(
                "SELECT id, version, text FROM analysis_response WHERE id = ANY(%s)", [response_ids]
            ).fetchall()
        return {pk: [version, text] for pk, version, text in rows}

    def check_profile(self):
        _, output = run(
            [
                PYTHON,
                "-c",
                "import django; django.setup(); from django.conf import settings;"
                "print('PROFILE', settings.CACHES['default']['BACKEND'], settings.SESSION_ENGINE)",
            ],
            timeout=60,
            env=self.env,
            quiet=True,
        )
        cache, sessions = re.search(r"PROFILE (\S+) (\S+)", output).groups()
        shared = (
            "locmem" not in cache.lower()
            and "file" not in cache.lower()
            and sessions.endswith(("db", "cache"))
        )
        check(
            6, "shared-state profile (no per-process cache or session store)", shared, f"{cache}, {sessions}"
        )

    # --- 7. G9: 2 instances x 2 workers vs 1 x 4 -----------------------------------------

    def g9(self, pupils, started):
        """Check 7 (see the module docstring). Never raises: a measurement that could not be
        made is recorded as a failure of check 7, the other checks' results stand."""
        title = "G9 scale-out neutrality, 2x2 vs 1x4 through haproxy (informational)"
        try:
            figures = self.g9_measure(pupils, started)
        except Exception as error:  # noqa: BLE001 - recorded as check 7, then cleaned up
            check(7, title, False, f"could not measure: {type(error).__name__}: {error}")
            return
        if figures is None:
            return
        verdict, detail = self.g9_verdict(figures)
        check(7, title, verdict != "FAIL", detail, result=verdict, g9=figures)

    def g9_measure(self, pupils, started):
        budget_end = started + self.args.budget
        pair_seconds = 2 * (self.args.g9_seconds + 3)
        # Start-up, log-ins and warm-up take about 30 s more than the warm-up runs themselves.
        if time.monotonic() + 30 + 2 * (self.args.g9_warmup + 3) + pair_seconds > budget_end:
            return self.g9_skip()
        if not shutil.which("wrk"):
            log("wrk is missing: installing it with apt-get")
            run(["apt-get", "install", "-y", "-qq", "wrk"], timeout=300, check=False)
            if not shutil.which("wrk"):
                run(["apt-get", "update", "-qq"], timeout=300, check=False)
                run(["apt-get", "install", "-y", "-qq", "wrk"], timeout=300)
        # The checks' instances and proxy go; both layouts start fresh, side by side, all in
        # this script's session: with sched_autogroup every session gets an equal share of a
        # busy CPU, so two instances in sessions of their own would out-compete one instance
        # (and the neighbours) two to one, and 2x2 would look faster than it is.
        for name in list(self.servers):
            stop(self.servers.pop(name))
        stop(self.proxy)
        self.layouts = {}
        for label, layout in G9_LAYOUTS.items():
            procs = {
                name: self.launch(name, host, port, layout["workers"], new_session=False)
                for name, (host, port) in layout["servers"].items()
            }
            self.layouts[label] = {"servers": procs}
        for label, layout in G9_LAYOUTS.items():
            for name, (host, port) in layout["servers"].items():
                wait_http(port, host=host, timeout=60, proc=self.layouts[label]["servers"][name])
        for offset, label in enumerate(G9_LAYOUTS, start=1):
            proc, port, _ = self.launch_proxy(
                f"g9-{label}", G9_LAYOUTS[label]["servers"], self.args.port + offset, new_session=False
            )
            self.layouts[label].update(proxy=proc, port=port)
        log(
            "G9: "
            + "; ".join(
                f"{label} haproxy {PROXY_HOST}:{self.layouts[label]['port']} -> "
                + ", ".join(f"{host}:{port}" for host, port in G9_LAYOUTS[label]["servers"].values())
                + f" ({G9_LAYOUTS[label]['workers']} workers each)"
                for label in G9_LAYOUTS
            )
        )
        # One pupil per connection, each with an answer of their own (the two locked-out
        # accounts of check 4 excluded), logged in through the real form.
        self.g9_pupils = pupils[:-2][: self.args.g9_pupils]
        port_2x2 = self.layouts["2x2"]["port"]
        self.g9_clients = [
            Client(PROXY_HOST, port_2x2, timeout=30).login_or_die(p[0]) for p in self.g9_pupils
        ]
        self._postmaster = self._find_postmaster()
        self._db_tag = f" {self.args.db} "

        log(f"G9 warm-up: {self.args.g9_warmup:g} s per layout")
        for label in G9_LAYOUTS:
            warm = self.g9_wrk(label, self.args.g9_warmup)
            if warm["errors"]:
                raise RuntimeError(f"{label} answered wrongly during the warm-up: {warm}")
        rounds = []
        for number in range(1, self.args.g9_rounds + 1):
            if time.monotonic() + pair_seconds > budget_end:
                log(f"G9: time budget (--budget {self.args.budget:g} s) reached after {len(rounds)} rounds")
                break
            order = list(G9_LAYOUTS) if number % 2 else list(reversed(G9_LAYOUTS))
            row = {"round": number, "order": order}
            for label in order:
                row[label] = self.g9_wrk(label, self.args.g9_seconds)
                fig = row[label]
                log(
                    f"  round {number} {label}: {fig['rps']:6.1f} req/s, "
                    f"app {fig['app_cpu_ms']:5.2f} CPU-ms/req, p95 {fig['p95_ms']:5.1f} ms, "
                    f"errors {fig['errors']}, served {fig['served']}, "
                    f"other load {fig['other_cores']:.2f} cores"
                )
            rounds.append(row)
        if not rounds:
            return self.g9_skip()
        return self.g9_summary(rounds)

    def g9_skip(self):
        check(
            7,
            "G9 scale-out neutrality, 2x2 vs 1x4 through haproxy (informational)",
            True,
            f"not measured: no round fits in --budget {self.args.budget:g} s",
            result="SKIP",
        )

    @staticmethod
    def _find_postmaster():
        import psutil

        for proc in psutil.process_iter(["name"]):
            try:
                if proc.info["name"] == "postgres" and proc.parent() and proc.parent().name() != "postgres":
                    return proc.pid
            except psutil.Error:
                continue
        return None

    def _db_cpu(self) -> dict:
        """CPU seconds per PostgreSQL backend serving this run's database (their command line
        names it); other people's databases on the same server count as other load. Per pid,
        because a backend whose connection closes takes its CPU time with it."""
        import psutil

        if not self._postmaster:
            return {}
        try:
            backends = psutil.Process(self._postmaster).children()
        except psutil.Error:
            return {}
        seconds = {}
        for proc in backends:
            try:
                if self._db_tag in " ".join(proc.cmdline()) + " ":
                    times = proc.cpu_times()
                    seconds[proc.pid] = times.user + times.system
            except psutil.Error:
                continue
        return seconds

    def g9_data(self) -> Path:
        """The wrk data file: each pupil's pages, cookies and the answer's current version, read
        from the database before every run (a save in flight when wrk stopped has landed)."""
        ids = [p[2] for p in self.g9_pupils]
        versions = answer_versions(self.env["DATABASE_URL"], ids)
        entries = []
        for index, ((_, assignment_id, response_id), client) in enumerate(
            zip(self.g9_pupils, self.g9_clients, strict=True)
        ):
            text = (
                f"Pupil {index}: the editorial blames the Bolsheviks for the disorder in Petrograd, but "
                "its own readers were the soldiers' and workers' deputies, so the paper has to argue "
                "that the Soviet, not the Military Revolutionary Committee, speaks for them."
            )
            fields = {
                "page": f"/learn/assignments/{assignment_id}/",
                "save": f"/learn/assignments/{assignment_id}/responses/{response_id}/save/",
                "cookie": client.cookie_header(),
                "csrf": client.csrf_token,
                "body_text": urllib.parse.quote_plus(text),
            }
            entries.append({**fields, "version": versions[response_id]})
        return write_wrk_data(self.work / "g9_data.lua", entries)

    def g9_cpu(self, label) -> dict:
        import resource

        import psutil

        layout = self.layouts[label]
        machine = psutil.cpu_times()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has exited
        # Busy time without irq/softirq: on loopback that is mostly our own packets, not
        # other people's work.
        return {
            "app": sum(cpu_seconds(proc.pid) for proc in layout["servers"].values()),
            "proxy": cpu_seconds(layout["proxy"].pid),
            "db": self._db_cpu(),
            "client": children.ru_utime + children.ru_stime,
            "busy": machine.user + machine.nice + machine.system,
            "wall": time.monotonic(),
        }

    def g9_wrk(self, label, seconds) -> dict:
        layout = self.layouts[label]
        for name, proc in layout["servers"].items():
            if proc.poll() is not None:
                raise RuntimeError(f"G9 instance {name} ({label}) exited with {proc.returncode}")
        # Both layouts: saves the previous run left in flight land before versions are read.
        for other in self.layouts.values():
            drain(PROXY_HOST, other["port"])
        n = len(self.g9_pupils)
        env = {
            **os.environ,
            "BENCH_MIX_DATA": str(self.g9_data()),
            "BENCH_MIX_PAGE_EVERY": str(self.args.g9_page_every),
        }
        cmd = [
            "wrk",
            f"-t{n}",
            f"-c{n}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(MIX_SCRIPT),
            f"http://{PROXY_HOST}:{layout['port']}/",
        ]
        before = self.g9_cpu(label)
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 30)
        after = self.g9_cpu(label)
        summary = re.search(r"BENCH_JSON (\{.*\})", proc.stdout)
        mix = re.search(r"BENCH_MIX (\{.*\})", proc.stdout)
        if not summary or not mix:
            raise RuntimeError(f"wrk gave no summary for {label}: {proc.stdout[-500:]} {proc.stderr[-500:]}")
        data, mix = json.loads(summary.group(1)), json.loads(mix.group(1))
        requests = max(1, data["requests"])
        wall = after["wall"] - before["wall"]
        used = {key: after[key] - before[key] for key in ("app", "proxy", "client", "busy")}
        # Backends that went away during the run are missing (a little low); new ones count whole.
        used["db"] = sum(secs - before["db"].get(pid, 0.0) for pid, secs in after["db"].items())
        ours = used["app"] + used["proxy"] + used["db"] + used["client"]
        other, cores = max(0.0, (used["busy"] - ours) / wall), os.cpu_count() or 1
        return {
            "rps": data["requests"] / (data["duration_us"] / 1e6),
            "requests": data["requests"],
            "pages": mix["pages"],
            "saves": mix["saves"],
            "served": dict(sorted(mix["served"].items())),
            "statuses": dict(sorted(mix["statuses"].items())),
            "errors": data["unexpected"] + data["socket_errors"],
            "p50_ms": data["p50_us"] / 1000,
            "p95_ms": data["p95_us"] / 1000,
            "app_cpu_ms": used["app"] * 1000 / requests,
            "haproxy_cpu_ms": used["proxy"] * 1000 / requests,
            "db_cpu_ms": used["db"] * 1000 / requests,
            "wrk_cpu_ms": used["client"] * 1000 / requests,
            "app_cores": used["app"] / wall,
            "wrk_cores": used["client"] / wall,
            # Anything else on the machine (other people's tests, the idle layout): noise.
            "other_cores": other,
            # What the same run would give alone: req/s per core the other work left over (ours
            # plus idle). Saturated, that is 1 / all our CPU per request; idle cores lower it.
            "rps_per_free_core": data["requests"] / (data["duration_us"] / 1e6) / max(0.1, cores - other),
        }

    def g9_summary(self, rounds) -> dict:
        """Per-round ratios; the result is their median over the quiet rounds (other work at most
        G9_QUIET_CORES in both runs) when at least half the rounds were quiet, else over all
        rounds and marked as not quiet."""
        for row in rounds:
            one, two = row["1x4"], row["2x2"]
            row["throughput_ratio"] = two["rps"] / one["rps"] if one["rps"] else 0.0
            row["cpu_ratio"] = two["app_cpu_ms"] / one["app_cpu_ms"] if one["app_cpu_ms"] else 0.0
            row["adjusted_throughput_ratio"] = two["rps_per_free_core"] / one["rps_per_free_core"]
            row["quiet"] = max(one["other_cores"], two["other_cores"]) <= G9_QUIET_CORES
        quiet_rounds = [row for row in rounds if row["quiet"]]
        quiet = len(quiet_rounds) >= max(2, (len(rounds) + 1) // 2)
        judged = quiet_rounds if quiet else rounds

        def pooled(label):
            runs = [row[label] for row in rounds]
            requests = sum(r["requests"] for r in runs)
            seconds = sum(r["requests"] / r["rps"] for r in runs if r["rps"])
            return {
                "rps": requests / seconds if seconds else 0.0,
                "requests": requests,
                "pages": sum(r["pages"] for r in runs),
                "saves": sum(r["saves"] for r in runs),
                "errors": sum(r["errors"] for r in runs),
                "served": {
                    who: sum(r["served"].get(who, 0) for r in runs)
                    for who in sorted({w for r in runs for w in r["served"]})
                },
                "statuses": {
                    code: sum(r["statuses"].get(code, 0) for r in runs)
                    for code in sorted({c for r in runs for c in r["statuses"]})
                },
                **{
                    key: sum(r[key] * r["requests"] for r in runs) / max(1, requests)
                    for key in ("app_cpu_ms", "haproxy_cpu_ms", "db_cpu_ms", "wrk_cpu_ms")
                },
                "p95_ms": statistics.median(r["p95_ms"] for r in runs),
                "other_cores": statistics.mean(r["other_cores"] for r in runs),
                "wrk_cores": max(r["wrk_cores"] for r in runs),
            }

        return {
            "config": {
                "layouts": {
                    label: {
                        "workers_per_instance": layout["workers"],
                        "instances": {name: f"{h}:{p}" for name, (h, p) in layout["servers"].items()},
                    }
                    for label, layout in G9_LAYOUTS.items()
                },
                "load": (
                    f"wrk -t{len(self.g9_pupils)} -c{len(self.g9_pupils)} -d{self.args.g9_seconds:g}s "
                    f"bench/wrk/mix.lua: {len(self.g9_pupils)} pupils, one connection each, autosaves "
                    f"with a page reload every {self.args.g9_page_every}th request, through haproxy"
                ),
                "warmup_s": self.args.g9_warmup,
                "rounds": len(rounds),
                "cpu": "gunicorn masters + workers (psutil, before/after each run) per request",
            },
            "throughput_ratio": statistics.median(row["throughput_ratio"] for row in judged),
            "cpu_ratio": statistics.median(row["cpu_ratio"] for row in judged),
            "adjusted_throughput_ratio": statistics.median(
                row["adjusted_throughput_ratio"] for row in judged
            ),
            "judged_rounds": [row["round"] for row in judged],
            "quiet": quiet,
            "throughput_ratios": [row["throughput_ratio"] for row in rounds],
            "cpu_ratios": [row["cpu_ratio"] for row in rounds],
            "layouts": {label: pooled(label) for label in G9_LAYOUTS},
            "rounds": rounds,
            "target": "throughput 2x2/1x4 0.9-1.1x; CPU-ms per request within 10 %",
        }

    @staticmethod
    def g9_verdict(figures) -> tuple[str, str]:
        low, high = G9_TARGET["throughput"]
        tput, cpu = figures["throughput_ratio"], figures["cpu_ratio"]
        one, two = figures["layouts"]["1x4"], figures["layouts"]["2x2"]
        shares = [
            two["served"].get(name, 0) / max(1, two["requests"]) for name in G9_LAYOUTS["2x2"]["servers"]
        ]
        errors = one["errors"] + two["errors"]
        quiet = figures["quiet"]
        bad = []
        if errors:
            bad.append(
                f"{errors} wrong answers or socket errors (statuses 1x4 {one['statuses']}, "
                f"2x2 {two['statuses']})"
            )
        if min(shares) < G9_BAD["share"]:
            bad.append(f"one 2x2 instance served only {min(shares):.0%}")
        # Other people's work moves both ratios far more than any limit here; only a quiet
        # machine can show that the layouts really differ.
        if quiet and tput < G9_BAD["throughput"]:
            bad.append(f"throughput ratio under {G9_BAD['throughput']}")
        if quiet and cpu > G9_BAD["cpu"]:
            bad.append(f"CPU-ms per request over {G9_BAD['cpu']}x")
        on_target = low <= tput <= high and abs(cpu - 1) <= G9_TARGET["cpu"]
        verdict = "FAIL" if bad else "NOISY" if not quiet else "PASS" if on_target else "MISS"
        figures.update(verdict=verdict, on_target=on_target, badly_off=bad)
        spread = lambda values: f"{min(values):.2f}-{max(values):.2f}"  # noqa: E731
        rounds, judged = figures["config"]["rounds"], len(figures["judged_rounds"])
        detail = (
            f"throughput 2x2/1x4 {tput:.2f}x (target {low}-{high}x), app CPU-ms per request 2x2/1x4 "
            f"{cpu:.2f} (target within {G9_TARGET['cpu']:.0%}): medians of "
            + (f"the {judged} quiet rounds of {rounds}" if quiet else f"all {rounds} rounds")
            + f"; single rounds {spread(figures['throughput_ratios'])}x and "
            f"{spread(figures['cpu_ratios'])}; req/s per core left by other work 2x2/1x4 "
            f"{figures['adjusted_throughput_ratio']:.2f}x; all rounds pooled: 2x2 {two['rps']:.0f} vs 1x4 "
            f"{one['rps']:.0f} req/s, {two['app_cpu_ms']:.2f} vs {one['app_cpu_ms']:.2f} CPU-ms/request; "
            "2x2 served "
            + "/".join(f"{share:.0%}" for share in shares)
            + f"; errors {errors}; other load {one['other_cores']:.2f}/{two['other_cores']:.2f} cores"
        )
        if not quiet:
            detail += (
                f"; {'on' if on_target else 'off'} target, but other work used more than "
                f"{G9_QUIET_CORES} cores in most rounds: the ratios are noise, run it again on a "
                "quiet machine"
            )
        if bad:
            detail += "; badly off: " + ", ".join(bad)
        elif verdict == "MISS":
            detail += "; off target: informational, does not fail the run"
        return verdict, detail

    def g9_table(self):
        entry = next((r for r in RESULTS if r["check"] == 7 and "g9" in r), None)
        if not entry:
            return
        figures = entry["g9"]
        print(
            f"\nG9  {'layout':<6} {'req/s':>7} {'p95 ms':>7} {'app ms/req':>11} {'haproxy':>8} "
            f"{'pg':>6} {'wrk':>6} {'wrk cores':>9} {'other cores':>11}  served"
        )
        for label, fig in figures["layouts"].items():
            print(
                f"    {label:<6} {fig['rps']:7.1f} {fig['p95_ms']:7.1f} {fig['app_cpu_ms']:11.2f} "
                f"{fig['haproxy_cpu_ms']:8.2f} {fig['db_cpu_ms']:6.2f} {fig['wrk_cpu_ms']:6.2f} "
                f"{fig['wrk_cores']:9.2f} {fig['other_cores']:11.2f}  {fig['served']}"
            )
        for row in figures["rounds"]:
            print(
                f"    round {row['round']} ({' then '.join(row['order'])}): throughput "
                f"{row['throughput_ratio']:.3f}x, CPU-ms/request {row['cpu_ratio']:.3f}, "
                f"per free core {row['adjusted_throughput_ratio']:.3f}x; other load "
                + ", ".join(f"{label} {row[label]['other_cores']:.2f}" for label in G9_LAYOUTS)
                + f" cores{'' if row['quiet'] else ' (noisy)'}"
            )
        print(
            f"    2x2/1x4: throughput {figures['throughput_ratio']:.3f}x, CPU-ms/request "
            f"{figures['cpu_ratio']:.3f}, per free core {figures['adjusted_throughput_ratio']:.3f}x "
            f"(medians of rounds {figures['judged_rounds']}) "
            f"-> {figures['verdict']}"
        )
        print(
            "    (ms/req: CPU-ms per request; pg: the backends of this run's database)\n",
            flush=True,
        )

    # --- run --------------------------------------------------------------------------------

    def run(self) -> int:
        started = time.monotonic()
        self.tools()
        self.database()
        for name in INSTANCES:
            self.start_instance(name)
        self.start_proxy()
        log(
            f"haproxy on {PROXY_HOST}:{self.proxy_port} -> A {INSTANCES['A']}:{APP_PORT}, "
            f"B {INSTANCES['B']}:{APP_PORT}"
        )
        pupils = self.pupils()
        self.check_alternation(pupils[0])
        self.check_csrf_and_autosave(pupils[1])
        self.check_lockout(pupils)
        self.check_lockout_by_address(pupils)
        self.check_rate_limit(pupils[0])
        self.check_kill(pupils[2 : 2 + self.args.streams])
        self.check_profile()
        if self.args.g9:
            self.g9(pupils, started)
            self.g9_table()
        failed = [r for r in RESULTS if r["result"] == "FAIL"]
        (OUT / "scaleout.json").parent.mkdir(parents=True, exist_ok=True)
        (OUT / "scaleout.json").write_text(json.dumps(RESULTS, indent=2))
        counts = {
            result: sum(r["result"] == result for r in RESULTS)
            for result in ("PASS", "MISS", "NOISY", "SKIP")
        }
        log(
            f"{counts['PASS']} passed, {len(failed)} failed"
            + "".join(f", {n} {result.lower()}" for result, n in counts.items() if n and result != "PASS")
            + f" in {time.monotonic() - started:.0f} s; results in {OUT / 'scaleout.json'}"
        )
        return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="provenance_scaleout")
    parser.add_argument("--port", type=int, default=8090, help="haproxy port on 127.0.0.1")
    parser.add_argument("--streams", type=int, default=6, help="pupils autosaving during the kill")
    parser.add_argument("--stream-seconds", type=float, default=12.0)
    parser.add_argument("--settings", default="config.settings")
    parser.add_argument("--pythonpath", default="", help="extra PYTHONPATH for --settings")
    parser.add_argument("--no-g9", dest="g9", action="store_false", help="skip check 7, the G9 measurement")
    parser.add_argument("--g9-pupils", type=int, default=8, help="G9: pupils (one connection each)")
    parser.add_argument("--g9-page-every", type=int, default=7, help="G9: every n-th request a page view")
    parser.add_argument("--g9-warmup", type=float, default=4.0, help="G9: warm-up seconds per layout")
    parser.add_argument("--g9-seconds", type=float, default=5.0, help="G9: seconds per layout per round")
    parser.add_argument(
        "--g9-rounds", type=int, default=6, help="G9: interleaved rounds (fewer if short of time)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=240.0,
        help="seconds the whole run may take before G9 stops adding rounds (make: 300 s timeout)",
    )
    args = parser.parse_args()
    install_signal_handlers(stop_all)
    atexit.register(stop_all)
    scale = ScaleOut(args)
    status = 1
    try:
        status = scale.run()
    except Exception as error:  # noqa: BLE001 - report, clean up, fail
        log(f"FAIL: {type(error).__name__}: {error}")
        status = 1
    finally:
        stop_all()
        shutil.rmtree(scale.work, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
