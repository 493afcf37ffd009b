"""Reliability harness (docs/quality.md T8, T9, T12, T13): real gunicorn, real PostgreSQL, real crashes.

Run it with ``make trust`` or ``.venv/bin/python trust/run.py``; see ``trust/run.py``.
"""
