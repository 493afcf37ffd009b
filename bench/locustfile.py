"""Pupils working in the workspace (G7/G8), for ``bench/run.py``.

Each simulated pupil owns one draft answer (its own session, from ``BENCH_PUPILS``, minted by
``bench/prepare.py pupils``). It autosaves that answer every ``BENCH_SAVE_EVERY`` seconds, sending
the version it was last given, exactly as the workspace's script does, and opens the workspace
page once every ``BENCH_VIEW_EVERY`` saves. Start times are spread over one save interval so
the load is steady rather than a thundering herd, and each pupil keeps its own phase: its saves
are due at start + k × interval, whatever the replies take. (Locust's ``constant_pacing`` counts
from the moment the user was spawned, which undoes a random start: the users spawned in one
second would save in one clump every interval, and the server would see 60 connections in 30 ms
and a queue, not the steady class the goal describes.)

A save is a failure unless it answers 200 with a JSON version (a 409 conflict would mean the
client and server disagreed on the version: the pupil takes the server's version and carries on).
A page view is a failure unless it answers 200 (a redirect to the log-in page is a failure).
"""

import itertools
import json
import os
import random
import time
import urllib.parse

import gevent
from locust import FastHttpUser, task

PUPILS = json.loads(open(os.environ["BENCH_PUPILS"]).read())  # noqa: SIM115
SAVE_EVERY = float(os.environ.get("BENCH_SAVE_EVERY", "10"))
VIEW_EVERY = int(os.environ.get("BENCH_VIEW_EVERY", "6"))
_next_pupil = itertools.count()


class Pupil(FastHttpUser):
    def wait_time(self):
        """Until this pupil's next save is due (its own fixed schedule)."""
        self.due += SAVE_EVERY
        return max(0.0, self.due - time.monotonic())

    def on_start(self):
        self.me = PUPILS[next(_next_pupil) % len(PUPILS)]
        self.version = self.me["version"]
        self.turn = random.randrange(VIEW_EVERY)
        self.headers = {
            "Cookie": self.me["cookie"],
            "X-CSRFToken": self.me["csrf"],
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        self.page_headers = {"Cookie": self.me["cookie"]}
        gevent.sleep(random.uniform(0, SAVE_EVERY))
        self.due = time.monotonic()

    @task
    def work(self):
        if self.turn % VIEW_EVERY == 0:
            self.view()
        self.turn += 1
        self.save()

    def view(self):
        with self.client.get(
            self.me["page"],
            headers=self.page_headers,
            name="workspace",
            allow_redirects=False,
            catch_response=True,
        ) as reply:
            if reply.status_code != 200:
                reply.failure(f"workspace answered {reply.status_code}")

    def save(self):
        body = urllib.parse.urlencode({"text": self.me["text"], "version": self.version})
        with self.client.post(
            self.me["save"], data=body, headers=self.headers, name="autosave", catch_response=True
        ) as reply:
            try:
                payload = json.loads(reply.content or b"{}")
            except ValueError:
                payload = {}
            if "version" in payload:
                self.version = payload["version"]
            if reply.status_code != 200:
                reply.failure(f"autosave answered {reply.status_code} {payload.get('error', '')}")
