"""Settings refuse bad environment values with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import env
from tests.conftest import REPO


@pytest.mark.parametrize("raw", ["maybe", "2", "yes please"])
def test_bad_bool_is_refused(monkeypatch, raw):
    monkeypatch.setenv("X_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="X_FLAG=.* is not a boolean"):
        env.env_bool("X_FLAG")


def test_good_bools(monkeypatch):
    for raw, value in [("1", True), ("off", False), (" TRUE ", True), ("", False)]:
        monkeypatch.setenv("X_FLAG", raw)
        assert env.env_bool("X_FLAG") is value


def test_bad_int_and_minimum(monkeypatch):
    monkeypatch.setenv("X_INT", "12a")
    with pytest.raises(ImproperlyConfigured, match="X_INT='12a' is not an integer"):
        env.env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="must be at least 1"):
        env.env_int("X_INT", 5, minimum=1)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///db.sqlite3", "scheme must be postgres"),
        ("mysql://u@h/db", "scheme must be postgres"),
        ("postgres://u@h:5432/", "names no database"),
        ("postgres://u@h:port/db", "bad port"),
    ],
)
def test_bad_database_url_is_refused(monkeypatch, url, message):
    monkeypatch.setenv("X_DB", url)
    with pytest.raises(ImproperlyConfigured, match=message):
        env.parse_database_url("X_DB", "postgres://h/db")


def test_database_url_parsed(monkeypatch):
    monkeypatch.setenv("X_DB", "postgis://u:p%40ss@db.example:6543/cp?sslmode=require")
    db = env.parse_database_url("X_DB", "postgres://h/db")
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "cp",
        "u",
        "p@ss",
        "db.example",
        "6543",
    )
    # A connect timeout unless the URL names one: an unreachable server is a 503
    # within seconds; a broken connection is replaced at the next request.
    assert db["OPTIONS"] == {"sslmode": "require", "connect_timeout": "5"}
    assert db["CONN_HEALTH_CHECKS"] is True
    monkeypatch.setenv("X_DB", "postgis://h/db?connect_timeout=2")
    assert env.parse_database_url("X_DB", "")["OPTIONS"] == {"connect_timeout": "2"}


def test_behind_proxy_counts_hops(monkeypatch):
    for raw, hops in (("0", 0), ("false", 0), ("1", 1), ("true", 1), ("2", 2)):
        monkeypatch.setenv("X_PROXY", raw)
        assert env.env_count("X_PROXY") == hops
    monkeypatch.setenv("X_PROXY", "two")
    with pytest.raises(ImproperlyConfigured, match="X_PROXY"):
        env.env_count("X_PROXY")


def test_bad_redis_url_is_refused(monkeypatch):
    monkeypatch.setenv("X_REDIS", "http://localhost:6379")
    with pytest.raises(ImproperlyConfigured, match="X_REDIS"):
        env.check_redis_url("X_REDIS", "redis://127.0.0.1:6379/0")


def _setup_with(**overrides: str) -> subprocess.CompletedProcess:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "DATABASE_URL",
            "REDIS_URL",
            "CACHE_REDIS_URL",
            "CELERY_BROKER_URL",
            "HTTPS",
        }
    }
    environ.update(
        SECRET_KEY="settings-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        DATABASE_URL="postgis://postgres@127.0.0.1:5432/x",
    )
    environ.update(overrides)
    return _django_setup(environ)


def _django_setup(environ: dict[str, str]) -> subprocess.CompletedProcess:
    """`django.setup()` in a fresh interpreter with exactly `environ`."""
    environ = {**environ, "DJANGO_SETTINGS_MODULE": "crimepredict_site.settings"}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_django_starts_with_good_production_settings():
    result = _setup_with()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 50"),
        ({"DEBUG": "perhaps"}, "DEBUG='perhaps' is not a boolean"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "scheme must be postgres"),
        ({"IMPORT_UPLOAD_MAX_BYTES": "lots"}, "IMPORT_UPLOAD_MAX_BYTES='lots'"),
    ],
)
def test_django_refuses_to_start_with_bad_settings(overrides, message):
    result = _setup_with(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_missing_secret_key_in_production_is_refused():
    environ = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    result = _django_setup(environ)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
