"""Running the background worker inside a test."""

import io
from unittest import mock

from django.core.management import call_command


def run_worker() -> None:
    """Run every queued task now, as ``manage.py db_worker`` would, then return.

    Between tasks the worker closes database connections it takes for stale
    (``close_old_connections``). Inside a test's transaction the connection is not in autocommit, so
    on PostgreSQL that would close the test's own connection under it; that one step is skipped
    here. Everything else is the real worker: the queue, claiming, running, results and retries.
    """
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO(), stderr=io.StringIO())
