"""The one `env:NAME` syntax and its reading, as sources and notifications both see it."""

from __future__ import annotations

import pytest

from lineofsight.domain.secrets import SecretUnavailable, env_name, read_secret
from lineofsight.errors import SourceError
from lineofsight.services.notify_transport import SendFailure, resolve_secret
from lineofsight.sources.secrets import resolve


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("env:WAREHOUSE_URL", "WAREHOUSE_URL"),
        ("env:_x1", "_x1"),
        ("env:", None),
        ("env:1ABC", None),
        ("env:A-B", None),
        ("env:ÉTÉ", None),  # not a name a shell accepts
        ("env: A", None),
        ("postgresql://host/db", None),
        ("ENV:A", None),
    ],
)
def test_env_name_accepts_only_shell_variable_names(text: str, name: str | None) -> None:
    assert env_name(text) == name


def test_read_secret_names_the_unset_variable_and_never_a_value() -> None:
    assert read_secret("env:A", {"A": "s3cret"}) == "s3cret"
    with pytest.raises(SecretUnavailable, match="the environment variable B is not set") as err:
        read_secret("env:B", {"B": ""})
    assert err.value.name == "B"
    with pytest.raises(SecretUnavailable, match="not an env:NAME reference"):
        read_secret("https://user:pw@host", {})


def test_sources_and_notifications_read_one_way_with_their_own_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOS_TEST_SHARED_SECRET", "value-1")
    monkeypatch.delenv("LOS_TEST_UNSET_SECRET", raising=False)
    assert resolve("env:LOS_TEST_SHARED_SECRET") == "value-1"
    assert resolve_secret("env:LOS_TEST_SHARED_SECRET", "smtp.password") == "value-1"
    assert resolve("sqlite:///plain.db") == "sqlite:///plain.db"
    with pytest.raises(SourceError, match="environment variable LOS_TEST_UNSET_SECRET is not set"):
        resolve("env:LOS_TEST_UNSET_SECRET")
    with pytest.raises(
        SendFailure, match=r"smtp\.password: the environment variable LOS_TEST_UNSET_SECRET is not"
    ):
        resolve_secret("env:LOS_TEST_UNSET_SECRET", "smtp.password")
    with pytest.raises(SendFailure, match="webhook w: url is not an env:NAME reference"):
        resolve_secret("https://hooks.example/x", "webhook w: url")
    with pytest.raises(SourceError, match="env: names an environment variable"):
        resolve("env:not-a-name")
