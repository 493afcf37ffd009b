"""The app's models, defined by domain and gathered here so that Django (and ``from
analysis.models import …``) finds them under the one app label ``analysis``:

- ``analysis.library.models``: sources, passages, glossary, mark schemes, exercises, questions;
- ``analysis.classwork.models``: assignments, extensions, submissions, responses, evidence;
- ``analysis.marking.models``: marks, their audit trail, the comment bank.
"""

from analysis.classwork.models import (
    Assignment,
    AssignmentQuerySet,
    Evidence,
    Extension,
    Response,
    ResponseQuerySet,
    Submission,
    SubmissionQuerySet,
)
from analysis.library.models import (
    SLUG_REGEX,
    STAGE_ORDER,
    Exercise,
    ExerciseSource,
    GlossaryTerm,
    Level,
    MarkScheme,
    OwnedQuerySet,
    Passage,
    Question,
    Region,
    SlugManager,
    Source,
    Stage,
)
from analysis.marking.models import CommentBankEntry, Mark, MarkChange
from analysis.studio.models import LibraryEdit

__all__ = [
    "SLUG_REGEX",
    "STAGE_ORDER",
    "Assignment",
    "AssignmentQuerySet",
    "CommentBankEntry",
    "Evidence",
    "Exercise",
    "ExerciseSource",
    "Extension",
    "GlossaryTerm",
    "Level",
    "LibraryEdit",
    "Mark",
    "OwnedQuerySet",
    "MarkChange",
    "MarkScheme",
    "Passage",
    "Question",
    "Region",
    "Response",
    "ResponseQuerySet",
    "SlugManager",
    "Source",
    "Stage",
    "Submission",
    "SubmissionQuerySet",
]
