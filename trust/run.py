"""Reliability harness: docs/quality.md T8 (lost writes), T9 (idempotent submit), T12 (crash during
load, kill -9 of the import) and the T13 log scan, against real gunicorn and PostgreSQL.

    .venv/bin/python trust/run.py                 # everything, ~5-7 minutes
    .venv/bin/python trust/run.py --only t8,t9    # a part
    make trust                                    # the pytest wrappers in tests/trust/

What it does:
1. PostgreSQL: by default a private throw-away cluster (initdb in a temporary folder, a free
   loopback port, the installed server binaries, durable defaults checked with SHOW), so that
   crashing it disturbs nothing else. ``--cluster main`` uses the machine's cluster instead
   (``pg_ctlcluster``; database ``provenance_trust``): it is then stopped in immediate mode
   too, and always started again at the end.
2. migrate, collectstatic, seed (trust/seed.py: pupils sharing one password, audit triggers).
3. gunicorn, 4 sync workers, production settings (DJANGO_DEBUG=0, generated secret,
   DJANGO_ALLOWED_HOSTS=127.0.0.1, no SSL redirect), access log on, output captured.
4. T8, T9 (trust/load.py), T12 and the import kill (trust/crash.py).
5. T13: gunicorn's output, the import's output and the private cluster's log are searched
   for the answer marker and the password.
6. A summary table; trust/results.json; exit status 0 only if every check passed.

Everything stops by itself: every subprocess, request, thread and phase has a timeout, a
watchdog ends the run after ``--budget`` seconds, and gunicorn's process group and the
private cluster are removed on every exit path. Traffic goes to 127.0.0.1 only.
"""

import argparse
import contextlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trust.common import (  # noqa: E402
    MARKER,
    PYTHON,
    ROOT,
    Gunicorn,
    MainCluster,
    PrivateCluster,
    free_port,
    install_signal_handlers,
    log,
    production_env,
    run,
    stop_all,
    tree_cpu_seconds,
)

RESULTS = ROOT / "trust" / "results.json"
DBNAME = f"provenance_trust_{os.getpid()}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="t8,t9,t12,import", help="comma-separated: t8,t9,t12,import")
    parser.add_argument("--cluster", choices=("private", "main"), default="private")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("TRUST_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="with --cluster main: how to reach it",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--students", type=int, default=50, help="T8: pupils, one answer each")
    parser.add_argument("--tabs", type=int, default=4, help="T8: tabs per answer")
    parser.add_argument("--saves", type=int, default=50, help="T8: saves per tab")
    parser.add_argument("--t8-budget", type=float, default=240.0, help="T8: stop sending after this")
    parser.add_argument("--submits", type=int, default=20, help="T9: parallel submit POSTs")
    parser.add_argument("--racers", type=int, default=4, help="T9: pupils whose submit races autosaves")
    parser.add_argument("--t12-writers", type=int, default=20)
    parser.add_argument("--t12-saves", type=int, default=3000)
    parser.add_argument("--t12-duration", type=float, default=90.0)
    parser.add_argument("--import-sources", type=int, default=50)
    parser.add_argument("--import-passages", type=int, default=20)
    parser.add_argument("--budget", type=float, default=540.0, help="watchdog: whole run, seconds")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) afterwards")
    return parser.parse_args(argv)


# --- Log scan (T13) ---------------------------------------------------------------------------


def scan_logs(paths: list[Path], needles: dict[str, str]) -> dict:
    """Count lines containing each needle; keep the first few hits, with the needle redacted."""
    hits = dict.fromkeys(needles, 0)
    samples = []
    lines = 0
    tracebacks = 0
    scanned = []
    for path in paths:
        if not path.exists():
            continue
        scanned.append(str(path))
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                lines += 1
                tracebacks += line.startswith("Traceback")
                for name, needle in needles.items():
                    if needle in line:
                        hits[name] += 1
                        if len(samples) < 5:
                            samples.append(
                                f"{path.name}: {line.strip()[:200].replace(needle, '<' + name + '>')}"
                            )
    return {"files": scanned, "lines": lines, "hits": hits, "samples": samples, "tracebacks": tracebacks}


