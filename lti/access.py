"""What a teacher made by an LTI launch may see of the site library.

A platform's instructors see a site-library exercise's teacher-only material (indicative content,
model answers) only if that platform's switch (``Platform.instructors_see_teacher_only``) is on.
The pages ask through the ``sees_teacher_only`` template filter; copying an exercise asks too, so a
copy cannot carry the material out of the library (analysis/studio/services.py).
"""


def sees_teacher_only(user, item) -> bool:
    """Whether this teacher sees a site-library exercise's teacher-only material (model answers,
    indicative content). Everyone does, except users made by an LTI launch whose platforms all
    keep the per-platform switch off. Free for every other user (no query)."""
    if not getattr(item, "is_site_library", False):
        return True
    return not lti_restricted(user)


def lti_restricted(user) -> bool:
    if not getattr(user, "is_authenticated", False) or user.has_usable_password():
        return False
    cached = getattr(user, "_lti_teacher_only_hidden", None)
    if cached is None:
        flags = list(user.lti_identities.values_list("platform__instructors_see_teacher_only", flat=True))
        cached = bool(flags) and not any(flags)
        user._lti_teacher_only_hidden = cached
    return cached
