"""Shared pieces of the reliability harness: a cookie-keeping HTTP client that only talks to
loopback, processes with hard timeouts that are always cleaned up, the PostgreSQL cluster the
run uses (a private throw-away one by default, or the machine's main one) and a gunicorn
server that can be crashed and restarted.

Standard library plus psycopg (a dependency of the app) only.
"""

import contextlib
import hashlib
import http.client
import ipaddress
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
HOST = "127.0.0.1"
MARKER = "ZQX-ANSWER-MARKER"  # in every answer text the harness saves; must never reach a log


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def require_loopback(host: str) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"Refusing to send traffic to {host}: the harness only talks to 127.0.0.0/8.")


def sha(text: str) -> str:
    """The hash the harness and the database triggers both compute for an answer text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# --- HTTP -----------------------------------------------------------------------------------


class Reply:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes, elapsed: float):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed

    def header(self, name: str, default: str = "") -> str:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> dict:
        try:
            return json.loads(self.body)
        except ValueError:
            return {}


# What a client sees when the server is gone, restarting or killed mid-request.
CONNECTION_ERRORS = (OSError, http.client.HTTPException)


class Client:
    """One logged-in browser: a cookie jar shared by its tabs (threads), the CSRF token sent as
    ``X-CSRFToken`` on POSTs, no redirects followed. Cookies marked ``Secure`` or named
    ``__Host-`` are kept and sent although the harness speaks plain HTTP to loopback, as a
    TLS-terminating proxy in front of gunicorn would."""

    user_agent = "provenance-trust"

    def __init__(self, host: str, port: int, *, timeout: float = 20.0, source: str | None = None):
        """``source``: the local address to connect from (another loopback address looks to the
        proxy like another computer)."""
        require_loopback(host)
        if source is not None:
            require_loopback(source)
        self.host, self.port, self.timeout = host, port, timeout
        self.source_address = (source, 0) if source else None
        self.cookies: dict[str, str] = {}
        self._lock = threading.Lock()

    def cookie_named(self, suffix: str) -> str:
        """The cookie whose name ends with ``suffix`` (``sessionid`` matches ``__Host-sessionid``)."""
        with self._lock:
            for name, value in self.cookies.items():
                if name.endswith(suffix):
                    return value
        return ""

    @property
    def csrf_token(self) -> str:
        return self.cookie_named("csrftoken")

    def cookie_header(self) -> str:
        """The ``Cookie`` header this browser sends (for load generators that replay it)."""
        with self._lock:
            return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def _prepare(self, method: str, data: dict | None, headers: dict | None) -> tuple[bytes | None, dict]:
        send = {"Host": f"{self.host}:{self.port}", "User-Agent": self.user_agent}
        cookies = self.cookie_header()
        if cookies:
            send["Cookie"] = cookies
        body = None
        if method == "POST":
            body = urllib.parse.urlencode(data or {}).encode()
            send["Content-Type"] = "application/x-www-form-urlencoded"
            token = self.csrf_token
            if token:
                send["X-CSRFToken"] = token
        send.update(headers or {})
        return body, send

    def _keep_cookies(self, headers: list[tuple[str, str]]) -> None:
        with self._lock:
            for key, value in headers:
                if key.lower() != "set-cookie":
                    continue
                name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if cookie_value in ("", '""') or "max-age=0" in value.lower():
                    self.cookies.pop(name.strip(), None)
                else:
                    self.cookies[name.strip()] = cookie_value

    def request(
        self,
        method: str,
        path: str,
        *,
        data: dict | None = None,
        headers: dict | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """One request on a fresh connection (gunicorn's sync workers do not keep connections
        alive). Raises one of ``CONNECTION_ERRORS`` when no answer arrives."""
        body, send = self._prepare(method, data, headers)
        started = time.monotonic()
        conn = http.client.HTTPConnection(
            self.host, self.port, timeout=timeout or self.timeout, source_address=self.source_address
        )
        try:
            conn.request(method, path, body=body, headers=send)
            raw = conn.getresponse()
            reply = Reply(raw.status, raw.getheaders(), raw.read(), time.monotonic() - started)
        finally:
            conn.close()
        self._keep_cookies(reply.headers)
        return reply

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs) -> Reply:
        return self.request("POST", path, data=data, **kwargs)

    def post_held(self, path: str, data: dict, *, headers: dict | None = None) -> "HeldRequest":
        """Send a POST but its last byte: the server has the request in hand (a worker is
        reading it) but cannot act on it until ``release()``. Simulates a request that the
        network delivers after a later one."""
        body, send = self._prepare("POST", data, headers)
        return HeldRequest(self, path, body, send)

    def login(self, username: str, password: str) -> Reply:
        """Log in through the real form: GET it (CSRF cookie and token), POST the credentials."""
        page = self.get("/accounts/login/")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status != 200 or not match:
            raise RuntimeError(f"log-in page answered {page.status} without a CSRF token")
        return self.post(
            "/accounts/login/",
            {"username": username, "password": password, "csrfmiddlewaretoken": match.group(1)},
        )

    def login_or_die(self, username: str, password: str) -> "Client":
        reply = self.login(username, password)
        if reply.status != 302 or not self.cookie_named("sessionid"):
            raise RuntimeError(f"log-in as {username} failed: {reply.status}")
        return self


class HeldRequest:
    def __init__(self, client: Client, path: str, body: bytes, headers: dict):
        self.client = client
        self.conn = http.client.HTTPConnection(
            client.host, client.port, timeout=client.timeout, source_address=client.source_address
        )
        self.conn.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
        for key, value in headers.items():
            self.conn.putheader(key, value)
        self.conn.putheader("Content-Length", str(len(body)))
        self.conn.endheaders(body[:-1])
        self.last = body[-1:]

    def release(self) -> Reply:
        started = time.monotonic()
        try:
            self.conn.send(self.last)
            raw = self.conn.getresponse()
            reply = Reply(raw.status, raw.getheaders(), raw.read(), time.monotonic() - started)
        finally:
            self.conn.close()
        self.client._keep_cookies(reply.headers)
        return reply


def wait_http(
    port: int, path: str = "/healthz", timeout: float = 60.0, *, host: str = HOST, proc=None
) -> None:
    """Wait until the server answers 200 on ``path``; with ``proc``, fail as soon as it exits
    (so a server that could not bind is never mistaken for someone else's on that port)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server for {host}:{port} exited with {proc.returncode}")
        try:
            reply = Client(host, port, timeout=2).get(path)
            if reply.status == 200:
                return
            last = f"status {reply.status}"
        except CONNECTION_ERRORS as error:
            last = str(error)
        time.sleep(0.2)
    raise RuntimeError(f"http://{host}:{port}{path} did not come up in {timeout:.0f} s ({last})")


# --- Processes ------------------------------------------------------------------------------

_started: list[subprocess.Popen] = []


def run(
    cmd: list[str], *, timeout: float, env: dict | None = None, check: bool = True, quiet: bool = True
) -> tuple[int, str]:
    """Run a command to completion with a hard timeout (its whole process group is killed).
    Returns (exit status, combined output); ``quiet=False`` also prints the output."""
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"timed out after {timeout:.0f} s: {' '.join(cmd)}") from None
    if not quiet and output.strip():
        print(output.rstrip(), flush=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {' '.join(cmd)}\n{output[-3000:]}")
    return proc.returncode, output


def spawn(cmd: list[str], *, env: dict | None, log_path: Path, new_session: bool = True) -> subprocess.Popen:
    """Start a long-running process in its own process group, output appended to ``log_path``;
    ``stop`` or ``stop_all`` ends the group.

    By default also in its own session. Linux (sched_autogroup) gives every session an equal
    share of a busy CPU, so processes whose CPU use is to be compared (two layouts of the same
    servers) pass ``new_session=False``: own process group, the caller's session."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
    group = {"start_new_session": True} if new_session else {"process_group": 0}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, **group)
    proc.log_handle = handle
    _started.append(proc)
    return proc


def kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(proc: subprocess.Popen, *, grace: float = 8.0) -> None:
    """TERM the process group, KILL it after ``grace`` seconds; reap the leader."""
    if proc.poll() is None:
        kill_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    kill_group(proc.pid, signal.SIGKILL)  # stragglers, e.g. orphaned gunicorn workers
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    deadline = time.monotonic() + 5
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    handle = getattr(proc, "log_handle", None)
    if handle:
        handle.close()
    if proc in _started:
        _started.remove(proc)


def stop_all() -> None:
    for proc in list(reversed(_started)):
        stop(proc, grace=3)


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc; gunicorn's workers are the master's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces and brackets.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of ``root`` and its live descendants (from /proc)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid in cpu:
        walk = pid
        while walk in parents and walk != root and walk > 1:
            walk = parents[walk]
        if walk == root:
            total += cpu[pid]
    return total


# --- PostgreSQL -----------------------------------------------------------------------------


def pg_bindir() -> Path:
    """The newest installed PostgreSQL's server binaries (Debian layout), else pg_ctl on PATH."""
    candidates = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    if candidates:
        return max(candidates, key=lambda p: int(p.parent.name))
    found = shutil.which("pg_ctl")
    if not found:
        raise RuntimeError("PostgreSQL server binaries (pg_ctl, initdb) not found")
    return Path(found).parent


class Cluster:
    """The PostgreSQL server the run uses; ``crash()`` stops it in immediate mode (no
    checkpoint, like a power cut for the database process) and ``recover()`` starts it again."""

    admin_url: str
    description: str
    log_path: Path | None = None

    def postmaster_pid(self) -> int | None:
        return None  # the main cluster serves others too: its CPU is not ours to measure

    def database_url(self, name: str) -> str:
        parts = urllib.parse.urlsplit(self.admin_url)
        return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))

    def connect(self, database: str | None = None, **kwargs):
        import psycopg

        url = self.database_url(database) if database else self.admin_url
        return psycopg.connect(url, connect_timeout=5, **kwargs)

    def is_ready(self) -> bool:
        try:
            with self.connect() as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - any failure means "not ready yet"
            return False

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_ready():
                return
            time.sleep(0.25)
        raise RuntimeError(f"PostgreSQL ({self.description}) not ready after {timeout:.0f} s")

    def create_database(self, name: str) -> str:
        with self.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        with self.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def durability_settings(self) -> dict:
        with self.connect() as conn:
            return {
                name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method")
            }

    def start_time(self) -> str:
        with self.connect() as conn:
            return str(conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0])


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PrivateCluster(Cluster):
    """A throw-away cluster of the installed PostgreSQL in a temporary folder, listening on a
    free loopback port: crashing it cannot disturb anything else using the machine's server.
    initdb's defaults are the durable ones (fsync, synchronous_commit, full_page_writes on)."""

    def __init__(self, workdir: Path):
        self.bindir = pg_bindir()
        self.dir = workdir / "pg"
        self.data = self.dir / "data"
        self.log_path = workdir / "postgresql.log"
        self.port = free_port()
        self.admin_url = f"postgres://postgres@{HOST}:{self.port}/postgres"
        self.description = f"private cluster {self.data} on port {self.port}"

    def _pg_ctl(self, *args: str, timeout: float = 90) -> None:
        run(_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]), timeout=timeout)

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.log_path, "postgres", "postgres")
        run(
            _as_postgres(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            timeout=120,
        )
        self.recover()

    def recover(self) -> None:
        options = f"-c listen_addresses={HOST} -c port={self.port} -c unix_socket_directories={self.dir}"
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_path), "-o", options)
        self.wait_ready()

    def crash(self) -> None:
        self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "30")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def ensure_running(self) -> None:
        if self.data.exists() and not self.is_ready():
            with contextlib.suppress(Exception):
                self.recover()

    def destroy(self) -> None:
        if self.data.exists():
            with contextlib.suppress(Exception):
                self._pg_ctl("stop", "-m", "fast", "-w", "-t", "30", timeout=40)
        shutil.rmtree(self.dir, ignore_errors=True)