def count_in_log(path: Path, needle: str, start: int = 0) -> int:
    if not path or not path.exists():
        return 0
    with path.open("rb") as handle:
        handle.seek(start)
        return handle.read().decode("utf-8", "replace").count(needle)


def log_size(path: Path | None) -> int:
    return path.stat().st_size if path and path.exists() else 0


# --- Checks and summary -----------------------------------------------------------------------


def check(checks: list, name: str, ok: bool, value) -> None:
    checks.append({"check": name, "ok": bool(ok), "value": value})


def build_checks(results: dict) -> list[dict]:
    checks: list[dict] = []
    t8 = results.get("t8")
    if t8:
        check(checks, "T8 lost writes = 0", t8["lost_writes"] == 0, t8["lost_writes"])
        check(checks, "T8 5xx = 0", t8["status_5xx"] == 0, t8["status_5xx"])
        check(checks, "T8 requests without an answer = 0", t8["no_answer"] == 0, t8["no_answer"])
        check(checks, "T8 deadlocks = 0", t8["deadlocks"] == 0, t8["deadlocks"])
        check(
            checks,
            "T8 every stale write 409 (no 200 off a stale base, no 409 off a current one)",
            t8["acks_not_base_plus_one"] == 0
            and t8["conflicts_not_stale"] == 0
            and t8["version_chain_breaks"] == 0,
            [t8["acks_not_base_plus_one"], t8["conflicts_not_stale"], t8["version_chain_breaks"]],
        )
        check(
            checks,
            "T8 every committed save acknowledged",
            t8["unacknowledged_commits"] == 0,
            t8["unacknowledged_commits"],
        )
        check(checks, "T8 all planned saves sent", t8["saves_sent"] == t8["planned_saves"], t8["saves_sent"])
        check(checks, "T8 tabs really raced (some 409s)", t8["conflicts_409"] > 0, t8["conflicts_409"])
        check(
            checks,
            "T8 save n after save n+1 refused; over-long save 422, nothing stored",
            t8["reorder_failures"] == 0,
            t8["reorder"],
        )
        refused = (
            t8["conflicts_409"]
            + t8["closed_409"]
            + sum(1 for c in t8["reorder"] for status in c["statuses"] if status == 409)
        )
        check(
            checks,
            "T13 one structured log record per 409 (T8)",
            t8["security_records_409"] == refused,
            [t8["security_records_409"], refused],
        )
    t9 = results.get("t9")
    if t9:
        check(
            checks,
            "T9 all submit cases pass",
            t9["failures"] == 0,
            [c["case"] for c in t9["cases"] if not c["ok"]],
        )
        check(checks, "T9 5xx = 0", t9["status_5xx"] == 0, t9["status_5xx"])
    t12 = results.get("t12")
    if t12:
        durable = all(
            t12["durability"].get(k) == "on" for k in ("fsync", "synchronous_commit", "full_page_writes")
        )
        check(checks, "T12 fsync, synchronous_commit, full_page_writes on", durable, t12["durability"])
        check(
            checks,
            "T12 chaos happened (worker kills, master restart, PostgreSQL restart)",
            t12["worker_kills"] >= 5
            and t12["master_restarts"] == 1
            and t12["postgres_restarts"] == 1
            and not t12["chaos_errors"],
            [t12["worker_kills"], t12["master_restarts"], t12["postgres_restarts"], t12["chaos_errors"]],
        )
        check(checks, "T12 lost acknowledged saves = 0", t12["lost_writes"] == 0, t12["lost_detail"])
        check(
            checks,
            "T12 final text = last acknowledged, versions monotonic",
            t12["final_is_last_acknowledged"] == t12["writers"]
            and t12["version_chain_breaks"] == 0
            and t12["anomaly_count"] == 0,
            [t12["final_is_last_acknowledged"], t12["version_chain_breaks"], t12["anomalies"]],
        )
        check(checks, "T12 deadlocks logged = 0", t12["deadlocks_logged"] == 0, t12["deadlocks_logged"])
        check(
            checks,
            "T12 duplicate submissions = 0",
            t12["duplicate_submissions"] == 0,
            t12["duplicate_submissions"],
        )
        check(
            checks,
            "T12 every pupil submitted once, receipt = last acknowledged text, later save refused",
            t12["submitted"] == t12["receipts_ok"] == t12["saves_after_submit_refused"] == t12["writers"],
            [t12["submitted"], t12["receipts_ok"], t12["saves_after_submit_refused"]],
        )
        check(
            checks,
            "T12 every save's outcome became known",
            t12["unresolved_saves"] == 0,
            t12["unresolved_saves"],
        )
    imp = results.get("import")
    if imp:
        check(
            checks, "T12 import killed mid-write", imp["killed_mid_write"], imp["killed_after_write_began_s"]
        )
        check(checks, "T12 import kill left 0 partial rows", imp["partial_rows"] == 0, imp["partial_rows"])
        check(
            checks,
            "T12 import rerun succeeds, whole pack present",
            imp["rerun_exit"] == 0 and imp["rerun_rows_ok"],
            [imp["rerun_exit"], imp["rerun_rows_ok"]],
        )
    logs = results.get("logs")
    if logs:
        check(checks, "T13 answer marker in logs = 0", logs["hits"]["answer marker"] == 0, logs["hits"])
        check(checks, "T13 password in logs = 0", logs["hits"]["password"] == 0, logs["samples"])
    if results.get("error"):
        check(checks, "harness ran to the end", False, results["error"])
    return checks


