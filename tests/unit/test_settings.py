from __future__ import annotations

from pathlib import Path

import pytest

from lienthong.plumbing.settings import Settings, SettingsError, env_names


def test_defaults_work_with_the_local_broker_script() -> None:
    settings = Settings.from_env({})
    assert settings.kafka.bootstrap == "127.0.0.1:9092"
    assert settings.topics.inbound == "lienthong.inbound"
    assert settings.topics.delivery_prefix == "lienthong.deliver."
    assert settings.directory.path == Path("deploy/directory.example.yaml")


def test_values_come_from_prefixed_variables() -> None:
    settings = Settings.from_env(
        {
            "LIENTHONG_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
            "LIENTHONG_KAFKA_LINGER_MS": "20",
            "LIENTHONG_TOPICS_INBOUND_PARTITIONS": "12",
            "PATH": "/usr/bin",  # other variables are not ours
        }
    )
    assert settings.kafka.bootstrap == "127.0.0.1:19092"
    assert settings.kafka.linger_ms == 20
    assert settings.topics.inbound_partitions == 12


def test_unknown_variable_is_rejected_with_a_suggestion() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"LIENTHONG_KAFKA_BOOTSTRAPS": "x", "LIENTHONG_NOPE": "1"})
    message = str(caught.value)
    assert (
        "LIENTHONG_KAFKA_BOOTSTRAPS: unknown setting (did you mean LIENTHONG_KAFKA_BOOTSTRAP?)"
        in message
    )
    assert "LIENTHONG_NOPE: unknown setting" in message


def test_local_script_variables_are_not_settings_and_not_errors() -> None:
    assert Settings.from_env({"LIENTHONG_LOCAL_KAFKA_PORT": "19092"}) == Settings()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"LIENTHONG_KAFKA_LINGER_MS": "soon"}, "LIENTHONG_KAFKA_LINGER_MS='soon'"),
        ({"LIENTHONG_TOPICS_INBOUND_PARTITIONS": "0"}, "greater than or equal to 1"),
        ({"LIENTHONG_LOG_FORMAT": "xml"}, "LIENTHONG_LOG_FORMAT"),
        ({"LIENTHONG_KAFKA_DELIVERY_TIMEOUT_MS": "15000"}, "must exceed linger_ms"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        Settings.from_env(env)


def test_a_cross_field_error_does_not_echo_the_section() -> None:
    env = {"LIENTHONG_KAFKA_DELIVERY_TIMEOUT_MS": "2000", "LIENTHONG_KAFKA_SASL_PASSWORD": "pw1"}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert "LIENTHONG_KAFKA_*: Value error, delivery_timeout_ms (2000)" in str(caught.value)
    assert "pw1" not in str(caught.value)


def test_secrets_are_masked_when_printed() -> None:
    settings = Settings.from_env({"LIENTHONG_KAFKA_SASL_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.describe())
    assert settings.kafka.sasl_password is not None
    assert settings.kafka.sasl_password.get_secret_value() == "hunter2"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.kafka.bootstrap = "elsewhere:9092"


def test_every_field_has_a_variable() -> None:
    names = env_names()
    assert names["LIENTHONG_KAFKA_BOOTSTRAP"] == ("kafka", "bootstrap")
    assert names["LIENTHONG_DIRECTORY_PATH"] == ("directory", "path")
    assert len(names) == sum(len(type(s).model_fields) for s in Settings().__dict__.values())
