"""The refusals of the pupils' workspace: exceptions carrying a translated, user-facing
``message``, which the views turn into status codes (``WorkClosed`` → 409, ``VersionConflict`` →
409 with the server's text, ``AnswerRejected``/``EvidenceRejected`` → 422)."""

from datetime import datetime

from django.utils.translation import gettext as _

# --- Errors -----------------------------------------------------------------------------------


class WorkError(Exception):
    """A rule of the workspace refused the action; ``message`` is shown to the student."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class WorkClosed(WorkError):
    """The work can no longer change: submitted, returned, not open yet or past a strict due date."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason  # "submitted" | "late" | "not_open"


class VersionConflict(WorkError):
    """The answer changed since the version the client based its edit on."""

    def __init__(self, *, text: str, version: int, updated_at: datetime):
        super().__init__(
            _("This answer was changed in another tab or window since you started editing it here.")
        )
        self.text = text
        self.version = version
        self.updated_at = updated_at


class AnswerRejected(WorkError):
    """The answer text cannot be stored (too long, or characters the database cannot hold)."""


class EvidenceRejected(WorkError):
    """The quotation cannot be attached (outside the passage, blank, not in this exercise…)."""


class HintsUnavailable(WorkError):
    """The assignment has hints turned off."""
