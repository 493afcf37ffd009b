"""Shared pieces of the benchmark and scale-out scripts: the reliability harness's HTTP client
(``trust/common.py``) with the bench password, process control with hard timeouts, and facts
about the machine.

Standard library at import time (psycopg and psutil are imported by the functions that need
them), so ``bench/scaleout.py`` can import it before the ``bench`` extra is installed.
Every request goes to a loopback address (127.0.0.0/8); anything else is refused.
"""

import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
OUT = Path(os.environ.get("BENCH_WORK_DIR", "/tmp/provenance-bench"))
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_PASSWORD = "bench-pass-1917"  # seed_bench's shared password (bench data only)

# The HTTP client, log line and loopback guard are the reliability harness's (trust/common.py).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
import trust.common  # noqa: E402
from trust.common import (  # noqa: E402, F401  (re-exported to the scripts)
    install_signal_handlers,
    log,
    require_loopback,
    run,
    spawn,
    stop,
    stop_all,
    wait_http,
)

# --- HTTP -----------------------------------------------------------------------------------


class Client(trust.common.Client):
    """The reliability harness's browser-like client (cookies kept, ``Secure``/``__Host-`` ones
    included, since the benchmark talks plain HTTP to loopback as a TLS-terminating proxy would;
    CSRF token sent on POSTs; redirects not followed), logging in with the bench password."""

    user_agent = "provenance-bench"

    def __init__(self, host: str, port: int, *, timeout: float = 15.0, source: str | None = None):
        super().__init__(host, port, timeout=timeout, source=source)

    def login_or_die(self, username: str, password: str = BENCH_PASSWORD, attempts: int = 3) -> "Client":
        for attempt in range(attempts):
            reply = self.login(username, password)
            if reply.status == 302 and self.cookie_named("sessionid"):
                return self
            time.sleep(1 + attempt)
        errors = re.findall(r'class="errorlist[^"]*"[^>]*>\s*<li>([^<]*)', reply.text)
        raise RuntimeError(f"log-in as {username} failed: {reply.status} {errors or reply.text[:200]!r}")


def free_port(host: str, preferred: int) -> int:
    """``preferred`` if nothing listens there (other people's servers share this machine),
    else a port the system picks."""
    import socket

    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port on {host}")


# --- Processes ------------------------------------------------------------------------------


def drain(host: str, port: int, timeout: float = 30.0) -> None:
    """Wait until the server has finished what the last load run left queued (the load tool
    stops sending, but gunicorn still answers every request already accepted), so no run pays
    for the previous one: /healthz must answer quickly three times in a row."""
    deadline = time.monotonic() + timeout
    quick = 0
    while quick < 3 and time.monotonic() < deadline:
        began = time.monotonic()
        try:
            Client(host, port, timeout=timeout).get("/healthz")
        except OSError:
            time.sleep(0.2)
            continue
        quick = quick + 1 if time.monotonic() - began < 0.05 else 0
    time.sleep(0.2)


def answer_versions(database_url: str, ids: list[int]) -> dict[int, int]:
    """Current versions of these answers, straight from the database (a save in flight when the
    last load run stopped has landed by now, so the next run starts from the right version)."""
    import psycopg

    with psycopg.connect(database_url, connect_timeout=10) as conn:
        return dict(conn.execute("SELECT id, version FROM analysis_response WHERE id = ANY(%s)", [ids]))


def write_wrk_data(path: Path, rows: list[dict]) -> Path:
    """A Lua data file for the wrk scripts: ``return { {key = "value", …, version = n}, … }``.
    Every value but ``version`` is written as a JSON string (valid Lua string syntax)."""
    entries = []
    for row in rows:
        fields = ", ".join(f"{key} = {json.dumps(value)}" for key, value in row.items() if key != "version")
        entries.append(f"  {{ {fields}, version = {int(row['version'])} }}")
    path.write_text("return {\n" + ",\n".join(entries) + "\n}\n")
    return path


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants, including
    the children it has already reaped (a gunicorn worker that was replaced). Needs psutil (the
    ``bench`` extra); 0 once the process is gone."""
    import psutil

    try:
        root = psutil.Process(pid)
        times = root.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
        return total
    except psutil.NoSuchProcess:
        return 0.0


def gunicorn_cmd(bind: str, *, workers: int, instance: str = "") -> list[str]:
    """gunicorn with the production worker class. ``--no-control-socket``: gunicorn 27 otherwise
    opens a control socket at one fixed path (``~/.gunicorn/gunicorn.ctl``), which every server
    started here at the same time would share; nothing here uses it."""
    return [
        str(VENV_BIN / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "30",
        "--graceful-timeout",
        "5",
        "--name",
        f"provenance-{instance or bind}",
        "--no-control-socket",
    ]


def production_env(database_url: str, *, secret: str | None = None, **extra) -> dict:
    """The production profile: DEBUG off, a generated secret, loopback hosts, no SSL redirect
    (TLS would end at the proxy), connection reuse; whatever ``extra`` overrides."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secret or secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,127.0.0.2,127.0.0.3,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_CONN_MAX_AGE="60",
        DJANGO_LOG_LEVEL="WARNING",
        # A save's cost at full throughput, not the pupil limit (the limiter's increment still runs).
        DJANGO_AUTOSAVE_RATE="100000/m",
        DJANGO_WORK_WRITE_RATE="100000/m",
        DJANGO_SUBMIT_RATE="100000/m",
        DATABASE_URL=database_url,
        PYTHONUNBUFFERED="1",
    )
    env.pop("REDIS_URL", None)
    env.update({key: str(value) for key, value in extra.items()})
    return env


# --- PostgreSQL -----------------------------------------------------------------------------


def ensure_database(name: str) -> str:
    """Create the database if it is missing; return its URL."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(PG_ADMIN_URL)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_version() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, connect_timeout=10) as conn:
        return conn.execute("SELECT version()").fetchone()[0]


# --- Machine --------------------------------------------------------------------------------


def machine_info() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    info = {
        "cpu_model": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": "",
        "wrk": "",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    try:
        info["postgres"] = postgres_version()
    except Exception as error:  # noqa: BLE001 - facts only; never fail the run for them
        info["postgres"] = f"unknown ({error})"
    if shutil.which("wrk"):
        info["wrk"] = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0][
            :60
        ]
    return info