def fmt(value, unit=""):
    if value is None:
        return "-"
    return f"{value}{unit}"


def print_summary(results: dict, path: Path = RESULTS) -> None:
    header = ("run", "sent", "acked", "409", "5xx", "no answer", "lost", "duration", "p50", "p95")
    rows = []
    for key, label in (("t8", "T8 lost writes"), ("t12", "T12 crash load")):
        r = results.get(key)
        if r:
            rows.append(
                (
                    label,
                    r["saves_sent"],
                    r["acknowledged"],
                    r["conflicts_409"] + r["closed_409"],
                    r["status_5xx"],
                    r["no_answer"],
                    r["lost_writes"],
                    fmt(r["duration_s"], " s"),
                    fmt(r["p50_ms"], " ms"),
                    fmt(r["p95_ms"], " ms"),
                )
            )
    t9 = results.get("t9")
    if t9:
        posts = sum(c["posts"] for c in t9["cases"])
        rows.append(
            ("T9 submits", posts, "-", "-", t9["status_5xx"], "-", "-", fmt(t9["duration_s"], " s"), "-", "-")
        )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print()
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    print()
    for item in results["checks"]:
        value = json.dumps(item["value"], default=str)
        print(f"{'PASS' if item['ok'] else 'FAIL'}  {item['check']}  ({value[:150]})")
    print(f"\n{'ALL PASSED' if results['passed'] else 'FAILED'} in {results['duration_s']} s; {path}")