class MainCluster(Cluster):
    """The machine's own cluster (``pg_ctlcluster``), as the CI script starts it. Crashing it
    interrupts everything else using it: use only when nothing else runs. ``ensure_running``
    (always called at the end) starts it again and waits until it answers."""

    def __init__(self, admin_url: str):
        versions = sorted((p.name for p in Path("/etc/postgresql").iterdir() if p.name.isdigit()), key=int)
        if not versions:
            raise RuntimeError("no cluster under /etc/postgresql")
        self.version = versions[-1]
        self.admin_url = admin_url
        self.description = f"main cluster {self.version}/main ({admin_url.rsplit('@', 1)[-1]})"
        self.log_path = None

    def _ctl(self, *args: str) -> None:
        run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, "main", *args], timeout=90)

    def start(self) -> None:
        self.ensure_running()

    def crash(self) -> None:
        self._ctl("stop", "-m", "immediate")

    def recover(self) -> None:
        self._ctl("start")
        self.wait_ready()

    def ensure_running(self) -> None:
        if self.is_ready():
            return
        with contextlib.suppress(Exception):
            self._ctl("start")
        self.wait_ready(timeout=90)
        bindir = pg_bindir()
        port = urllib.parse.urlsplit(self.admin_url).port or 5432
        run([str(bindir / "pg_isready"), "-h", HOST, "-p", str(port)], timeout=30)

    def destroy(self) -> None:
        self.ensure_running()


