"""Source packs: the YAML format site admins use to load and save sources,
mark schemes and exercises (the format: docs/source-packs.md).

Three steps, kept apart so each is easy to read:

1. **Parse** the bytes into a YAML node tree (never into Python objects
   directly), so that every value keeps the line it came from. Anchors and
   aliases are refused (no billion laughs), as are files over
   ``settings.SOURCE_PACK_MAX_BYTES`` (before parsing), bytes that are not
   UTF-8 (a UTF-8 byte-order mark is allowed and stripped), empty files and
   anything but a mapping at the top.
2. **Check** the tree against the declarative schema below (one walker, one
   table of fields), then the rules that span records (duplicate slugs, mark
   bands, references to sources and mark schemes in the pack or the library).
   Every problem is collected as a :class:`PackError`; none stops the check.
3. **Write** inside one transaction: sources, mark schemes and exercises are
   updated by slug; passages, glossary terms, levels, exercise sources and
   questions are matched by their position in their list, updated in place,
   extra ones added and missing ones deleted. Deleting (or rewording) what
   students' work points at is reported as an error, and any error rolls the
   whole file back.

Decisions worth knowing:

* A pack may hold only mark schemes or only exercises: an exercise may use
  sources and mark schemes that are already in the library.
* A corroboration question may name a ``source`` (the one it asks about) as
  long as it is one of the exercise's sources; it needs an exercise with at
  least two sources. A reliability question may leave out ``source`` when the
  exercise has two or more sources (it then concerns all of them). Origin and
  purpose questions must name a source; a reading question may.
* Mark-scheme levels are numbered 1..n, or 0..n when the first is a Level 0
  with the band 0–0 ("no creditable response").
* ``hints`` are meant as two tiers (a nudge, then a stronger pointer); older
  packs with one, three or more still import, revealed one at a time.
* ``checks`` name what the pupil's self-check looks for, from a fixed list
  (``SelfCheck``); without them the question's stage decides.
* Older packs' ``provenance`` imports as ``teacher_notes``; export writes only
  the current keys.
* A passage quoted in students' evidence may be reworded only if every
  quotation is still found at the same offsets; otherwise the import is refused.
* Visual sources (docs/visual-sources.md): a source may name an ``image`` carried in a
  ``.zip`` pack beside ``pack.yaml`` (``images/<file>``), with ``alt_text``, ``transcription``
  and ``regions`` (fractions of the image). The zip is checked before anything is read (size,
  number of files, names, symlinks, uncompressed sizes) and every image goes through the same
  checks as a teacher's upload (``analysis.studio.images``). An image is re-encoded and stored
  on its first import; re-importing the same bytes (or bytes that re-encode to what is stored)
  leaves it alone, so export → import → export is byte-identical.
* Export writes keys in the documented order, omits empty optional keys and
  writes multi-line text as block scalars (``|``/``|-``/``|+``) unless only a
  double-quoted string can hold it exactly, so text round-trips byte for byte.
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import io
import re
import stat
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from analysis.library.models import COMMON_TOP
from analysis.models import (
    SLUG_REGEX,
    Background,
    Evidence,
    Exercise,
    ExerciseSource,
    GlossaryTerm,
    Level,
    MarkScheme,
    Passage,
    Question,
    Region,
    Response,
    SelfCheck,
    Source,
    Stage,
)
from analysis.studio.images import ImageRejected, image_check, image_discard, image_store

UTF8_BOM = b"\xef\xbb\xbf"
MAX_MARKS = 100
STAGES_NEEDING_SOURCE = (Stage.ORIGIN, Stage.PURPOSE, Stage.RELIABILITY)
# A reliability question may instead concern every source of an exercise that has two or more.
STAGES_ACROSS_SOURCES = (Stage.CORROBORATION, Stage.RELIABILITY)
# The format asks for two tiers of hints (a nudge, then a stronger pointer); older packs with
# more still import, and pupils reveal them one at a time either way.
HINT_TIERS = 2

# --- Errors --------------------------------------------------------------------


@dataclass(frozen=True)
class PackError:
    """One problem in a pack, located as precisely as the parser allows."""

    file: str
    line: int | None
    field: str
    message: str
    column: int | None = None

    def __str__(self):
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class PackInvalid(Exception):
    """The pack was refused; nothing was written. ``errors`` lists every problem found."""

    def __init__(self, errors: list[PackError]):
        self.errors = sorted(errors, key=lambda error: (error.line or 0, error.column or 0))
        super().__init__("\n".join(str(error) for error in self.errors))


class UnknownSlugs(LookupError):
    """Export was asked for slugs that are not in the library."""

    def __init__(self, missing: list[str]):
        self.missing = missing
        super().__init__(_("Not in the library: %(slugs)s") % {"slugs": ", ".join(missing)})


# --- Whose space -----------------------------------------------------------------
# ``owner=None`` is the site library (admins' imports and exports); a teacher's import or
# export works in that teacher's own items and can only ever create or update those. Items a
# pack refers to without defining them are looked up in the owner's space, then the site library.


def _in_space(queryset, owner):
    return queryset.filter(owner__isnull=True) if owner is None else queryset.filter(owner=owner)


def _referable(queryset, owner, slugs) -> dict:
    """Items a pack may refer to by slug: the owner's own first, then the site library's."""
    found = {item.slug: item for item in queryset.filter(owner__isnull=True, slug__in=slugs)}
    if owner is not None:
        found.update({item.slug: item for item in queryset.filter(owner=owner, slug__in=slugs)})
    return found


# --- Schema --------------------------------------------------------------------

# Kinds of value. TEXTS and SLUGS are lists of them; LIST is a list of mappings.
TEXT, SLUG, INT, DATE, STAGE, FRACTION, CHECK = "text", "slug", "int", "date", "stage", "fraction", "check"
TEXTS, SLUGS, CHECKS, LIST = "texts", "slugs", "checks", "list"


@dataclass(frozen=True)
class Field:
    kind: str
    required: bool = False
    max_length: int | None = None
    low: int | None = None
    high: int | None = None
    schema: dict[str, Field] | None = None  # for LIST: the schema of each item
    attr: str | None = None  # the model attribute, when it is not the key itself
    legacy: bool = False  # an older name for another key: read on import, never written


def _max_length(model, name: str) -> int | None:
    return model._meta.get_field(name).max_length


def _text(model, name, *, required=False, attr=None) -> Field:
    return Field(TEXT, required=required, max_length=_max_length(model, attr or name), attr=attr)


PASSAGE = {
    "label": _text(Passage, "label", required=True),
    "text": _text(Passage, "text", required=True),
    "modified": _text(Passage, "modified"),
}
GLOSSARY_TERM = {
    "term": _text(GlossaryTerm, "term", required=True),
    "definition": _text(GlossaryTerm, "definition", required=True),
}
REGION = {
    "label": _text(Region, "label", required=True),
    "x": Field(FRACTION, required=True),
    "y": Field(FRACTION, required=True),
    "w": Field(FRACTION, required=True),
    "h": Field(FRACTION, required=True),
}
SOURCE = {
    "slug": Field(SLUG, required=True, max_length=_max_length(Source, "slug")),
    "title": _text(Source, "title", required=True),
    "author": _text(Source, "author", required=True),
    "date": _text(Source, "date", required=True, attr="date_text"),
    "sort_date": Field(DATE),
    "publication": _text(Source, "publication", required=True),
    "kind": _text(Source, "kind", required=True),
    "audience": _text(Source, "audience"),
    "caption": _text(Source, "caption"),
    "context": _text(Source, "context"),
    "teacher_notes": _text(Source, "teacher_notes"),
    "citation": _text(Source, "citation"),
    "rights": _text(Source, "rights"),
    "translation": _text(Source, "translation"),
    "image": Field(TEXT, max_length=200),  # a file in the .zip pack: images/<name>
    "alt_text": _text(Source, "alt_text"),
    "transcription": _text(Source, "transcription"),
    # Older packs called the teachers' notes "provenance" (pupils saw it as "About this text").
    "provenance": Field(TEXT, max_length=None, attr="teacher_notes", legacy=True),
    # Required unless the source has an image (checked in _check_sources).
    "passages": Field(LIST, schema=PASSAGE),
    "glossary": Field(LIST, schema=GLOSSARY_TERM),
    "regions": Field(LIST, schema=REGION),
}
LEVEL = {
    "level": Field(INT, required=True, low=0, high=MAX_MARKS, attr="number"),
    "min": Field(INT, required=True, low=0, high=MAX_MARKS, attr="min_marks"),
    "max": Field(INT, required=True, low=0, high=MAX_MARKS, attr="max_marks"),
    "descriptor": _text(Level, "descriptor", required=True),
    # Where the level sits on the common 0–4 scale (docs/skills.md); omitted: proportional.
    "common_level": Field(INT, low=0, high=COMMON_TOP),
}
MARK_SCHEME = {
    "slug": Field(SLUG, required=True, max_length=_max_length(MarkScheme, "slug")),
    "name": _text(MarkScheme, "name", required=True),
    "objective": _text(MarkScheme, "objective"),
    "levels": Field(LIST, required=True, schema=LEVEL),
}
TIMELINE_ENTRY = {
    "date": Field(TEXT, required=True, max_length=200),
    "event": Field(TEXT, required=True, max_length=2000),
}
PERSON = {
    "name": Field(TEXT, required=True, max_length=200),
    "role": Field(TEXT, required=True, max_length=2000),
}
BACKGROUND = {
    "slug": Field(SLUG, required=True, max_length=_max_length(Background, "slug")),
    "title": _text(Background, "title", required=True),
    "timeline": Field(LIST, schema=TIMELINE_ENTRY),
    "people": Field(LIST, schema=PERSON),
}
QUESTION = {
    "stage": Field(STAGE, required=True),
    "source": Field(SLUG, max_length=_max_length(Source, "slug")),
    "prompt": _text(Question, "prompt", required=True),
    "max_marks": Field(INT, required=True, low=1, high=MAX_MARKS),
    "mark_scheme": Field(SLUG, max_length=_max_length(MarkScheme, "slug")),
    "hints": Field(TEXTS),
    "sentence_starters": Field(TEXTS),
    "indicative_content": _text(Question, "indicative_content"),
    "model_answer": _text(Question, "model_answer"),
    "checks": Field(CHECKS),
}
EXERCISE = {
    "slug": Field(SLUG, required=True, max_length=_max_length(Exercise, "slug")),
    "title": _text(Exercise, "title", required=True),
    "summary": _text(Exercise, "summary", required=True),
    "instructions": _text(Exercise, "instructions"),
    "sources": Field(SLUGS, required=True, max_length=_max_length(Source, "slug")),
    "background": Field(SLUG, max_length=_max_length(Background, "slug")),
    "questions": Field(LIST, required=True, schema=QUESTION),
}
PACK = {
    "sources": Field(LIST, schema=SOURCE),
    "mark_schemes": Field(LIST, schema=MARK_SCHEME),
    "backgrounds": Field(LIST, schema=BACKGROUND),
    "exercises": Field(LIST, schema=EXERCISE),
}


class Record(dict):
    """A checked mapping from the pack: its values plus where each one was written."""

    def __init__(self, *, line: int, path: str):
        super().__init__()
        self.line = line
        self.path = path
        self.lines: dict[str, int] = {}  # key -> the line it is written on
        self.item_lines: dict[str, list[int]] = {}  # key -> line of each item of a list of scalars

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)

    def path_of(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def items_of(self, key: str) -> list[Record]:
        """The valid items of a list of mappings (invalid ones are already reported)."""
        return [item for item in self.get(key) or [] if item is not None]


_MISSING = object()


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return _("true/false")
    if isinstance(value, int | float):
        return _("a number")
    if isinstance(value, datetime.datetime):
        return _("a date and time")
    if isinstance(value, datetime.date):
        return _("a date")
    if isinstance(value, bytes):
        return _("binary data")
    if isinstance(value, str):
        return _("text")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("a mapping")
    return type(value).__name__


# --- Step 1: parse -------------------------------------------------------------


class _ForbiddenYAML(yaml.MarkedYAMLError):
    """Valid YAML that a source pack may not use."""


class _PackLoader(yaml.SafeLoader):
    """Builds the node tree (with line marks) and refuses anchors and aliases,
    which a pack never needs and which make billion-laughs bombs possible."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _ForbiddenYAML(
                None,
                None,
                _("YAML aliases (*%(name)s) are not allowed in a source pack") % {"name": event.anchor},
                event.start_mark,
            )
        if getattr(event, "anchor", None) is not None:
            raise _ForbiddenYAML(
                None,
                None,
                _("YAML anchors (&%(name)s) are not allowed in a source pack") % {"name": event.anchor},
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _too_big(filename: str) -> PackError:
    limit = settings.SOURCE_PACK_MAX_BYTES
    return PackError(
        filename,
        None,
        "",
        _("the file is larger than the %(limit)s-byte limit for a source pack") % {"limit": limit},
    )


def _located(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def _parse(data: bytes, filename: str) -> yaml.Node:
    """Bytes to a YAML node tree, or PackInvalid with the one error that stopped it."""

    def fail(message, line=None, column=None):
        raise PackInvalid([PackError(filename, line, "", message, column)])

    if len(data) > settings.SOURCE_PACK_MAX_BYTES:
        raise PackInvalid([_too_big(filename)])
    data = data.removeprefix(UTF8_BOM)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        fail(
            _("the file is not UTF-8 text (byte 0x%(byte)02X cannot be read); save it as UTF-8")
            % {"byte": data[exc.start]},
            line,
            column,
        )
    try:
        node = yaml.compose(text, Loader=_PackLoader)
    except _ForbiddenYAML as exc:
        fail(exc.problem, exc.problem_mark.line + 1, exc.problem_mark.column + 1)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        fail(_("YAML syntax error: %(problem)s") % {"problem": problem}, mark.line + 1, mark.column + 1)
    except yaml.reader.ReaderError as exc:
        line, column = _located(text, exc.position)
        fail(
            _("the file contains a character YAML does not allow (#x%(code)04x)") % {"code": exc.character},
            line,
            column,
        )
    except yaml.YAMLError as exc:
        fail(_("YAML error: %(problem)s") % {"problem": exc})
    except RecursionError:
        fail(_("the YAML is nested too deeply"))
    if node is None:
        fail(_("the file is empty: a source pack needs at least one source, mark scheme or exercise"), 1)
    if not isinstance(node, yaml.MappingNode):
        fail(
            _("the top level must be a mapping with the keys sources, mark_schemes and exercises"),
            _line(node),
        )
    return node


# --- Step 2: check ---------------------------------------------------------------


# C0 control characters other than tab, line feed and carriage return, and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _Checker:
    """Walks the node tree against a schema, collecting every error."""

    _STR_TAG = "tag:yaml.org,2002:str"

    def __init__(self, filename: str):
        self.filename = filename
        self.errors: list[PackError] = []
        self.constructor = yaml.constructor.SafeConstructor()

    def add(self, line: int | None, path: str, message: str) -> None:
        self.errors.append(PackError(self.filename, line, path, message))

    # Structure ---------------------------------------------------------------

    def mapping(self, node: yaml.Node, schema: dict[str, Field], path: str) -> Record | None:
        if not isinstance(node, yaml.MappingNode):
            self.add(_line(node), path, _("must be a mapping of keys to values"))
            return None
        record = Record(line=_line(node), path=path)
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            key_path = record.path_of(key)
            if key in first_seen:
                self.add(
                    _line(key_node),
                    key_path,
                    _("duplicate key (first written on line %(line)s)") % {"line": first_seen[key]},
                )
                continue
            first_seen[key] = _line(key_node)
            spec = schema.get(key)
            if spec is None:
                self.add(_line(key_node), key_path, self._unknown_key_message(key, schema))
                continue
            record.lines[key] = _line(key_node)
            value = self.value(value_node, spec, key_path, record, key)
            if value is not _MISSING:
                record[key] = value
        for key, spec in schema.items():
            if spec.required and key not in first_seen:
                self.add(record.line, record.path_of(key), _("is required"))
        return record

    @staticmethod
    def _unknown_key_message(key: str, schema: dict[str, Field]) -> str:
        close = difflib.get_close_matches(key, schema, n=1)
        if close:
            return _("unknown key; did you mean '%(key)s'?") % {"key": close[0]}
        return _("unknown key; expected one of %(keys)s") % {"keys": ", ".join(schema)}

    def value(self, node, spec: Field, path: str, record: Record, key: str):
        if spec.kind in (LIST, TEXTS, SLUGS, CHECKS):
            if isinstance(node, yaml.ScalarNode) and self.scalar(node, path) in (None, _MISSING):
                # `glossary:` with nothing after it: absent if optional, empty if required.
                if spec.required:
                    self.add(_line(node), path, _("must not be empty"))
                return _MISSING
            if not isinstance(node, yaml.SequenceNode):
                self.add(_line(node), path, _("must be a list"))
                return _MISSING
            if spec.required and not node.value:
                self.add(_line(node), path, _("must not be empty"))
            if spec.kind == LIST:
                return [
                    self.mapping(item, spec.schema, f"{path}[{index}]")
                    for index, item in enumerate(node.value)
                ]
            item_kind = {TEXTS: TEXT, SLUGS: SLUG, CHECKS: CHECK}[spec.kind]
            item_spec = Field(item_kind, required=True, max_length=spec.max_length)
            record.item_lines[key] = [_line(item) for item in node.value]
            values = [self.leaf(item, item_spec, f"{path}[{index}]") for index, item in enumerate(node.value)]
            if spec.kind == CHECKS:
                for index, value in enumerate(values):
                    if value is not _MISSING and value in values[:index]:
                        self.add(
                            record.item_lines[key][index],
                            f"{path}[{index}]",
                            _("'%(value)s' is listed twice") % {"value": value},
                        )
                        return _MISSING
            return values if _MISSING not in values else _MISSING
        return self.leaf(node, spec, path)

    def scalar(self, node: yaml.Node, path: str):
        """The Python value of a scalar node (str, int, bool, date, None...)."""
        try:
            return self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError) as exc:
            # Unknown tags (!!python/...), or a timestamp that is no date (1917-13-45).
            problem = getattr(exc, "problem", None) or str(exc)
            self.add(_line(node), path, _("cannot be read: %(problem)s") % {"problem": problem})
            return _MISSING

    # Leaves --------------------------------------------------------------------

    def leaf(self, node, spec: Field, path: str):
        line = _line(node)
        if not isinstance(node, yaml.ScalarNode):
            kind = _("a list") if isinstance(node, yaml.SequenceNode) else _("a mapping")
            self.add(line, path, _("must be %(expected)s, not %(kind)s") % self._expected(spec, kind))
            return _MISSING
        value = self.scalar(node, path)
        if value is _MISSING:
            return _MISSING
        if value is None:
            if spec.required:
                self.add(line, path, _("must not be empty"))
            return _MISSING
        checked = getattr(self, f"_check_{spec.kind}")(value, spec, line, path)
        return _MISSING if checked is None else checked

    def _expected(self, spec: Field, kind: str) -> dict[str, str]:
        expected = {
            TEXT: _("text"),
            SLUG: _("a slug"),
            INT: _("a whole number"),
            DATE: _("a date written YYYY-MM-DD"),
            STAGE: _("a stage"),
            FRACTION: _("a number from 0 to 1"),
            CHECK: _("a self-check"),
        }[spec.kind]
        return {"expected": expected, "kind": kind}

    def _wrong_type(self, value, spec, line, path):
        hint = _(" (put it in quotes)") if spec.kind in (TEXT, SLUG) else ""
        message = _("must be %(expected)s, not %(kind)s") % self._expected(spec, _describe(value))
        self.add(line, path, message + hint)

    def _check_text(self, value, spec, line, path):
        if not isinstance(value, str):
            return self._wrong_type(value, spec, line, path)
        control = _CONTROL.search(value)
        if control is not None:
            # YAML refuses these typed raw but lets an escape ("\0", "\a") through; the database
            # cannot store NUL, and none of them belongs in a source's text.
            self.add(
                line,
                path,
                _("contains a control character (#x%(code)02x, e.g. from a \\0 escape); remove it")
                % {"code": ord(control.group())},
            )
            return None
        if spec.required and not value.strip():
            self.add(line, path, _("must not be empty"))
            return None
        if spec.max_length and len(value) > spec.max_length:
            self.add(
                line,
                path,
                _("is %(length)s characters long; the limit is %(limit)s")
                % {"length": len(value), "limit": spec.max_length},
            )
            return None
        return value

    def _check_slug(self, value, spec, line, path):
        if not isinstance(value, str):
            return self._wrong_type(value, spec, line, path)
        if not re.fullmatch(SLUG_REGEX, value) or len(value) > spec.max_length:
            self.add(
                line,
                path,
                _(
                    "'%(value)s' is not a valid slug: use lower-case letters, digits and single "
                    "hyphens between them, at most %(limit)s characters"
                )
                % {"value": value, "limit": spec.max_length},
            )
            return None
        return value

    def _check_int(self, value, spec, line, path):
        if isinstance(value, bool) or not isinstance(value, int):
            return self._wrong_type(value, spec, line, path)
        if not spec.low <= value <= spec.high:
            self.add(
                line,
                path,
                _("%(value)s is out of range: it must be from %(low)s to %(high)s")
                % {"value": value, "low": spec.low, "high": spec.high},
            )
            return None
        return value

    def _check_date(self, value, spec, line, path):
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        self.add(line, path, _("'%(value)s' is not a date written YYYY-MM-DD") % {"value": value})
        return None

    def _check_fraction(self, value, spec, line, path):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return self._wrong_type(value, spec, line, path)
        if not 0 <= value <= 1:
            self.add(line, path, _("%(value)s is out of range: it must be from 0 to 1") % {"value": value})
            return None
        return float(value)

    def _check_stage(self, value, spec, line, path):
        if value not in Stage.values:
            self.add(
                line,
                path,
                _("'%(value)s' is not one of %(stages)s")
                % {"value": value, "stages": ", ".join(Stage.values)},
            )
            return None
        return value

    def _check_check(self, value, spec, line, path):
        if value not in SelfCheck.values:
            self.add(
                line,
                path,
                _("'%(value)s' is not one of %(checks)s")
                % {"value": value, "checks": ", ".join(SelfCheck.values)},
            )
            return None
        return value


def _check_duplicates(checker: _Checker, records: list[Record], key: str, what: str, normalise=str):
    first: dict[str, Record] = {}
    for record in records:
        value = record.get(key)
        if value is None:
            continue
        seen = first.setdefault(normalise(value), record)
        if seen is not record:
            checker.add(
                record.line_of(key),
                record.path_of(key),
                _("%(what)s '%(value)s' is already used by %(path)s on line %(line)s")
                % {"what": what, "value": value, "path": seen.path, "line": seen.line_of(key)},
            )


@dataclass(frozen=True)
class BandProblem:
    """One problem with a mark scheme's levels: which level (0-based), which key, what."""

    index: int
    key: str  # "level" | "min" | "max"
    message: str


def band_problems(levels: list[dict], *, max_marks: int | None = None) -> list[BandProblem]:
    """The rules every mark scheme obeys, wherever it is written (a source pack, the studio):
    levels numbered 1..n in order (or 0..n: a first Level 0, "no creditable response", has the
    band 0–0), each band min <= max, bands contiguous with no overlap and, when ``max_marks`` is
    given, the top band ending at the question's marks. ``levels`` are mappings with ``level``,
    ``min`` and ``max`` (any may be missing: reported elsewhere)."""
    problems = []
    start = 0 if levels and levels[0].get("level") == 0 else 1
    for index, level in enumerate(levels):
        expected = index + start
        if level.get("level") not in (None, expected):
            problems.append(
                BandProblem(
                    index,
                    "level",
                    _(
                        "levels must be numbered 1, 2, 3… in order (0, 1, 2… with a Level 0): "
                        "expected %(expected)s, found %(found)s"
                    )
                    % {"expected": expected, "found": level["level"]},
                )
            )
        if level.get("level") == 0 and (level.get("min"), level.get("max")) != (0, 0):
            problems.append(
                BandProblem(
                    index, "max", _("Level 0 is for no creditable response: its band must be min 0, max 0")
                )
            )
        low, high = level.get("min"), level.get("max")
        if low is not None and high is not None and low > high:
            problems.append(
                BandProblem(index, "min", _("min %(min)s is above max %(max)s") % {"min": low, "max": high})
            )
    bands = [level for level in levels if None not in (level.get("min"), level.get("max"))]
    if len(bands) < len(levels) or any(level["min"] > level["max"] for level in bands):
        return problems  # comparing broken bands would only add noise
    for index, (lower, upper) in enumerate(pairwise(bands), start=1):
        if upper["min"] <= lower["max"]:
            problems.append(
                BandProblem(
                    index,
                    "min",
                    _("band %(min)s–%(max)s overlaps the band %(lmin)s–%(lmax)s of the level before")
                    % {"min": upper["min"], "max": upper["max"], "lmin": lower["min"], "lmax": lower["max"]},
                )
            )
        elif upper["min"] > lower["max"] + 1:
            problems.append(
                BandProblem(
                    index,
                    "min",
                    _("gap between bands: marks %(low)s–%(high)s belong to no level")
                    % {"low": lower["max"] + 1, "high": upper["min"] - 1},
                )
            )
    if max_marks is not None and bands and bands[-1]["max"] != max_marks:
        problems.append(
            BandProblem(
                len(bands) - 1,
                "max",
                _("the top band ends at %(top)s, but the question is marked out of %(marks)s")
                % {"top": bands[-1]["max"], "marks": max_marks},
            )
        )
    return problems


def _check_levels(checker: _Checker, scheme: Record) -> int | None:
    """The mark-band rules (:func:`band_problems`), located in the pack.
    Returns the scheme's top mark (None if the levels are unusable)."""
    levels = scheme.items_of("levels")
    problems = band_problems(levels)
    for problem in problems:
        level = levels[problem.index]
        checker.add(level.line_of(problem.key), level.path_of(problem.key), problem.message)
    # Declared common levels (docs/skills.md) may stay level but never fall as the levels rise.
    highest = None
    for level in levels:
        declared = level.get("common_level")
        if declared is None:
            continue
        if highest is not None and declared < highest:
            checker.add(
                level.line_of("common_level"),
                level.path_of("common_level"),
                _("common_level %(found)s is below the %(before)s of a lower level: it may not go down")
                % {"found": declared, "before": highest},
            )
        highest = max(declared, highest or 0)
    bands = [level for level in levels if None not in (level.get("min"), level.get("max"))]
    if len(bands) < len(levels) or any(level["min"] > level["max"] for level in bands):
        return None
    return max((level["max"] for level in bands), default=None)


def _check_sources(checker: _Checker, sources: list[Record], images: dict[str, bytes] | None) -> None:
    """Passages or an image; an image's file in the zip, checked as an upload; its regions."""
    for source in sources:
        if "image" not in source and "image" not in source.lines:
            if "passages" not in source.lines:
                checker.add(source.line, source.path_of("passages"), _("is required"))
            elif not source.get("passages"):
                checker.add(source.line_of("passages"), source.path_of("passages"), _("must not be empty"))
        for item in source.items_of("regions"):
            if "image" not in source:
                break
            if not {"x", "y", "w", "h"} <= set(item):
                continue
            if item["w"] <= 0 or item["h"] <= 0:
                checker.add(item.line, item.path, _("a region needs a width and a height above 0"))
            elif item["x"] + item["w"] > 1 + 1e-6 or item["y"] + item["h"] > 1 + 1e-6:
                checker.add(
                    item.line,
                    item.path,
                    _("the region runs off the image (x + w and y + h must be at most 1)"),
                )
        if source.get("regions") and "image" not in source:
            checker.add(source.line_of("regions"), source.path_of("regions"), _("regions need an image"))
        if "image" not in source:
            continue
        line, path = source.line_of("image"), source.path_of("image")
        if not source.get("alt_text", "").strip():
            checker.add(source.line, source.path_of("alt_text"), _("is required for a source with an image"))
        if images is None:
            checker.add(line, path, _("an image travels in a .zip pack (pack.yaml and images/<file>)"))
            continue
        data = images.get(source["image"])
        if data is None:
            names = ", ".join(sorted(images)) or _("none")
            checker.add(
                line,
                path,
                _("'%(name)s' is not in the pack (its images: %(names)s)")
                % {"name": source["image"], "names": names},
            )
            continue
        try:
            source.image = (hashlib.sha256(data).hexdigest(), image_check(data))
        except ImageRejected as rejected:
            checker.add(line, path, rejected.message)


def _check_pack(checker: _Checker, pack: Record, images: dict[str, bytes] | None = None, owner=None) -> None:
    """Rules that span records, including references into the library."""
    sources = pack.items_of("sources")
    schemes = pack.items_of("mark_schemes")
    exercises = pack.items_of("exercises")
    if not (sources or schemes or exercises) and not checker.errors:
        checker.add(pack.line, "", _("the pack holds no sources, mark schemes or exercises"))
    _check_sources(checker, sources, images)

    _check_duplicates(checker, sources, "slug", _("slug"))
    _check_duplicates(checker, schemes, "slug", _("slug"))
    _check_duplicates(checker, exercises, "slug", _("slug"))
    backgrounds = pack.items_of("backgrounds")
    _check_duplicates(checker, backgrounds, "slug", _("slug"))
    for source in sources:
        _check_duplicates(checker, source.items_of("glossary"), "term", _("glossary term"), str.casefold)

    scheme_tops = {scheme["slug"]: _check_levels(checker, scheme) for scheme in schemes if "slug" in scheme}
    pack_sources = {source["slug"] for source in sources if "slug" in source}

    # What the exercises refer to that the pack does not define must be in the library.
    wanted_sources = {slug for ex in exercises for slug in ex.get("sources", [])} - pack_sources
    library_sources = set(_referable(Source.objects.all(), owner, wanted_sources))
    wanted_schemes = {
        q["mark_scheme"] for ex in exercises for q in ex.items_of("questions") if "mark_scheme" in q
    } - set(scheme_tops)
    library_scheme_tops = {
        slug: scheme.top
        for slug, scheme in _referable(
            MarkScheme.objects.annotate(top=Max("levels__max_marks")), owner, wanted_schemes
        ).items()
    }
    known_sources = pack_sources | library_sources
    known_schemes = {**library_scheme_tops, **scheme_tops}
    pack_backgrounds = {background["slug"] for background in backgrounds if "slug" in background}
    wanted_backgrounds = {ex["background"] for ex in exercises if "background" in ex} - pack_backgrounds
    known_backgrounds = pack_backgrounds | set(
        _referable(Background.objects.all(), owner, wanted_backgrounds)
    )

    for exercise in exercises:
        _check_exercise(checker, exercise, known_sources, known_schemes)
        background = exercise.get("background")
        if background is not None and background not in known_backgrounds:
            checker.add(
                exercise.line_of("background"),
                exercise.path_of("background"),
                _("no background with slug '%(slug)s' in this pack or the library") % {"slug": background},
            )

    # Changing a scheme's top mark must not strand questions outside this pack.
    stranded = (
        Question.objects.filter(
            mark_scheme__in=_in_space(MarkScheme.objects.all(), owner), mark_scheme__slug__in=scheme_tops
        )
        .exclude(exercise__slug__in=[ex["slug"] for ex in exercises if "slug" in ex])
        .select_related("exercise", "mark_scheme")
        .order_by("exercise__slug", "position")
    )
    by_slug = {scheme["slug"]: scheme for scheme in schemes if "slug" in scheme}
    for question in stranded:
        top = scheme_tops[question.mark_scheme.slug]
        if top is not None and top != question.max_marks:
            scheme = by_slug[question.mark_scheme.slug]
            checker.add(
                scheme.line_of("levels"),
                scheme.path_of("levels"),
                _(
                    "the top mark would become %(top)s, but question %(number)s of exercise "
                    "'%(exercise)s' in the library is marked out of %(max)s"
                )
                % {
                    "top": top,
                    "number": question.number,
                    "exercise": question.exercise.slug,
                    "max": question.max_marks,
                },
            )


def _check_exercise(checker, exercise: Record, known_sources: set[str], known_schemes: dict) -> None:
    slugs = exercise.get("sources", [])
    lines = exercise.item_lines.get("sources", [])
    for index, (slug, line) in enumerate(zip(slugs, lines, strict=False)):
        path = f"{exercise.path_of('sources')}[{index}]"
        if slug in slugs[:index]:
            checker.add(line, path, _("'%(slug)s' is listed twice") % {"slug": slug})
        elif slug not in known_sources:
            checker.add(
                line, path, _("no source with slug '%(slug)s' in this pack or the library") % {"slug": slug}
            )
    listed = ", ".join(slugs)
    several = len(set(slugs)) >= 2
    for question in exercise.items_of("questions"):
        stage, source = question.get("stage"), question.get("source")
        across = stage == Stage.RELIABILITY and several  # about every source of the exercise
        if stage in STAGES_NEEDING_SOURCE and "source" not in question.lines and not across:
            message = _(
                "is required for %(stage)s questions: name one of the exercise's sources (%(sources)s)"
            )
            if stage == Stage.RELIABILITY:
                message = _(
                    "is required for a reliability question in an exercise with one source: "
                    "name it (%(sources)s)"
                )
            checker.add(
                question.line, question.path_of("source"), message % {"stage": stage, "sources": listed}
            )
        if source is not None and slugs and source not in slugs:
            checker.add(
                question.line_of("source"),
                question.path_of("source"),
                _("'%(slug)s' is not one of this exercise's sources (%(sources)s)")
                % {"slug": source, "sources": listed},
            )
        if stage == Stage.CORROBORATION and "sources" in exercise and len(set(slugs)) < 2:
            checker.add(
                question.line_of("stage"),
                question.path_of("stage"),
                _("a corroboration question needs an exercise with at least two sources"),
            )
        scheme = question.get("mark_scheme")
        if scheme is None:
            continue
        if scheme not in known_schemes:
            checker.add(
                question.line_of("mark_scheme"),
                question.path_of("mark_scheme"),
                _("no mark scheme with slug '%(slug)s' in this pack or the library") % {"slug": scheme},
            )
            continue
        top, max_marks = known_schemes[scheme], question.get("max_marks")
        if top is not None and max_marks is not None and max_marks != top:
            checker.add(
                question.line_of("max_marks"),
                question.path_of("max_marks"),
                _("is %(marks)s, but mark scheme '%(slug)s' has a top mark of %(top)s")
                % {"marks": max_marks, "slug": scheme, "top": top},
            )


# --- Step 3: write -------------------------------------------------------------

ACTIONS = (
    gettext_noop("created"),
    gettext_noop("updated"),
    gettext_noop("unchanged"),
    gettext_noop("deleted"),
)


@dataclass
class ImportSummary:
    """What an import did, per kind of row."""

    filename: str
    dry_run: bool = False
    counts: dict[str, Counter] = field(default_factory=dict)

    KINDS = (
        gettext_noop("sources"),
        gettext_noop("passages"),
        gettext_noop("glossary terms"),
        gettext_noop("images"),
        gettext_noop("regions"),
        gettext_noop("mark schemes"),
        gettext_noop("levels"),
        gettext_noop("backgrounds"),
        gettext_noop("exercises"),
        gettext_noop("exercise sources"),
        gettext_noop("questions"),
    )

    def add(self, kind: str, action: str, number: int = 1) -> None:
        self.counts.setdefault(kind, Counter())[action] += number

    def total(self, action: str) -> int:
        return sum(counter[action] for counter in self.counts.values())

    def __str__(self):
        parts = []
        for kind in self.KINDS:
            counter = self.counts.get(kind, Counter())
            done = ", ".join(f"{counter[action]} {_(action)}" for action in ACTIONS if counter[action])
            if done:
                parts.append(f"{_(kind)}: {done}")
        return "; ".join(parts) or _("nothing to do")


class _Writer:
    def __init__(self, checker: _Checker, summary: ImportSummary, owner=None):
        self.checker = checker
        self.summary = summary
        self.owner = owner
        self.stored: list[str] = []  # image files written by this import (removed if it fails)
        self.replaced: list[str] = []  # image files no longer used once it commits

    def existing(self, model, slug):
        """The item with this slug in the owner's space, or a new one that will belong there."""
        found = _in_space(model.objects.all(), self.owner).filter(slug=slug).first()
        if found is not None:
            return found
        if self.owner is None:
            return model()
        return model(owner=self.owner, school_id=self.owner.school_id)

    def save(self, obj, values: dict, kind: str, record: Record, schema: dict[str, Field], replacing=False):
        """Create or update one row, skipping the write when nothing changed.
        ``replacing``: a new row standing in for a deleted one counts as an update."""
        created = obj.pk is None
        changed = created or any(getattr(obj, name) != value for name, value in values.items())
        for name, value in values.items():
            setattr(obj, name, value)
        if changed:
            try:
                obj.full_clean()
            except ValidationError as exc:
                # The checks above should make this unreachable; report it rather than crash.
                keys = {(spec.attr or key): key for key, spec in schema.items()}
                for name, messages in exc.message_dict.items():
                    key = keys.get(name, name)
                    for message in messages:
                        self.checker.add(record.line_of(key), record.path_of(key), message)
                raise PackInvalid(self.checker.errors) from exc
            obj.save()
        action = "unchanged" if not changed else "updated" if replacing or not created else "created"
        self.summary.add(kind, action)
        return obj

    @staticmethod
    def values(record: Record, schema: dict[str, Field], **extra) -> dict:
        """Model attribute values for a record: omitted optional keys become blank."""
        values = {}
        for key, spec in schema.items():
            if spec.kind == LIST or (schema is SOURCE and key == "image"):
                continue
            if spec.legacy:
                if key in record and not values.get(spec.attr):
                    values[spec.attr] = record[key]
                continue
            blank = [] if spec.kind in (TEXTS, SLUGS, CHECKS) else None if spec.kind in (DATE, INT) else ""
            values[spec.attr or key] = record.get(key, blank)
        values.update(extra)
        return values

    def positional(self, existing: list, records: list[Record]):
        """Pair existing rows with records by position: (row or None, record), then the extras."""
        pairs = [(existing[i] if i < len(existing) else None, record) for i, record in enumerate(records)]
        return pairs, existing[len(records) :]

    # Sources -------------------------------------------------------------------

    def source(self, record: Record) -> Source:
        source = self.existing(Source, record["slug"])
        values = self.values(record, SOURCE)
        values.update(self.image_values(source, record))
        source = self.save(source, values, "sources", record, SOURCE)
        self.passages(source, record)
        self.glossary(source, record)
        self.regions(source, record)
        return source

    def image_values(self, source: Source, record: Record) -> dict:
        """The image columns: unchanged when the pack's file is what is stored (or re-encodes to
        it); otherwise the checked image is stored under a new random name."""
        old = source.image.name if source.pk and source.image else ""
        if "image" not in record:
            if old:
                self.replaced.append(old)
                self.summary.add("images", "deleted")
            return {"image": "", "image_width": None, "image_height": None, "image_sha256": ""}
        raw_sha, checked = record.image
        if old and source.image_sha256 in (raw_sha, checked.sha256):
            self.summary.add("images", "unchanged")
            return {"image": old}
        name = image_store(checked)
        self.stored.append(name)
        if old:
            self.replaced.append(old)
        self.summary.add("images", "updated" if old else "created")
        return {
            "image": name,
            "image_width": checked.width,
            "image_height": checked.height,
            "image_sha256": checked.sha256,
        }

    def regions(self, source: Source, record: Record) -> None:
        pairs, extras = self.positional(list(source.regions.all()), record.items_of("regions"))
        cited = set(Evidence.objects.filter(region__source=source).values_list("region_id", flat=True))
        for position, (region, item) in enumerate(pairs):
            values = self.values(item, REGION, position=position)
            moved = region is not None and any(abs(getattr(region, k) - values[k]) > 1e-9 for k in "xywh")
            if moved and region.pk in cited:
                self.checker.add(
                    item.line,
                    item.path,
                    _(
                        "region %(number)s (“%(label)s”) is cited in students' evidence, so it "
                        "cannot be moved or resized; keep its x, y, w and h"
                    )
                    % {"number": position + 1, "label": region.label},
                )
                continue
            self.save(region or Region(source=source), values, "regions", item, REGION)
        for index, region in enumerate(extras, start=len(pairs) + 1):
            if region.pk in cited:
                self.checker.add(
                    record.line_of("regions") if "regions" in record.lines else record.line,
                    record.path_of("regions"),
                    _(
                        "region %(number)s (“%(label)s”) is cited in students' evidence, so it "
                        "cannot be removed; keep it in the pack"
                    )
                    % {"number": index, "label": region.label},
                )
            else:
                region.delete()
                self.summary.add("regions", "deleted")

    def passages(self, source: Source, record: Record) -> None:
        pairs, extras = self.positional(list(source.passages.all()), record.items_of("passages"))
        for position, (passage, item) in enumerate(pairs):
            if passage is not None and passage.text != item["text"]:
                self.check_quotations_survive(passage, item)
            passage = passage or Passage(source=source)
            self.save(passage, self.values(item, PASSAGE, position=position), "passages", item, PASSAGE)
        cited = _counts_by(Evidence.objects.filter(passage__in=extras), "passage")
        refusal = _(
            "passage %(number)s (“%(label)s”) is quoted in students' evidence "
            "(%(count)s quotations), so it cannot be removed; keep it in the pack"
        )
        self.remove_unless_used(record, "passages", extras, cited, refusal)

    def check_quotations_survive(self, passage: Passage, item: Record) -> None:
        problem = passage.quotation_problem(item["text"])
        if problem:
            self.checker.add(item.line_of("text"), item.path_of("text"), problem)

    def remove_unless_used(self, record: Record, key: str, rows: list, used: dict, refusal: str) -> None:
        """Delete the rows a re-imported pack no longer has, unless pupils' work depends on
        them (``used``: row id → how many pieces of work): those are refused, never deleted."""
        first = len(record.items_of(key)) + 1
        for number, row in enumerate(rows, start=first):
            if row.pk in used:
                message = refusal % {
                    "number": number,
                    "label": getattr(row, "label", ""),
                    "count": used[row.pk],
                }
                self.checker.add(record.line_of(key), record.path_of(key), message)
            else:
                row.delete()
                self.summary.add(key, "deleted")

    def glossary(self, source: Source, record: Record) -> None:
        pairs, extras = self.positional(list(source.glossary.all()), record.items_of("glossary"))
        # A term may not appear twice in a source, even for a moment: a row whose term
        # changes is replaced rather than renamed, once the rows going away are gone.
        renamed = [term is not None and term.term != item["term"] for term, item in pairs]
        for term in extras:
            term.delete()
        self.summary.add("glossary terms", "deleted", len(extras))
        for (term, _item), is_renamed in zip(pairs, renamed, strict=True):
            if is_renamed:
                term.delete()
        for position, ((term, item), is_renamed) in enumerate(zip(pairs, renamed, strict=True)):
            obj = GlossaryTerm(source=source) if term is None or is_renamed else term
            values = self.values(item, GLOSSARY_TERM, position=position)
            self.save(obj, values, "glossary terms", item, GLOSSARY_TERM, replacing=is_renamed)

    # Mark schemes ---------------------------------------------------------------

    def mark_scheme(self, record: Record) -> MarkScheme:
        scheme = self.existing(MarkScheme, record["slug"])
        scheme = self.save(scheme, self.values(record, MARK_SCHEME), "mark schemes", record, MARK_SCHEME)
        # Levels are numbered 1..n (or 0..n) by position (checked), so number and position agree.
        existing = list(scheme.levels.order_by("number"))
        items = record.items_of("levels")
        if [level.number for level in existing[: len(items)]] != [
            item["level"] for item in items[: len(existing)]
        ]:
            # The numbering moved (a Level 0 added or taken away): numbers are unique per scheme,
            # so the old rows go first. Marks keep their level numbers, not rows.
            for level in existing:
                level.delete()
            self.summary.add("levels", "deleted", len(existing))
            existing = []
        pairs, extras = self.positional(existing, items)
        for level in extras:
            level.delete()
        self.summary.add("levels", "deleted", len(extras))
        for level, item in pairs:
            self.save(level or Level(scheme=scheme), self.values(item, LEVEL), "levels", item, LEVEL)
        return scheme

    # Backgrounds ----------------------------------------------------------------

    def background(self, record: Record) -> Background:
        background = self.existing(Background, record["slug"])
        values = {
            "slug": record["slug"],
            "title": record["title"],
            "timeline": [{"date": e["date"], "event": e["event"]} for e in record.items_of("timeline")],
            "people": [{"name": p["name"], "role": p["role"]} for p in record.items_of("people")],
        }
        return self.save(background, values, "backgrounds", record, BACKGROUND)

    # Exercises ------------------------------------------------------------------

    def exercise(self, record: Record, sources, schemes, backgrounds: dict[str, Background]):
        exercise = self.existing(Exercise, record["slug"])
        values = self.values(record, EXERCISE, background=backgrounds.get(record.get("background")))
        values.pop("sources")
        exercise = self.save(exercise, values, "exercises", record, EXERCISE)

        # (exercise, source) is unique, so links are matched by position and a link
        # whose source changes is replaced after the stale ones are gone.
        links = list(exercise.exercise_sources.select_related("source"))
        slugs = record["sources"]
        kept = set()
        for position, link in enumerate(links):
            if position < len(slugs) and link.source.slug == slugs[position]:
                kept.add(position)
                moved = link.position != position
                if moved:
                    link.position = position
                    link.save(update_fields=["position"])
                self.summary.add("exercise sources", "updated" if moved else "unchanged")
            else:
                link.delete()
                if position >= len(slugs):
                    self.summary.add("exercise sources", "deleted")
        for position, slug in enumerate(slugs):
            if position not in kept:
                ExerciseSource.objects.create(exercise=exercise, source=sources[slug], position=position)
                self.summary.add("exercise sources", "created" if position >= len(links) else "updated")

        pairs, extras = self.positional(list(exercise.questions.all()), record.items_of("questions"))
        for position, (question, item) in enumerate(pairs):
            values = self.values(
                item,
                QUESTION,
                position=position,
                source=sources.get(item.get("source")),
                mark_scheme=schemes.get(item.get("mark_scheme")),
            )
            self.save(question or Question(exercise=exercise), values, "questions", item, QUESTION)
        answered = _counts_by(Response.objects.filter(question__in=extras), "question")
        refusal = _(
            "question %(number)s has students' answers (%(count)s), so it cannot be removed; "
            "keep it in the pack"
        )
        self.remove_unless_used(record, "questions", extras, answered, refusal)

    def pack(self, pack: Record) -> None:
        sources = {record["slug"]: self.source(record) for record in pack.items_of("sources")}
        schemes = {record["slug"]: self.mark_scheme(record) for record in pack.items_of("mark_schemes")}
        backgrounds = {record["slug"]: self.background(record) for record in pack.items_of("backgrounds")}
        exercises = pack.items_of("exercises")
        wanted_backgrounds = {r["background"] for r in exercises if "background" in r} - set(backgrounds)
        backgrounds.update(_referable(Background.objects.all(), self.owner, wanted_backgrounds))
        wanted_sources = {slug for record in exercises for slug in record["sources"]} - set(sources)
        sources.update(_referable(Source.objects.all(), self.owner, wanted_sources))
        wanted_schemes = {
            question["mark_scheme"]
            for record in exercises
            for question in record.items_of("questions")
            if "mark_scheme" in question
        } - set(schemes)
        schemes.update(_referable(MarkScheme.objects.all(), self.owner, wanted_schemes))
        for record in exercises:
            self.exercise(record, sources, schemes, backgrounds)


# --- Import: the public entry points ---------------------------------------------


class _DryRun(Exception):
    pass


def pack_import(
    *,
    data: bytes,
    filename: str,
    dry_run: bool = False,
    images: dict[str, bytes] | None = None,
    owner=None,
) -> ImportSummary:
    """Check a pack and write it in one transaction, into the site library (``owner=None``)
    or into one teacher's own items (``owner``), which is all a teacher's import can touch.

    Returns what was created, updated, left unchanged and deleted; raises
    :class:`PackInvalid` listing every error, in which case nothing was written.
    With ``dry_run`` everything is checked (including the write-time checks)
    and then rolled back. ``images``: the image files of a .zip pack, by name
    (``images/poster.png``); None for a YAML file on its own.
    """
    node = _parse(data, filename)
    checker = _Checker(filename)
    summary = ImportSummary(filename=filename, dry_run=dry_run)
    writer = _Writer(checker, summary, owner)
    try:
        with transaction.atomic():
            pack = checker.mapping(node, PACK, "")
            _check_pack(checker, pack, images, owner)
            if checker.errors:
                raise PackInvalid(checker.errors)
            writer.pack(pack)
            if checker.errors:
                raise PackInvalid(checker.errors)
            if dry_run:
                raise _DryRun
            for name in writer.replaced:  # files nothing refers to once the import commits
                transaction.on_commit(lambda name=name: image_discard(name))
    except _DryRun:
        _discard(writer.stored)
    except IntegrityError as exc:
        _discard(writer.stored)
        raise PackInvalid(
            [PackError(filename, None, "", _("the database refused the pack: %(error)s") % {"error": exc})]
        ) from exc
    except BaseException:
        _discard(writer.stored)
        raise
    return summary


def _discard(names: list[str]) -> None:
    for name in names:
        image_discard(name)


# --- .zip packs: pack.yaml and images/<file> -------------------------------------------

ZIP_YAML_NAMES = ("pack.yaml", "pack.yml")
ZIP_IMAGE_NAME = re.compile(r"images/[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def is_zip(data: bytes, filename: str) -> bool:
    return filename.lower().endswith(".zip") or data[:4] == b"PK\x03\x04"


def read_zip(data: bytes, filename: str) -> tuple[bytes, dict[str, bytes]]:
    """``(pack.yaml bytes, {"images/<file>": bytes})`` from a .zip pack, after checking the
    archive itself: its size, its number of files, every name (no absolute path, no ``..``,
    no folder but ``images/``, no symlink), encryption, and the uncompressed sizes (declared
    and actually read, so a zip bomb stops at the limit). Raises :class:`PackInvalid`."""
    errors: list[PackError] = []

    def fail(message):
        raise PackInvalid([PackError(filename, None, "", message)])

    if len(data) > settings.SOURCE_PACK_ZIP_MAX_BYTES:
        fail(
            _("the .zip pack is larger than the %(limit)s-byte limit")
            % {"limit": settings.SOURCE_PACK_ZIP_MAX_BYTES}
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise PackInvalid([PackError(filename, None, "", _("this is not a readable .zip file"))]) from exc
    files = [info for info in infos if not info.is_dir()]
    if len(infos) > settings.SOURCE_PACK_ZIP_MAX_FILES:
        fail(
            _("the .zip pack holds %(count)s entries; the limit is %(limit)s")
            % {"count": len(infos), "limit": settings.SOURCE_PACK_ZIP_MAX_FILES}
        )
    declared = sum(info.file_size for info in files)
    if declared > settings.SOURCE_PACK_ZIP_MAX_BYTES:
        fail(
            _("the .zip pack would unpack to %(size)s bytes; the limit is %(limit)s")
            % {"size": declared, "limit": settings.SOURCE_PACK_ZIP_MAX_BYTES}
        )
    names = [info.filename for info in infos]
    for info in infos:
        name = info.filename
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            errors.append(PackError(filename, None, name, _("symbolic links are not allowed in a pack")))
        elif info.flag_bits & 0x1:
            errors.append(PackError(filename, None, name, _("encrypted files are not allowed in a pack")))
        elif names.count(name) > 1:
            errors.append(PackError(filename, None, name, _("the name appears twice in the .zip")))
        elif info.is_dir():
            if name != "images/":
                errors.append(PackError(filename, None, name, _("a pack holds only the folder images/")))
        elif name not in ZIP_YAML_NAMES and not ZIP_IMAGE_NAME.fullmatch(name):
            errors.append(
                PackError(
                    filename,
                    None,
                    name,
                    _(
                        "not allowed here: a .zip pack holds pack.yaml and images/<file> (letters, "
                        "digits, '.', '_' and '-'; no other folders, no absolute paths, no '..')"
                    ),
                )
            )
    yaml_names = [name for name in names if name in ZIP_YAML_NAMES]
    if not yaml_names:
        errors.append(PackError(filename, None, "", _("the .zip pack has no pack.yaml at its top level")))
    elif len(yaml_names) > 1:
        errors.append(PackError(filename, None, "", _("the .zip pack has both pack.yaml and pack.yml")))
    if errors:
        raise PackInvalid(errors)

    def read(info, limit):
        if info.file_size > limit:
            return None
        try:
            with archive.open(info) as member:
                content = member.read(limit + 1)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise PackInvalid(
                [
                    PackError(
                        filename, None, info.filename, _("cannot be read from the .zip (%(e)s)") % {"e": exc}
                    )
                ]
            ) from exc
        return content if len(content) <= limit else None

    pack_data, images = b"", {}
    for info in files:
        if info.filename in ZIP_YAML_NAMES:
            content = read(info, settings.SOURCE_PACK_MAX_BYTES)
            if content is None:
                raise PackInvalid([_too_big(f"{filename}:{info.filename}")])
            pack_data = content
        else:
            content = read(info, settings.SOURCE_IMAGE_MAX_BYTES)
            if content is None:
                errors.append(
                    PackError(
                        filename,
                        None,
                        info.filename,
                        _("the image is larger than the %(limit)s-byte limit")
                        % {"limit": settings.SOURCE_IMAGE_MAX_BYTES},
                    )
                )
            else:
                images[info.filename] = content
    if errors:
        raise PackInvalid(errors)
    return pack_data, images


def pack_import_any(*, data: bytes, filename: str, dry_run: bool = False, owner=None) -> ImportSummary:
    """A YAML pack, or a .zip pack (pack.yaml and its images)."""
    if is_zip(data, filename):
        pack_data, images = read_zip(data, filename)
        return pack_import(
            data=pack_data, filename=f"{filename}:pack.yaml", dry_run=dry_run, images=images, owner=owner
        )
    return pack_import(data=data, filename=filename, dry_run=dry_run, owner=owner)


def _limit_for(filename: str) -> int:
    if filename.lower().endswith(".zip"):
        return settings.SOURCE_PACK_ZIP_MAX_BYTES
    return settings.SOURCE_PACK_MAX_BYTES


def pack_import_file(*, file, filename: str, dry_run: bool = False, owner=None) -> ImportSummary:
    """Import from an open binary file, reading at most one byte past the size limit."""
    data = file.read(_limit_for(filename) + 1)
    if len(data) > _limit_for(filename) and filename.lower().endswith(".zip"):
        raise PackInvalid(
            [
                PackError(
                    filename,
                    None,
                    "",
                    _("the .zip pack is larger than the %(limit)s-byte limit")
                    % {"limit": settings.SOURCE_PACK_ZIP_MAX_BYTES},
                )
            ]
        )
    return pack_import_any(data=data, filename=filename, dry_run=dry_run, owner=owner)


def pack_import_path(*, path: str | Path, dry_run: bool = False) -> ImportSummary:
    path = Path(path)
    try:
        if path.stat().st_size > _limit_for(path.name):
            if path.suffix.lower() == ".zip":
                raise PackInvalid(
                    [PackError(str(path), None, "", _("the .zip pack is larger than the size limit"))]
                )
            raise PackInvalid([_too_big(str(path))])  # refused before a byte is read
        with path.open("rb") as file:
            return pack_import_file(file=file, filename=str(path), dry_run=dry_run)
    except OSError as exc:
        raise PackInvalid([PackError(str(path), None, "", exc.strerror or str(exc))]) from exc


# --- Export --------------------------------------------------------------------


class _FlowList(list):
    """A short list of slugs, written inline: ``sources: [a, b]``."""


class _PackDumper(yaml.SafeDumper):
    # Indent list items under their key, as the documented format does.
    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


# Characters a block or plain scalar would not carry through a reload unchanged.
_ONLY_DOUBLE_QUOTED = re.compile("[\r\x85\u2028\u2029\ufeff]")


def _literal_round_trips(value: str) -> bool:
    dumped = yaml.dump(value, Dumper=yaml.SafeDumper, default_style="|", allow_unicode=True)
    return yaml.safe_load(dumped) == value


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = None
    if _ONLY_DOUBLE_QUOTED.search(value):
        style = '"'
    elif "\n" in value:
        # PyYAML itself falls back to double quotes when a literal cannot hold the
        # text (trailing spaces, special characters); this catches the rest.
        style = "|" if _literal_round_trips(value) else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_PackDumper.add_representer(str, _represent_str)
_PackDumper.add_representer(
    _FlowList,
    lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True),
)


def _dump_record(values: dict, schema: dict[str, Field]) -> dict:
    """Keys in schema order; optional keys left out when empty."""
    out = {}
    for key, spec in schema.items():
        if spec.legacy:
            continue
        value = values[key]
        if not spec.required and value in (None, "", []):
            continue
        out[key] = value
    return out


def image_path(source: Source) -> str:
    """Where a source's image goes in a .zip pack."""
    return f"images/{source.slug}.{source.image.name.rsplit('.', 1)[-1].lower()}" if source.image else ""


def _source_data(source: Source) -> dict:
    values = {key: getattr(source, spec.attr or key, None) for key, spec in SOURCE.items() if not spec.legacy}
    values["image"] = image_path(source)
    values["regions"] = [
        _dump_record({"label": r.label, "x": r.x, "y": r.y, "w": r.w, "h": r.h}, REGION)
        for r in source.regions.all()
    ]
    values["passages"] = [
        _dump_record({"label": p.label, "text": p.text, "modified": p.modified}, PASSAGE)
        for p in source.passages.all()
    ]
    values["glossary"] = [
        _dump_record({"term": g.term, "definition": g.definition}, GLOSSARY_TERM)
        for g in source.glossary.all()
    ]
    return _dump_record(values, SOURCE)


def _scheme_data(scheme: MarkScheme) -> dict:
    levels = [
        _dump_record({key: getattr(level, spec.attr or key) for key, spec in LEVEL.items()}, LEVEL)
        for level in scheme.levels.all()
    ]
    return _dump_record(
        {"slug": scheme.slug, "name": scheme.name, "objective": scheme.objective, "levels": levels},
        MARK_SCHEME,
    )


def _background_data(background: Background) -> dict:
    values = {
        "slug": background.slug,
        "title": background.title,
        "timeline": [_dump_record(dict(entry), TIMELINE_ENTRY) for entry in background.timeline],
        "people": [_dump_record(dict(person), PERSON) for person in background.people],
    }
    return _dump_record(values, BACKGROUND)


def _exercise_data(exercise: Exercise) -> dict:
    questions = []
    for question in exercise.questions.all():
        values = {key: getattr(question, spec.attr or key) for key, spec in QUESTION.items()}
        values["source"] = question.source.slug if question.source else None
        values["mark_scheme"] = question.mark_scheme.slug if question.mark_scheme else None
        values["checks"] = _FlowList(question.checks)
        questions.append(_dump_record(values, QUESTION))
    values = {key: getattr(exercise, key, None) for key in EXERCISE}
    values["sources"] = _FlowList(link.source.slug for link in exercise.exercise_sources.all())
    values["background"] = exercise.background.slug if exercise.background else None
    values["questions"] = questions
    return _dump_record(values, EXERCISE)


def _counts_by(queryset, key: str) -> dict[int, int]:
    """How many rows of ``queryset`` point at each ``key`` id (e.g. quotations per passage)."""
    return dict(queryset.values(key).annotate(n=Count("pk")).values_list(key, "n"))


def _by_slug(queryset, slugs, owner=None) -> dict:
    """Site-library items by slug (teachers' own items have slugs of their own namespace)."""
    return _referable(queryset, owner, slugs)


def _fetch(queryset, slugs: list[str], missing: list[str], owner=None) -> list:
    found = _by_slug(queryset, slugs, owner)
    missing.extend(slug for slug in slugs if slug not in found)
    return [found[slug] for slug in slugs if slug in found]


def pack_export(
    *, source_slugs=(), mark_scheme_slugs=(), exercise_slugs=(), background_slugs=(), owner=None
) -> str:
    """The pack's YAML text only (a source's image is named, not carried: see ``pack_export_zip``)."""
    return pack_export_files(
        source_slugs=source_slugs,
        mark_scheme_slugs=mark_scheme_slugs,
        exercise_slugs=exercise_slugs,
        background_slugs=background_slugs,
        owner=owner,
    )[0]


ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same pack always zips to the same bytes


def pack_zip(text: str, images: dict[str, bytes]) -> bytes:
    """``pack.yaml`` then ``images/…`` in name order, with fixed dates and permissions: the same
    pack always gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        entries = [("pack.yaml", text.encode("utf-8"), zipfile.ZIP_DEFLATED)]
        entries += [(name, images[name], zipfile.ZIP_STORED) for name in sorted(images)]
        for name, content, compression in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, content, compress_type=compression, compresslevel=9)
    return out.getvalue()


def pack_export_zip(
    *, source_slugs=(), mark_scheme_slugs=(), exercise_slugs=(), background_slugs=(), owner=None
) -> bytes:
    text, images = pack_export_files(
        source_slugs=source_slugs,
        mark_scheme_slugs=mark_scheme_slugs,
        exercise_slugs=exercise_slugs,
        background_slugs=background_slugs,
        owner=owner,
    )
    return pack_zip(text, images)


def pack_export_files(
    *, source_slugs=(), mark_scheme_slugs=(), exercise_slugs=(), background_slugs=(), owner=None
) -> tuple[str, dict]:
    """Write the named sources, mark schemes, backgrounds and exercises as one pack (``owner``:
    whose space the slugs name; None for the site library): its YAML text, and the
    stored bytes of its sources' images by their path in a .zip pack.

    An exercise brings its sources, its background and its questions' mark schemes
    with it, so the pack imports on its own. Order: the slugs as named, then what the
    exercises bring, each once. Raises :class:`UnknownSlugs` for names not found.
    """
    missing: list[str] = []
    exercises = _fetch(
        Exercise.objects.select_related("background").prefetch_related(
            Prefetch(
                "exercise_sources", ExerciseSource.objects.select_related("source").order_by("position")
            ),
            Prefetch("questions", Question.objects.select_related("source", "mark_scheme")),
        ),
        list(dict.fromkeys(exercise_slugs)),
        missing,
        owner,
    )
    source_slugs = list(
        dict.fromkeys(
            [
                *source_slugs,
                *(link.source.slug for exercise in exercises for link in exercise.exercise_sources.all()),
            ]
        )
    )
    scheme_slugs = list(
        dict.fromkeys(
            [
                *mark_scheme_slugs,
                *(
                    question.mark_scheme.slug
                    for exercise in exercises
                    for question in exercise.questions.all()
                    if question.mark_scheme
                ),
            ]
        )
    )
    sources = _fetch(
        Source.objects.prefetch_related(
            Prefetch("passages", Passage.objects.order_by("position", "pk")),
            Prefetch("glossary", GlossaryTerm.objects.order_by("position", "pk")),
            Prefetch("regions", Region.objects.order_by("position", "pk")),
        ),
        source_slugs,
        missing,
        owner,
    )
    schemes = _fetch(
        MarkScheme.objects.prefetch_related(Prefetch("levels", Level.objects.order_by("number"))),
        scheme_slugs,
        missing,
        owner,
    )
    background_slugs = list(
        dict.fromkeys(
            [
                *background_slugs,
                *(exercise.background.slug for exercise in exercises if exercise.background_id),
            ]
        )
    )
    backgrounds = _fetch(Background.objects.all(), background_slugs, missing, owner)
    if missing:
        raise UnknownSlugs(list(dict.fromkeys(missing)))

    data = {}
    if sources:
        data["sources"] = [_source_data(source) for source in sources]
    if schemes:
        data["mark_schemes"] = [_scheme_data(scheme) for scheme in schemes]
    if backgrounds:
        data["backgrounds"] = [_background_data(background) for background in backgrounds]
    if exercises:
        data["exercises"] = [_exercise_data(exercise) for exercise in exercises]
    text = yaml.dump(
        data,
        Dumper=_PackDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=sys.maxsize,
        indent=2,
    )
    # Lossless or nothing: a representer slip must never quietly change a passage.
    if yaml.safe_load(text) != data:
        raise AssertionError("source pack export does not read back identically")
    images = {}
    for source in sources:
        if source.image:
            with source.image.open("rb") as file:
                images[image_path(source)] = file.read()
    return text, images
