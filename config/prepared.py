"""Querysets compiled to SQL once per process, then run again with new values.

Building and compiling a queryset with joins, annotations and subqueries costs Django's ORM far
more CPU than the database spends running it: the workspace's assignment lookup takes about
2.1 ms to build and compile and 0.2 ms to run. For the few reads on the busiest page,
``PreparedQuery`` builds the queryset once with placeholder values, keeps its SQL and the
compiler's map from columns to model fields, and from then on only puts the new values in and
reads the rows into model instances exactly as the queryset would (``select_related`` and
annotations included, through Django's own ``ModelIterable``). The queryset stays the one
definition of the read; ``tests/test_prepared.py`` holds each prepared read to its queryset.

Limits, checked when the query is first compiled where they can be:

- every parameter is an integer (a primary key) that reaches the SQL only as a parameter, never
  None (None changes the SQL itself: ``IS NULL``) and never used to choose what the queryset
  does (``if student.is_student``);
- no ``prefetch_related`` (run a second prepared query instead) and plain model rows only (no
  ``values()``);
- the database is the default one (the project has one).
"""

import copy
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models import query as query_module
from django.db.models.query import ModelIterable

# Placeholder values no row has (ids are positive), far from any constant a queryset holds.
_PLACEHOLDER_BASE = -917_000_000


class _Compiled:
    __slots__ = ("model", "compiler", "sql", "params", "slots")

    def __init__(self, model, compiler, sql, params, slots):
        self.model, self.compiler, self.sql, self.params, self.slots = model, compiler, sql, params, slots


class _Rows:
    """What ``ModelIterable`` reads from a queryset, for one run of a compiled query: the
    compiler (with this run's SQL parameters) in place of the queryset's query."""

    _known_related_objects: dict = {}

    def __init__(self, model, db, compiler):
        self.model, self.db, self._compiler = model, db, compiler
        self.query = self
        # Read at run time, as QuerySet.__init__ does, so a changed default applies here too.
        self._fetch_mode = query_module.DEFAULT_FETCH_MODE

    def get_compiler(self, using=None, connection=None, elide_empty=True):
        return self._compiler


class PreparedQuery:
    """``PreparedQuery(build, "student_id", "pk")``: ``build(student_id=…, pk=…)`` returns the
    queryset; calling the prepared query with the same keywords returns its rows as a list."""

    def __init__(self, build: Callable[..., QuerySet], *names: str):
        self.build = build
        self.names = frozenset(names)
        self._compiled: _Compiled | None = None

    def _compile(self) -> _Compiled:
        placeholders = {name: _PLACEHOLDER_BASE - index for index, name in enumerate(sorted(self.names))}
        queryset = self.build(**placeholders)
        if queryset._prefetch_related_lookups or queryset._iterable_class is not ModelIterable:
            raise ImproperlyConfigured("A prepared query reads model rows without prefetch_related.")
        compiler = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        by_value = {value: name for name, value in placeholders.items()}
        slots = tuple(
            by_value.get(value) if type(value) is int else None  # noqa: E721 (bool is not a placeholder)
            for value in params
        )
        if set(slots) - {None} != self.names:
            missing = ", ".join(sorted(self.names - set(slots)))
            raise ImproperlyConfigured(f"Prepared query parameters not found in its SQL: {missing}.")
        return _Compiled(queryset.model, compiler, sql, tuple(params), slots)

    def __call__(self, **values: int) -> list[Model]:
        if values.keys() != self.names:
            raise TypeError(f"Expected exactly {sorted(self.names)}, got {sorted(values)}.")
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = self._compile()
        params = tuple(
            constant if slot is None else int(values[slot])
            for slot, constant in zip(compiled.slots, compiled.params, strict=True)
        )
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connections[DEFAULT_DB_ALIAS]  # this thread's connection
        compiler.as_sql = lambda *args, **kwargs: (compiled.sql, params)
        return list(ModelIterable(_Rows(compiled.model, DEFAULT_DB_ALIAS, compiler)))
