"""``make scaleout``: two app servers behind a non-sticky proxy, sharing only PostgreSQL and Redis.

Instance A on 127.0.0.2:8000 and instance B on 127.0.0.3:8000 (distinct loopback "hosts"), each
gunicorn with 2 sync workers, the same code and SECRET_KEY, its own empty temp dir, and
PROVENANCE_INSTANCE=A/B so every response says who served it (X-Instance, from
config.instance.InstanceHeaderMiddleware). haproxy on 127.0.0.1 balances round robin per
request, no stickiness, health-checking /healthz every second. Redis on 127.0.0.1:6379 (started
here if nothing answers there) holds the cache; sessions are cached_db, log-in lockouts (axes)
live in PostgreSQL.

Checks (PASS/FAIL each; exit status 1 if any fails):
 1. log in through the balancer; the next 20 requests alternate A/B and all stay logged in;
 2. a CSRF token from a page rendered by one instance is accepted by a POST served by the other;
 3. an autosave through one instance, reloaded through the other, shows the same text and version;
 4. failed log-ins alternating A/B lock the account after as many attempts as on one instance,
    and the locked account is refused by both;
 5. kill -9 instance A during a stream of autosaves: once haproxy has taken A out, errors stop,
    and every acknowledged save is in the database (no acknowledged version lost or duplicated);
 6. the instances run the shared-state profile (Redis cache, database-backed sessions).
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
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    OUT,
    PYTHON,
    ROOT,
    Client,
    drop_database,
    ensure_database,
    free_port,
    gunicorn_cmd,
    install_signal_handlers,
    log,
    production_env,
    run,
    start,
    stop,
    stop_all,
    wait_http,
)

INSTANCES = {"A": "127.0.0.2", "B": "127.0.0.3"}
APP_PORT = 8000
PROXY_HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/7"
TEMPLATE = ROOT / "bench" / "haproxy.cfg.template"
RESULTS = []


def check(number: int, title: str, passed: bool, detail: str) -> bool:
    RESULTS.append(
        {"check": number, "title": title, "result": "PASS" if passed else "FAIL", "detail": detail}
    )
    print(f"{'PASS' if passed else 'FAIL'}  {number}. {title}: {detail}", flush=True)
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
            start(
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
            DJANGO_SETTINGS_MODULE=self.args.settings,
        )
        if self.args.pythonpath:
            self.env["PYTHONPATH"] = self.args.pythonpath
        log(f"database {self.args.db}: migrate, import the source pack, seed two small classes")
        run([PYTHON, "manage.py", "migrate", "--noinput"], timeout=300, env=self.env, quiet=True)
        run(
            [
                PYTHON,
                "manage.py",
                "seed_bench",
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

    def start_instance(self, name):
        tmp = self.work / f"tmp-{name}"
        tmp.mkdir(exist_ok=True)
        env = {**self.env, "PROVENANCE_INSTANCE": name, "TMPDIR": str(tmp), "HOME": str(tmp)}
        self.servers[name] = start(
            gunicorn_cmd(f"{INSTANCES[name]}:{APP_PORT}", workers=2, instance=f"scaleout-{name}")
            + ["--control-socket", str(tmp / "gunicorn.ctl")],
            env=env,
            log_path=self.work / f"gunicorn-{name}.log",
        )
        wait_http(INSTANCES[name], APP_PORT, timeout=60, proc=self.servers[name])

    def start_proxy(self):
        self.proxy_port = free_port(PROXY_HOST, self.args.port)
        self.stats_socket = self.work / "haproxy.sock"
        servers = "\n".join(f"    server {name} {host}:{APP_PORT} check" for name, host in INSTANCES.items())
        config = TEMPLATE.read_text().format(
            bind=f"{PROXY_HOST}:{self.proxy_port}", servers=servers, stats_socket=self.stats_socket
        )
        path = self.work / "haproxy.cfg"
        path.write_text(config)
        run(["haproxy", "-c", "-q", "-f", str(path)], timeout=30)
        self.proxy = start(
            ["haproxy", "-db", "-f", str(path)], env=dict(os.environ), log_path=self.work / "haproxy.log"
        )
        wait_http(PROXY_HOST, self.proxy_port, timeout=30, proc=self.proxy)
        self.wait_state({"A": "UP", "B": "UP"}, timeout=15)

    def server_states(self) -> dict:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.stats_socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        states = {}
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "app" and row.get("svname") in INSTANCES:
                states[row["svname"].upper()] = row["status"].split()[0]
        return states

    def wait_state(self, wanted: dict, timeout: float) -> float:
        """Wait until haproxy reports each server in ``wanted`` state; return when it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.server_states()
            if all(states.get(name) == state for name, state in wanted.items()):
                return time.monotonic()
            time.sleep(0.1)
        raise RuntimeError(
            f"haproxy did not report {wanted} within {timeout:.0f} s (now {self.server_states()})"
        )

    def client(self) -> Client:
        return Client(PROXY_HOST, self.proxy_port, timeout=20)

    def pupils(self):
        """Pupils of the seeded classes with a draft answer each: (username, assignment, response)."""
        output = run(
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

    def check_kill(self, pupils):
        """A stream of autosaves (one thread per pupil, each owning one answer, sequential saves
        carrying the version), kill -9 instance A part-way, then audit the database."""
        streams = pupils[: self.args.streams]
        stop_at = time.monotonic() + self.args.stream_seconds
        kill_at = time.monotonic() + self.args.stream_seconds / 3
        lock = threading.Lock()
        events = []  # (time, kind, response_id, version, text)
        clients = [self.client().login_or_die(p[0]) for p in streams]
        start_versions = {}
        for pupil, client in zip(streams, clients, strict=True):
            start_versions[pupil[2]] = self.workspace(client, pupil[1], pupil[2])["version"]

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
        output = run(
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
        self.check_kill(pupils[2 : 2 + self.args.streams])
        self.check_profile()
        failed = [r for r in RESULTS if r["result"] == "FAIL"]
        (OUT / "scaleout.json").parent.mkdir(parents=True, exist_ok=True)
        (OUT / "scaleout.json").write_text(json.dumps(RESULTS, indent=2))
        log(
            f"{len(RESULTS) - len(failed)} passed, {len(failed)} failed in {time.monotonic() - started:.0f} s"
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
    args = parser.parse_args()
    install_signal_handlers()
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
