"""Support levels: what a pupil sees beside the sources, decided once here.

- Guided: caption, origin card, context note, background (timeline and key people), glossary,
  hints, sentence starters and modified texts.
- Standard: caption, origin card, background, glossary and hints.
- Exam conditions: caption and glossary only; no hints (whatever the assignment's hints option
  says) and no sentence starters; optionally a time limit, enforced by the server.

Passages, the glossary, the caption and the rights notice are shown at every level. Teacher
notes, indicative content and unreleased model answers are never shown to pupils at any level.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from analysis.models import SUPPORT_SHOWS, SupportLevel

# The parts of a source panel that differ by level (the panel cache keys on them).
PANEL_PARTS = ("origin", "context", "modified")

DESCRIPTIONS = {
    SupportLevel.GUIDED: _(
        "Caption, source information, context note, timeline and key people, glossary, hints, "
        "sentence starters and modified texts."
    ),
    SupportLevel.STANDARD: _("Caption, source information, timeline and key people, glossary and hints."),
    SupportLevel.EXAM: _(
        "Caption and glossary only: no hints or sentence starters; an optional time limit, with any "
        "extra time."
    ),
}


@dataclass(frozen=True)
class Support:
    """One pupil's support on one assignment."""

    level: str
    extra_time_percent: int = 0

    def _shows(self, part: str) -> bool:
        return part in SUPPORT_SHOWS[SupportLevel(self.level)]

    @property
    def label(self) -> str:
        return SupportLevel(self.level).label

    @property
    def origin(self) -> bool:
        return self._shows("origin")

    @property
    def context(self) -> bool:
        return self._shows("context")

    @property
    def background(self) -> bool:
        return self._shows("background")

    @property
    def hints(self) -> bool:
        return self._shows("hints")

    @property
    def starters(self) -> bool:
        return self._shows("starters")

    @property
    def modified(self) -> bool:
        return self._shows("modified")

    @property
    def is_exam(self) -> bool:
        return self.level == SupportLevel.EXAM

    @property
    def short_label(self) -> str:
        """The level, with any extra time where it counts: "Exam conditions +25% time"."""
        if self.extra_time_percent and self.is_exam:
            return _("%(level)s +%(extra)s%% time") % {"level": self.label, "extra": self.extra_time_percent}
        return str(self.label)

    @property
    def panel_key(self) -> str:
        """What of a source panel this level shows, for the panel cache's key."""
        return "+".join(part for part in PANEL_PARTS if self._shows(part)) or "bare"


def support_for(assignment, student_id: int) -> Support:
    """One pupil's support on an assignment (one query)."""
    from analysis.models import StudentSupport

    own = StudentSupport.objects.filter(assignment=assignment, student_id=student_id).first()
    return Support(
        level=(own.support_level if own else "") or assignment.support_level,
        extra_time_percent=own.extra_time_percent if own else 0,
    )


def supports_by_student(assignment) -> dict[int, Support]:
    """Every pupil with their own support settings on this assignment (one query); the others
    have the assignment's level (``default_support``)."""
    from analysis.models import StudentSupport

    return {
        own.student_id: Support(
            level=own.support_level or assignment.support_level, extra_time_percent=own.extra_time_percent
        )
        for own in StudentSupport.objects.filter(assignment=assignment)
    }


def default_support(assignment) -> Support:
    return Support(level=assignment.support_level)
