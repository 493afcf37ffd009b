"""Signals other apps listen to (the LTI tool posts to a gradebook on both). Sent after the
transaction commits, so a listener never sees work that was rolled back."""

from django.dispatch import Signal

# submission=<Submission>: handed in (first time, or again after a reopen).
work_handed_in = Signal()
# assignment=<Assignment>, submissions=[<Submission>]: marks returned to these pupils.
marks_released = Signal()
