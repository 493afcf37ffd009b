"""The teachers' dashboard (``/teach/``): classes, assignments, the live progress grid,
marking by student and by question, returning marks, export and class insight.

Every view is for teachers only (``@teacher_required``: 404 for anyone else) and
fetches objects through querysets scoped to the classes the teacher teaches, so
another class's ids answer 404.
"""