# --- Main -------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    workdir = Path(tempfile.mkdtemp(prefix="provenance-trust-"))
    os.chmod(workdir, 0o755)  # the private cluster runs as the postgres user
    cluster = PrivateCluster(workdir) if args.cluster == "private" else MainCluster(args.pg_admin_url)
    password = f"Trust-{secrets.token_urlsafe(12)}"
    gunicorn_log = workdir / "gunicorn.log"
    results: dict = {
        "config": {
            "cluster": args.cluster,
            "workers": args.workers,
            "only": sorted(only),
            "settings": "config.settings, DJANGO_DEBUG=0, DJANGO_SECURE_SSL_REDIRECT=0, "
            "DJANGO_ALLOWED_HOSTS=127.0.0.1, db sessions, CONN_MAX_AGE=60",
        },
        "machine": {"cores": os.cpu_count(), "load_before": os.getloadavg()[0]},
    }
    started = time.monotonic()
    server: Gunicorn | None = None
    # Whoever gets here first (the main thread, a signal handler, the watchdog) cleans up; any
    # other caller waits until it is done, so the process never exits half-way through it.
    cleanup_lock = threading.RLock()
    cleaned = threading.Event()
    finished = threading.Lock()
    written = threading.Event()

    def cleanup():
        with cleanup_lock:
            if not cleaned.is_set():
                cleaned.set()
                _cleanup()

    def _cleanup():
        with contextlib.suppress(Exception):
            if server is not None:
                server.stop()
        with contextlib.suppress(Exception):
            stop_all()
        try:
            cluster.ensure_running()  # the main cluster must be up again whatever happened
        except Exception as error:  # noqa: BLE001
            log(f"PostgreSQL could not be started again: {error}")
        with contextlib.suppress(Exception):
            if args.cluster == "main":
                cluster.drop_database(DBNAME)
        with contextlib.suppress(Exception):
            if isinstance(cluster, PrivateCluster):
                cluster.destroy()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    def finish() -> bool:
        """Write trust/results.json and print the summary, once; a second caller waits."""
        if not finished.acquire(blocking=False):
            written.wait(timeout=60)
            return bool(results.get("passed"))
        try:
            results["duration_s"] = round(time.monotonic() - started, 1)
            results["checks"] = build_checks(results)
            results["passed"] = bool(results["checks"]) and all(item["ok"] for item in results["checks"])
            args.results.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
            print_summary(results, args.results)
        finally:
            written.set()
        return results["passed"]

    def watchdog():
        log(f"watchdog: the run exceeded {args.budget:.0f} s; stopping everything")
        results["error"] = f"stopped by the watchdog after {args.budget:.0f} s"
        cleanup()
        with contextlib.suppress(Exception):
            finish()
        os._exit(3)

    timer = threading.Timer(args.budget, watchdog)
    timer.daemon = True
    timer.start()
    install_signal_handlers(cleanup)
    interrupted: BaseException | None = None
    try:
        log(f"PostgreSQL: {cluster.description}")
        cluster.start()
        results["postgres"] = {"durability": cluster.durability_settings(), "cluster": cluster.description}
        db_url = cluster.create_database(DBNAME)
        env = production_env(db_url)
        log("migrate, collectstatic, seed")
        run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], timeout=300, env=env)
        run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], timeout=180, env=env)
        groups = [
            {"name": "t8", "students": args.students, "questions": 1},
            {"name": "t9", "students": 1, "questions": 3},
            {"name": "t9fresh", "students": 1, "questions": 3, "start": False},
            {"name": "t9race", "students": args.racers, "questions": 2},
            {"name": "t12", "students": args.t12_writers, "questions": 1},
        ]
        _, output = run(
            [PYTHON, "trust/seed.py", json.dumps(groups)],
            timeout=300,
            env={**env, "TRUST_PASSWORD": password},
        )
        seeded = json.loads(output.strip().splitlines()[-1])
        port = free_port()
        server = Gunicorn(env=env, port=port, workers=args.workers, log_path=gunicorn_log)
        server.start()
        log(f"gunicorn on 127.0.0.1:{port}, {args.workers} sync workers (pid {server.master_pid})")

        from trust.crash import run_import_kill, run_t12
        from trust.load import run_t8, run_t9

        if "t8" in only:
            with cluster.connect(DBNAME, autocommit=True) as conn:
                deadlocks = _deadlocks(conn)
                offset = log_size(gunicorn_log), log_size(cluster.log_path)
                results["t8"] = run_t8(
                    port=port,
                    group=seeded["t8"],
                    password=password,
                    conn=conn,
                    tabs=args.tabs,
                    saves=args.saves,
                    budget=args.t8_budget,
                    cpu_probe=lambda: _cpu(server, cluster),
                )
                time.sleep(1.5)  # statistics reach pg_stat_database within a second
                results["t8"]["deadlocks"] = (
                    _deadlocks(conn)
                    - deadlocks
                    + count_in_log(gunicorn_log, "deadlock detected", offset[0])
                    + count_in_log(cluster.log_path, "deadlock detected", offset[1])
                )
                results["t8"]["load_average_after"] = round(os.getloadavg()[0], 2)
                results["t8"]["security_records_409"] = count_in_log(gunicorn_log, '"status": 409', offset[0])
                results["t8"]["worker_timeouts"] = count_in_log(gunicorn_log, "WORKER TIMEOUT", offset[0])
            log(f"T8 done: {_brief(results['t8'])}")
        if "t9" in only:
            with cluster.connect(DBNAME, autocommit=True) as conn:
                results["t9"] = run_t9(
                    port=port,
                    groups=seeded,
                    password=password,
                    conn=conn,
                    submits=args.submits,
                    racers=args.racers,
                )
            log(f"T9 done: {results['t9']['failures']} failing case(s)")
        if "t12" in only:
            offset = log_size(gunicorn_log), log_size(cluster.log_path)
            results["t12"] = run_t12(
                server=server,
                cluster=cluster,
                dbname=DBNAME,
                group=seeded["t12"],
                password=password,
                duration=args.t12_duration,
                saves=args.t12_saves,
            )
            results["t12"]["deadlocks_logged"] = count_in_log(
                gunicorn_log, "deadlock detected", offset[0]
            ) + count_in_log(cluster.log_path, "deadlock detected", offset[1])
            log(f"T12 done: {_brief(results['t12'])}")
        server.stop()
        if "import" in only:
            results["import"] = run_import_kill(
                env=env,
                cluster=cluster,
                dbname=DBNAME,
                workdir=workdir,
                sources=args.import_sources,
                passages=args.import_passages,
            )
        logs = [gunicorn_log, workdir / "import.log"]
        if cluster.log_path:
            logs.append(cluster.log_path)
        results["logs"] = scan_logs(logs, {"answer marker": MARKER, "password": password})
    except Exception as error:  # noqa: BLE001 - reported as a failed check, after cleaning up
        import traceback

        traceback.print_exc()
        results.setdefault("error", f"{type(error).__name__}: {error}")
    except (SystemExit, KeyboardInterrupt) as stopped:  # a signal: clean up, report, exit
        results.setdefault("error", f"interrupted ({type(stopped).__name__} {getattr(stopped, 'code', '')})")
        interrupted = stopped
    finally:
        timer.cancel()
        if args.keep:
            log(f"logs kept in {workdir}")
        cleanup()
    passed = finish()
    if interrupted is not None:
        raise interrupted
    return 0 if passed else 1


def _cpu(server: Gunicorn, cluster) -> dict[str, float]:
    """CPU seconds so far: gunicorn (master and workers), PostgreSQL (private cluster only),
    this harness (the load generator)."""
    postmaster = cluster.postmaster_pid()
    return {
        "gunicorn": tree_cpu_seconds(server.master_pid),
        "postgres": tree_cpu_seconds(postmaster) if postmaster else 0.0,
        "load_generator": time.process_time(),
    }


def _deadlocks(conn) -> int:
    row = conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0] or 0)


def _brief(r: dict) -> str:
    return (
        f"sent {r['saves_sent']}, acked {r['acknowledged']}, 409 {r['conflicts_409']}, "
        f"5xx {r['status_5xx']}, no answer {r['no_answer']}, lost {r['lost_writes']}, {r['duration_s']} s"
        + (f" (CPU-bound: {r['cpu_bound_duration_s']} s)" if r.get("cpu_bound_duration_s") else "")
        + f", p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
