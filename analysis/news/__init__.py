"""What's new: new work and returned feedback for pupils, new hand-ins for teachers, and the
optional daily e-mail digest sent by the background worker (docs/whats-new.md)."""
