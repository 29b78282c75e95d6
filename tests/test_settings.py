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


def test_request_bounds_default_to_what_the_app_needs_and_an_owner_can_change_them():
    defaults = load_settings({})
    assert defaults.max_request_bytes == 2_097_152 and defaults.body_timeout_s == 20.0
    assert defaults.max_bodies_per_client == 16
    assert defaults.max_json_depth == 32 and defaults.max_json_containers == 10_000
    assert defaults.max_file_size == 0
    changed = load_settings({"MAX_REQUEST_BYTES": "8388608", "BODY_TIMEOUT": "60", "MAX_FILE_SIZE": "1048576"})
    assert (changed.max_request_bytes, changed.body_timeout_s, changed.max_file_size) == (8_388_608, 60.0, 1_048_576)
    with pytest.raises(SettingsError, match="BODY_TIMEOUT"):
        load_settings({"BODY_TIMEOUT": "0"})


def test_embedding_requests_have_limits_of_their_own():
    assert (load_settings({}).max_embedding_inputs, load_settings({}).max_embedding_chars) == (2048, 1_000_000)
    settings = load_settings({"MAX_EMBEDDING_INPUTS": "100", "MAX_EMBEDDING_CHARS": "5000"})
    assert (settings.max_embedding_inputs, settings.max_embedding_chars) == (100, 5000)
    with pytest.raises(SettingsError, match="MAX_EMBEDDING_INPUTS"):
        load_settings({"MAX_EMBEDDING_INPUTS": "0"})
