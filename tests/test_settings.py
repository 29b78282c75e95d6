from __future__ import annotations

import pytest

from settings import SettingsError, load_settings


def test_defaults_serve_the_embedded_model_on_auto_device():
    settings = load_settings({})
    assert settings.model_id is None and settings.task is None
    assert settings.device == "auto" and settings.half_precision
    assert settings.max_batch_size == 32 and settings.space_id is None


def test_values_are_parsed_and_trimmed():
    settings = load_settings(
        {"MODEL_ID": " org/model ", "DEVICE": "CPU", "MAX_BATCH_SIZE": "8", "HALF_PRECISION": "false",
         "ADMIN_USERS": "alice, bob;carol", "ACCELERATOR": "none", "ADMIN_SPACE_ID": "me/space"}
    )
    assert settings.model_id == "org/model" and settings.device == "cpu"
    assert settings.max_batch_size == 8 and not settings.half_precision
    assert settings.admin_users == {"alice", "bob", "carol"}
    assert settings.accelerator is None
    assert settings.space_id == "me/space"


def test_space_id_from_the_space_wins_over_the_local_override():
    assert load_settings({"SPACE_ID": "owner/real", "ADMIN_SPACE_ID": "me/local"}).space_id == "owner/real"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DEVICE": "tpu"}, "DEVICE"),
        ({"MAX_BATCH_SIZE": "lots"}, "MAX_BATCH_SIZE"),
        ({"MAX_BATCH_SIZE": "0"}, "MAX_BATCH_SIZE"),
        ({"HALF_PRECISION": "maybe"}, "HALF_PRECISION"),
        ({"DIAGNOSTICS_TIMEOUT": "-1"}, "DIAGNOSTICS_TIMEOUT"),
    ],
)
def test_a_bad_value_names_its_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings(env)


def test_the_token_is_not_in_the_settings_repr():
    token = "hf_" + "x" * 34
    settings = load_settings({"HF_TOKEN": token})
    assert settings.hf_token == token
    assert token not in repr(settings)


def test_embedding_requests_have_limits_of_their_own():
    assert (load_settings({}).max_embedding_inputs, load_settings({}).max_embedding_chars) == (2048, 1_000_000)
    settings = load_settings({"MAX_EMBEDDING_INPUTS": "100", "MAX_EMBEDDING_CHARS": "5000"})
    assert (settings.max_embedding_inputs, settings.max_embedding_chars) == (100, 5000)
    with pytest.raises(SettingsError, match="MAX_EMBEDDING_INPUTS"):
        load_settings({"MAX_EMBEDDING_INPUTS": "0"})
