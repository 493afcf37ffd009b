"""The pupils' "what's new" count in the navigation, on every page but the workspace."""

from functools import cache

from analysis.news.selectors import pupil_news

# Pages that never show the count: the workspace is the busiest page there is, and a pupil in it
# is already at work (its query budget is pinned in tests/analysis/test_query_budgets.py).
SKIPPED_VIEWS = frozenset({"learn:workspace"})


def whats_new(request):
    """``whats_new_count``: a callable the template calls only where it shows the count (pupils'
    navigation), so no other page pays its query. A view that has the count already (the pupil's
    list) leaves it on ``request.whats_new_count`` and no query is made."""

    @cache
    def count():
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_student:
            return 0
        known = getattr(request, "whats_new_count", None)
        if known is not None:
            return known
        match = request.resolver_match
        if match is not None and match.view_name in SKIPPED_VIEWS:
            return 0
        return pupil_news(student=user).total

    return {"whats_new_count": count}