# --- gunicorn -------------------------------------------------------------------------------


def production_env(database_url: str, **extra) -> dict:
    """The production profile: DEBUG off, a generated secret, loopback host only, no SSL
    redirect (TLS would end at a proxy), connection reuse, INFO logging (so the log scan sees
    everything production would write)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "AXES_"))}
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=HOST,
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_CONN_MAX_AGE="60",
        DJANGO_LOG_LEVEL="INFO",
        # T8 and T12 race each pupil's tabs as fast as the server answers: no autosave limit (the
        # count still runs). The other limits stay as shipped (T9's 20 submits fit under 30/m).
        DJANGO_AUTOSAVE_RATE="100000/m",
        DATABASE_URL=database_url,
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


class Gunicorn:
    """gunicorn with sync workers on 127.0.0.1:<port>, its output appended to ``log_path``."""

    def __init__(self, *, env: dict, port: int, workers: int, log_path: Path):
        self.env, self.port, self.workers, self.log_path = env, port, workers, log_path
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def cmd(self) -> list[str]:
        return [
            str(VENV_BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--access-logfile",
            "-",
            "--name",
            "provenance-trust",
            # gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl by default: shared by
            # every instance of the user, so a second instance would take it over.
            "--no-control-socket",
        ]

    def start(self, *, timeout: float = 60.0) -> None:
        self.proc = spawn(self.cmd(), env=self.env, log_path=self.log_path)
        wait_http(self.port, timeout=timeout)
        deadline = time.monotonic() + timeout
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.1)

    @property
    def master_pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        return children_of(self.master_pid) if self.proc and self.proc.poll() is None else []

    def kill_worker(self) -> int | None:
        pids = self.worker_pids()
        if not pids:
            return None
        pid = random.choice(pids)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return pid

    def kill_master_and_restart(self) -> float:
        """kill -9 the master, then do what a supervisor (systemd, KillMode=control-group) does:
        kill what is left of the group and start gunicorn again. Returns seconds of downtime."""
        assert self.proc is not None
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.master_pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        stop(self.proc, grace=0)
        self.start()
        self.restarts += 1
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


def install_signal_handlers(cleanup) -> None:
    """Ctrl-C, a TERM from ``timeout`` or a hang-up still run ``cleanup``."""

    def handler(signum, frame):
        cleanup()
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, handler)
