"""DATABASE_URL and DATABASE_REPLICA_URL as Django's DATABASES, libpq's multi-host form included.

A URL naming one host is read by django-environ, exactly as before. A PostgreSQL URL naming
several, libpq's multi-host form

    postgres://postgres@10.0.0.1:5432,10.0.0.2:5432/signposting?target_session_attrs=read-write

becomes HOST="10.0.0.1,10.0.0.2" and PORT="5432,5432": psycopg hands both lists to libpq,
which tries the hosts in turn and, with target_session_attrs=read-write, keeps the one that
accepts writes (the primary, wherever it is after a failover). Every query option goes into
OPTIONS for libpq, and connect_timeout defaults to MULTI_HOST_CONNECT_TIMEOUT seconds, so that
a host that is down is passed over in seconds, not the minutes a lost packet can take; TCP
keepalives and tcp_user_timeout (MULTI_HOST_TCP_OPTIONS) end a connection to a host that
vanished silently in about 20 s.
(django-environ 0.14 reads such a URL too, but drops the port of a host written without one,
so that "h1,h2:5434" means port 5434 for both, keeps IPv6 brackets that libpq does not take,
and sets no timeout.)
"""

from typing import Any
from urllib.parse import parse_qsl, unquote

import environ
from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "pgsql", "psql"})
POSTGRESQL_ENGINE = "django.db.backends.postgresql"
SQLITE_ENGINE = "django.db.backends.sqlite3"
DEFAULT_PORT = "5432"
# Seconds libpq waits for each host of a multi-host URL before trying the next.
MULTI_HOST_CONNECT_TIMEOUT = 3
# A server that vanishes without closing its connections (a power cut, a network partition)
# leaves a request waiting for an answer that never comes. With these TCP settings the
# connection is declared dead within about 20 s (data unacknowledged for 15 s, or silence
# for 10 s and then 3 unanswered keepalives 3 s apart), before gunicorn's 30 s worker
# timeout: the user sees the "service unavailable" page, and the next request connects
# to whichever host is now the primary. A URL's own values win.
MULTI_HOST_TCP_OPTIONS = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,  # milliseconds
}
# Django's own keys, which a URL may carry in its query as django-environ allows
# (?conn_max_age=600); every other key is a libpq option.
_DJANGO_KEYS = {
    "CONN_MAX_AGE": int,
    "ATOMIC_REQUESTS": lambda value: environ.Env.parse_value(value, bool),
    "AUTOCOMMIT": lambda value: environ.Env.parse_value(value, bool),
    "DISABLE_SERVER_SIDE_CURSORS": lambda value: environ.Env.parse_value(value, bool),
    "CONN_HEALTH_CHECKS": lambda value: environ.Env.parse_value(value, bool),
}


def database_config(url: str) -> dict[str, Any]:
    """One entry of DATABASES from a database URL."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme.lower() in POSTGRES_SCHEMES and "," in _netloc(rest):
        return _multi_host_config(rest)
    return environ.Env.db_url_config(url)


def databases(*, url: str, replica_url: str = "", conn_max_age: int = 60) -> dict[str, dict]:
    """DATABASES: `default` from DATABASE_URL and, when DATABASE_REPLICA_URL is set, `replica`
    (signposting.db_router sends only the reads of reports and batch jobs there)."""
    default = database_config(url)
    if default["ENGINE"] == SQLITE_ENGINE:
        default["OPTIONS"] = {
            # Writers queue for the lock instead of failing with "database is
            # locked": every lookup writes an audit row.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
    else:
        _persistent(default, conn_max_age=conn_max_age)
    configured = {"default": default}
    if replica_url:
        replica = database_config(replica_url)
        if default["ENGINE"] != POSTGRESQL_ENGINE or replica["ENGINE"] != POSTGRESQL_ENGINE:
            raise ImproperlyConfigured(
                "DATABASE_REPLICA_URL is a streaming standby of the PostgreSQL primary: "
                "both it and DATABASE_URL must be postgres:// URLs"
            )
        _persistent(replica, conn_max_age=conn_max_age)
        # A test run never creates a database on the standby (it could not: a standby is
        # read-only); the alias reads the test database, as `default` does.
        replica["TEST"] = {"MIRROR": "default"}
        configured["replica"] = replica
    return configured


def _persistent(config: dict[str, Any], *, conn_max_age: int) -> None:
    """PostgreSQL: persistent connections, checked before reuse at each request, so that one
    broken by a failover is dropped and opened again (finding the new primary)."""
    config["CONN_MAX_AGE"] = conn_max_age
    config["CONN_HEALTH_CHECKS"] = True
    # Server-side binding lets psycopg prepare statements a connection repeats
    # (the audit append, the search blocks): parsed and planned once.
    config.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 2})


def _netloc(rest: str) -> str:
    """The part of a URL (after "scheme://") up to its path, query or fragment."""
    end = len(rest)
    for mark in "/?#":
        index = rest.find(mark)
        if index != -1:
            end = min(end, index)
    return rest[:end]


def _multi_host_config(rest: str) -> dict[str, Any]:
    netloc = _netloc(rest)
    tail = rest[len(netloc) :].split("#", 1)[0]
    path, _, query = tail.partition("?")
    userinfo, _, hostlist = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    hosts, ports = [], []
    for item in hostlist.split(","):
        host, port = _host_and_port(item)
        hosts.append(host)
        ports.append(port or DEFAULT_PORT)
    config: dict[str, Any] = {
        "ENGINE": POSTGRESQL_ENGINE,
        "NAME": unquote(path.lstrip("/")),
        "USER": unquote(user),
        "PASSWORD": unquote(password),
        "HOST": ",".join(hosts),
        # One port for each host, in the same order: libpq pairs them by position.
        "PORT": ",".join(ports),
    }
    options: dict[str, Any] = {
        "connect_timeout": MULTI_HOST_CONNECT_TIMEOUT,
        **MULTI_HOST_TCP_OPTIONS,
    }
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.upper() in _DJANGO_KEYS:
            config[key.upper()] = _DJANGO_KEYS[key.upper()](value)
        else:
            options[key] = int(value) if value.isdigit() else value
    config["OPTIONS"] = options
    return config


def _host_and_port(item: str) -> tuple[str, str]:
    """ "host", "host:5433", "[::1]:5433" or a percent-encoded socket directory."""
    item = item.strip()
    if not item:
        raise ImproperlyConfigured("A database URL names an empty host between two commas")
    if item.startswith("["):
        end = item.find("]")
        if end == -1:
            raise ImproperlyConfigured(f"A database URL's host {item!r} lacks its closing ]")
        host, rest = item[1:end], item[end + 1 :]
        port = rest[1:] if rest.startswith(":") else rest
    else:
        host, _, port = item.partition(":")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ImproperlyConfigured(f"A database URL's host {item!r} has no valid port")
    return unquote(host), port
