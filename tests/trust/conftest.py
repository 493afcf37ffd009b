"""The reliability harness (trust/run.py) is slow (~5-7 minutes), starts gunicorn and a private
PostgreSQL cluster and kills them: it runs only when asked, with ``PROVENANCE_TRUST=1``
(``make trust``). Everywhere else, tests marked ``trust`` are skipped."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PROVENANCE_TRUST") == "1":
        return
    skip = pytest.mark.skip(reason="reliability harness: run with PROVENANCE_TRUST=1 (make trust)")
    for item in items:
        if "trust" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    from tests.trust import test_trust

    if test_trust.HARNESS_OUTPUT:
        terminalreporter.section("trust/run.py")
        terminalreporter.write(test_trust.HARNESS_OUTPUT)
