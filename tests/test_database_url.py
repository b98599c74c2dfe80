"""DATABASE_URL and DATABASE_REPLICA_URL into DATABASES: one host as django-environ reads it,
libpq's multi-host form as libpq takes it (signposting/database_url.py)."""

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured

from signposting.database_url import (
    MULTI_HOST_CONNECT_TIMEOUT,
    MULTI_HOST_TCP_OPTIONS,
    database_config,
    databases,
)

CLUSTER = "postgres://postgres@127.0.0.1:5433,127.0.0.1:5434/signposting"


@pytest.mark.parametrize(
    "url",
    [
        "postgres://postgres@127.0.0.1:5432/signposting",
        "postgres://app:s%3Acret@db.internal/signposting?sslmode=require&connect_timeout=10",
        "postgresql://app@db.internal:6432/signposting?conn_max_age=600",
        "sqlite:////var/lib/signposting/signposting.sqlite3",
        "sqlite://:memory:",
    ],
)
def test_a_single_host_is_read_as_django_environ_reads_it(url):
    assert database_config(url) == environ.Env.db_url_config(url)


def test_several_hosts_become_libpq_lists_in_the_same_order():
    config = database_config(CLUSTER + "?target_session_attrs=read-write")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"]) == ("127.0.0.1,127.0.0.1", "5433,5434")
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("signposting", "postgres", "")
    assert config["OPTIONS"] == {
        "target_session_attrs": "read-write",
        "connect_timeout": MULTI_HOST_CONNECT_TIMEOUT,
        **MULTI_HOST_TCP_OPTIONS,
    }


def test_a_host_that_vanishes_silently_is_given_up_before_gunicorn_kills_the_worker():
    options = database_config(CLUSTER)["OPTIONS"]
    # Data unacknowledged past tcp_user_timeout, or the keepalives unanswered, end the
    # connection: both within gunicorn's 30 s worker timeout, so the user gets the error
    # page rather than a dropped connection.
    silent = (
        options["keepalives_idle"] + options["keepalives_interval"] * options["keepalives_count"]
    )
    assert options["keepalives"] == 1
    assert silent < 30
    assert options["tcp_user_timeout"] < 30_000
    assert database_config(CLUSTER + "?keepalives_idle=60")["OPTIONS"]["keepalives_idle"] == 60


def test_a_dead_host_is_passed_over_in_seconds_unless_the_url_says_otherwise():
    assert database_config(CLUSTER)["OPTIONS"]["connect_timeout"] == 3
    assert database_config(CLUSTER + "?connect_timeout=10")["OPTIONS"]["connect_timeout"] == 10


def test_a_host_without_a_port_keeps_the_default_port_in_its_place():
    # django-environ 0.14 gives "5434" here: port 5434 for both hosts.
    config = database_config("postgres://app@db-a,db-b:5434/signposting")
    assert (config["HOST"], config["PORT"]) == ("db-a,db-b", "5432,5434")


def test_ipv6_hosts_lose_their_brackets_and_keep_their_ports():
    config = database_config("postgresql://app@[::1]:5433,[fd00::2]/signposting")
    assert (config["HOST"], config["PORT"]) == ("::1,fd00::2", "5433,5432")


def test_the_user_password_database_and_socket_directories_are_percent_decoded():
    config = database_config(
        "postgres://app%40la:p%2Fss%3Aw@%2Fvar%2Frun%2Fpostgresql,db-b:5433/sign%20posting"
        "?application_name=web&sslmode=verify-full"
    )
    assert (config["USER"], config["PASSWORD"], config["NAME"]) == (
        "app@la",
        "p/ss:w",
        "sign posting",
    )
    assert config["HOST"] == "/var/run/postgresql,db-b"
    assert config["OPTIONS"]["application_name"] == "web"
    assert config["OPTIONS"]["sslmode"] == "verify-full"


def test_djangos_own_keys_in_the_query_are_settings_not_libpq_options():
    config = database_config(CLUSTER + "?conn_health_checks=true&target_session_attrs=primary")
    assert config["CONN_HEALTH_CHECKS"] is True
    assert "conn_health_checks" not in config["OPTIONS"]


@pytest.mark.parametrize(
    "url",
    [
        "postgres://app@db-a:5432,db-b:port/signposting",
        "postgres://app@db-a:5432,db-b:70000/signposting",
        "postgres://app@db-a:5432,,db-b/signposting",
        "postgres://app@[::1:5432,db-b/signposting",
    ],
)
def test_a_malformed_host_list_is_refused_at_start(url):
    with pytest.raises(ImproperlyConfigured):
        database_config(url)


def test_postgresql_connections_are_persistent_and_health_checked():
    default = databases(url=CLUSTER + "?target_session_attrs=read-write", conn_max_age=30)[
        "default"
    ]
    assert (default["CONN_MAX_AGE"], default["CONN_HEALTH_CHECKS"]) == (30, True)
    assert default["OPTIONS"]["server_side_binding"] is True
    assert default["OPTIONS"]["target_session_attrs"] == "read-write"


def test_sqlite_keeps_its_write_lock_options():
    default = databases(url="sqlite:////tmp/signposting.sqlite3")["default"]
    assert default["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "CONN_HEALTH_CHECKS" not in default


def test_no_replica_url_no_replica_alias():
    assert set(databases(url=CLUSTER)) == {"default"}


def test_the_replica_is_a_persistent_alias_that_mirrors_default_in_tests():
    configured = databases(
        url=CLUSTER + "?target_session_attrs=read-write",
        replica_url=(
            "postgres://postgres@127.0.0.1:5434,127.0.0.1:5433/signposting"
            "?target_session_attrs=prefer-standby"
        ),
    )
    replica = configured["replica"]
    assert (replica["HOST"], replica["PORT"]) == ("127.0.0.1,127.0.0.1", "5434,5433")
    assert replica["OPTIONS"]["target_session_attrs"] == "prefer-standby"
    assert replica["CONN_HEALTH_CHECKS"] is True
    # A test run creates no database on the standby: the alias reads the test database.
    assert replica["TEST"] == {"MIRROR": "default"}


def test_a_replica_needs_postgresql_on_both_sides():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL"):
        databases(url="sqlite:////tmp/signposting.sqlite3", replica_url=CLUSTER)
