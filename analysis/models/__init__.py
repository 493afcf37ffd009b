"""The app's models, defined by domain and gathered here so that Django (and ``from
analysis.models import …``) finds them under the one app label ``analysis``:

- ``analysis.library.models``: sources, passages, glossary, mark schemes, exercises, questions;
- ``analysis.classwork.models``: assignments, extensions, submissions, responses, evidence;
- ``analysis.marking.models``: marks, their audit trail, the comment bank;
- ``analysis.news.models``: when a teacher last looked at an assignment (what's new).
"""

from analysis.classwork.models import (
    SUPPORT_SHOWS,
    AssignedPupil,
    Assignment,
    AssignmentQuerySet,
    Evidence,
    Extension,
    Response,
    ResponseQuerySet,
    StudentSupport,
    Submission,
    SubmissionQuerySet,
    SupportLevel,
    TimeLimitAction,
)
from analysis.library.models import (
    SLUG_REGEX,
    STAGE_DEFAULT_CHECKS,
    STAGE_ORDER,
    Background,
    Exercise,
    ExerciseSource,
    GlossaryTerm,
    Level,
    MarkScheme,
    OwnedQuerySet,
    Passage,
    Question,
    Region,
    SelfCheck,
    SlugManager,
    Source,
    Stage,
)
from analysis.marking.models import CommentBankEntry, Mark, MarkChange
from analysis.news.models import AssignmentVisit
from analysis.studio.models import LibraryEdit

__all__ = [
    "SLUG_REGEX",
    "STAGE_DEFAULT_CHECKS",
    "SUPPORT_SHOWS",
    "STAGE_ORDER",
    "AssignedPupil",
    "Assignment",
    "AssignmentVisit",
    "Background",
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
    "SelfCheck",
    "SlugManager",
    "Source",
    "Stage",
    "StudentSupport",
    "Submission",
    "SubmissionQuerySet",
    "SupportLevel",
    "TimeLimitAction",
]
