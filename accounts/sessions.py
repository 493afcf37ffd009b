"""Django's database sessions, read with one fixed SQL statement.

Every signed-in request reads its session before anything else, so building that lookup with
the ORM (a queryset, two lookups, a compiled statement: about half a millisecond of CPU, more
than the autosave's own write) is paid by every autosave and page. The table, the expiry rule,
the signed encoding and every write are Django's own (``SESSION_ENGINE = "accounts.sessions"``);
only this one read is written out.
"""

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def load(self):
        model = self.model
        connection = connections[router.db_for_read(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            # Unknown or expired, as in Django's load(): a new session key on the next save.
            self._session_key = None
            return {}
        return self.decode(row[0])
