"""Django's database sessions, read with one plain SQL statement.

Every signed-in request reads its session; Django's ORM takes longer to build that
query than PostgreSQL takes to answer it. Same table, same expiry rule, same
behaviour otherwise (django.contrib.sessions.backends.db).
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        model = self.model
        database = router.db_for_read(model, instance=None)
        with connections[database].cursor() as cursor:
            cursor.execute(
                f"SELECT session_data, expire_date FROM {model._meta.db_table}"  # noqa: S608
                " WHERE session_key = %s AND expire_date > %s",
                [self.session_key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return model(session_key=self.session_key, session_data=row[0], expire_date=row[1])
