"""Secrets never reach any output (JSON, Markdown, CLI, tab, start-up log): values shown by allow-list only,
URL userinfo and credential shapes masked in every text."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time

import pytest

from diagnostics.render import summary_lines, to_markdown
from diagnostics.report import Report, collect_report
from diagnostics.runner import ROOT
from redaction import REDACTED, environment_report, is_shown, redact_data, redact_text, secret_values
from tests.fixtures.diagnostics import FAKE_TOKEN, RAISES, SEGFAULTS

PLAIN_SECRET = "correct-horse-battery-staple"
"""Not token-shaped: only its variable's name (MY_API_KEY) marks it secret."""
OPENAI_KEY = "sk-proj-" + "Zq7" * 12
DB_PASSWORD = "pg-Passw0rd-in-a-url"
# Values a deny-list of name words let through to signed-out visitors (issue 9, item 4).
LEAKED_BEFORE = {
    "HF_SECRETS": "swordfish-in-hf-secrets",
    "HF_HUB_PASS": "hunter2-hub-pass",
    "SPACE_DB_URL": f"postgres://app:{DB_PASSWORD}@db.internal:5432/app",
    "SPACE_NOTE": f"token is {FAKE_TOKEN}, openai {OPENAI_KEY}",
}
# Values shown under the allowed GPU prefixes because the name rule missed PWD, PW and fused words (issue 16).
ISSUE_16_SECRETS = {
    "NVIDIA_PWD": "nvidia-pwd-value-16",
    "CUDA_PW": "cuda-pw-value-16",
    "NCCL_SECRETKEY": "nccl-secretkey-value-16",
    "NVIDIA_ACCESSKEY": "nvidia-accesskey-value-16",
}


@pytest.fixture
def leaky_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """Secrets set, and stand-ins on PYTHONPATH that echo them into an import error and onto stderr."""
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.setenv("OTHER_SECRET", FAKE_TOKEN)
    monkeypatch.setenv("MY_API_KEY", PLAIN_SECRET)
    for name, value in {**LEAKED_BEFORE, **ISSUE_16_SECRETS}.items():
        monkeypatch.setenv(name, value)
    path = os.pathsep.join(map(str, (RAISES, SEGFAULTS)))
    monkeypatch.setenv("PYTHONPATH", path)
    return path


def _clean(text: str) -> None:
    for secret in (
        FAKE_TOKEN,
        PLAIN_SECRET,
        OPENAI_KEY,
        DB_PASSWORD,
        *LEAKED_BEFORE.values(),
        *ISSUE_16_SECRETS.values(),
    ):
        assert secret not in text


@pytest.fixture
def leaky_report(leaky_env: str) -> Report:
    return collect_report(60)


def test_report_json_markdown_and_summary_hold_no_secret(leaky_report: Report):
    text = json.dumps(leaky_report.to_dict())
    _clean(text)
    assert REDACTED in leaky_report.torch.import_error  # the stand-in did try to leak it
    assert leaky_report.host.environment["HF_TOKEN"] == REDACTED
    for name in (*LEAKED_BEFORE, *ISSUE_16_SECRETS):  # listed by name, value withheld
        assert leaky_report.host.environment[name] == REDACTED
    _clean(to_markdown(leaky_report))
    _clean("\n".join(summary_lines(leaky_report)))


def test_cli_output_holds_no_secret(leaky_env: str):
    out = subprocess.run(
        [sys.executable, "-m", "diagnostics", "--json", "--timeout", "60"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    _clean(out.stdout + out.stderr)
    markdown = subprocess.run(
        [sys.executable, "-m", "diagnostics"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    _clean(markdown.stdout + markdown.stderr)
    assert REDACTED in markdown.stdout


def test_tab_json_displays_and_download_hold_no_secret(leaky_env: str, tmp_path):
    """What /diagnostics returns, every display of the page, and the downloadable JSON file."""
    from pathlib import Path

    from diagnostics.cache import LatestReport
    from diagnostics.downloads import ReportFiles
    from diagnostics.tab import ReportViews

    reports = LatestReport(timeout_s=60)
    views = ReportViews(reports, ReportFiles(parent=tmp_path))
    data = views.answer_json(reports.refresh())
    _clean(json.dumps(data))
    *displays, download = views.render(data)
    _clean(json.dumps([str(value) for value in displays]))
    _clean(Path(download.value["path"]).read_text())


def test_startup_log_holds_no_secret(leaky_env: str, caplog: pytest.LogCaptureFixture):
    from diagnostics.cache import LatestReport
    from diagnostics.startup import start_background_summary

    with caplog.at_level(logging.INFO, logger="diagnostics"):
        start_background_summary(LatestReport(timeout_s=60)).join(120)
    _clean(caplog.text)
    assert "torch" in caplog.text


def test_redact_data_walks_nested_json():
    data = {"a": [f"x {FAKE_TOKEN}", {"b": PLAIN_SECRET}], "n": 1}
    assert redact_data(data, [PLAIN_SECRET]) == {"a": [f"x {REDACTED}", {"b": REDACTED}], "n": 1}


def test_log_records_are_scrubbed_message_arguments_and_traceback(caplog):
    import logging

    from redaction import RedactingFilter

    token = "hf_" + "Q" * 34
    logger = logging.getLogger("test.redaction")
    caplog.handler.addFilter(RedactingFilter([token]))
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("calling the Hub with %s", token)
        try:
            raise RuntimeError(f"401 for token {token}")
        except RuntimeError:
            logger.exception("failed")
    assert token not in caplog.text
    assert caplog.text.count("[redacted]") >= 2


@pytest.mark.parametrize(
    "name",
    [
        "HF_TOKEN",
        "OAUTH_CLIENT_SECRET",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "API_KEY",
        "OPENAI_APIKEY",
        "GITHUB_AUTH",
        "HUGGINGFACEHUB_API_TOKEN",
        "session-cookie",
    ],
)
def test_secret_names_are_recognised(name):
    from redaction import is_secret_name

    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["SPACE_AUTHOR_NAME", "KEYBOARD_LAYOUT", "MONKEY_PATCH", "TOKENIZERS_PARALLELISM"])
def test_ordinary_names_that_merely_contain_a_secret_word_are_not(name):
    from redaction import is_secret_name

    assert not is_secret_name(name)


@pytest.mark.parametrize("name", ["HF_SECRETS", "HF_HUB_PASS", "MY_KEYS", "DATABASE_DSN"])
def test_plural_and_short_secret_words_are_recognised(name):
    from redaction import is_secret_name

    assert is_secret_name(name)


def test_environment_shows_values_only_by_allow_list():
    """GPU settings show their values; everything else under the related prefixes shows by name only."""
    env = {
        "CUDA_VISIBLE_DEVICES": "0",
        "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        "LD_LIBRARY_PATH": "/usr/local/nvidia/lib64",
        "SPACE_ID": "alice/gpu-self-check",
        "ACCELERATOR": "t4-small",
        "NVIDIA_API_KEY": "nvapi-" + "k" * 40,  # allowed prefix, secret name: still withheld
        "HF_ENDPOINT": f"https://user:{DB_PASSWORD}@hub.example",
        "TF_SOMETHING_NEW": "who knows",
        "OAUTH_CLIENT_ID": "0000-1111",
        "HOME": "/home/user",  # unrelated: not listed at all
        **LEAKED_BEFORE,
    }
    shown = environment_report(env)
    assert shown["CUDA_VISIBLE_DEVICES"] == "0"
    assert shown["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
    assert shown["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert shown["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert shown["LD_LIBRARY_PATH"] == "/usr/local/nvidia/lib64"
    assert shown["SPACE_ID"] == "alice/gpu-self-check" and shown["ACCELERATOR"] == "t4-small"
    assert shown["HF_ENDPOINT"] == f"https://{REDACTED}@hub.example"
    for name in ("NVIDIA_API_KEY", "TF_SOMETHING_NEW", "OAUTH_CLIENT_ID", *LEAKED_BEFORE):
        assert shown[name] == REDACTED, name
    assert "HOME" not in shown
    assert list(shown) == sorted(shown)
    assert not is_shown("NVIDIA_API_KEY") and is_shown("CUDA_HOME")


@pytest.mark.parametrize(
    "secret",
    [
        FAKE_TOKEN,
        "hf_oauth_" + "a1B2" * 8,
        OPENAI_KEY,
        "sk-ant-api03-" + "x" * 40,
        "ghp_" + "G" * 36,
        "github_pat_" + "11ABCDEFG0" * 5,
        "AKIAIOSFODNN7EXAMPLE",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "nvapi-" + "n" * 40,
    ],
)
def test_credential_shapes_are_masked_in_any_text(secret):
    text = redact_text(f"The Hub said: 401 for {secret}, retry.")
    assert secret not in text and REDACTED in text and text.startswith("The Hub said: 401 for ")


def test_url_userinfo_and_bearer_values_are_masked():
    text = redact_text(f"connect postgres://app:{DB_PASSWORD}@db:5432/x with Authorization: Bearer abc.def.ghi123")
    assert DB_PASSWORD not in text and "abc.def.ghi123" not in text
    assert f"postgres://{REDACTED}@db:5432/x" in text


def test_ordinary_text_is_left_alone():
    text = "task-classification on cuda:0, disk-usage 3 GiB, https://huggingface.co/spaces/a/b, Basic plan"
    assert redact_text(text) == text


def test_passwords_inside_url_variables_are_scrubbed_wherever_they_appear():
    secrets = secret_values({"SPACE_DB_URL": LEAKED_BEFORE["SPACE_DB_URL"], "HF_SECRETS": "swordfish-in-hf-secrets"})
    text = redact_text(f"auth failed for password {DB_PASSWORD}; secrets swordfish-in-hf-secrets", secrets)
    assert DB_PASSWORD not in text and "swordfish" not in text


# Real names of secret variables, each with where it is documented or used. Before the rule judged name
# words fused or abbreviated, it got 17 of the 26 real-world names right (and none of issue 16's four).
REAL_SECRET_NAMES = {
    # Issue 16, item 10: shown by the report, under the allowed CUDA_ / NVIDIA_ / NCCL_ prefixes.
    "NVIDIA_PWD": "issue 16",
    "CUDA_PW": "issue 16",
    "NCCL_SECRETKEY": "issue 16",
    "NVIDIA_ACCESSKEY": "issue 16",
    "MYSQL_PWD": "https://dev.mysql.com/doc/refman/8.4/en/environment-variables.html",
    "ORACLE_PWD": "https://github.com/oracle/docker-images/blob/main/OracleDatabase/SingleInstance/README.md",
    "PGPASSWORD": "https://www.postgresql.org/docs/current/libpq-envars.html",
    "MSSQL_SA_PASSWORD": "https://learn.microsoft.com/en-us/sql/linux/sql-server-linux-configure-environment-variables",
    # Jenkins' credentials() binds NAME_USR and NAME_PSW; NAME is the pipeline's own (DOCKERHUB is common).
    "BITBUCKET_COMMON_CREDS_PSW": "https://www.jenkins.io/doc/book/pipeline/jenkinsfile/#handling-credentials",
    "DOCKERHUB_PSW": "https://www.jenkins.io/doc/book/pipeline/jenkinsfile/#handling-credentials",
    "AZURE_CLIENT_SECRET": "https://learn.microsoft.com/en-us/python/api/azure-identity/"
    "azure.identity.environmentcredential",
    "AZURE_STORAGE_KEY": "https://learn.microsoft.com/en-us/cli/azure/storage/blob",
    "VOLC_ACCESSKEY": "https://github.com/volcengine/volc-sdk-java (README, AK/SK)",
    "VOLC_SECRETKEY": "https://github.com/volcengine/volc-sdk-java (README, AK/SK)",
    "COS_SECRETID": "https://github.com/mozillazg/go-cos (README)",
    "COS_SECRETKEY": "https://github.com/mozillazg/go-cos (README)",
    "SLACK_WEBHOOK_URL": "https://api.slack.com/messaging/webhooks (the URL holds the secret)",
    "TWINE_PASSWORD": "https://twine.readthedocs.io/en/stable/#environment-variables",
    "NODE_AUTH_TOKEN": "https://github.com/actions/setup-node",
    "CI_REGISTRY_PASSWORD": "https://docs.gitlab.com/ci/variables/predefined_variables/",
    "VAULT_TOKEN": "https://developer.hashicorp.com/vault/docs/commands#vault_token",
    "SENTRY_DSN": "https://docs.sentry.io/platforms/python/configuration/options/#dsn",
    "GOOGLE_APPLICATION_CREDENTIALS": "https://cloud.google.com/docs/authentication/application-default-credentials",
    "WANDB_API_KEY": "https://docs.wandb.ai/guides/track/environment-variables/",
    "NGC_API_KEY": "https://docs.nvidia.com/nim/large-language-models/latest/getting-started.html",
    "KAGGLE_KEY": "https://github.com/Kaggle/kaggle-api",
    "AWS_SESSION_TOKEN": "https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html",
    "RCLONE_CONFIG_PASS": "https://rclone.org/docs/#configuration-encryption",
    "BORG_PASSPHRASE": "https://borgbackup.readthedocs.io/en/stable/usage/general.html#environment-variables",
    "Stripe__SecretKey": "ASP.NET configuration's double-underscore form of Stripe:SecretKey",
}
NVIDIA_CONTAINER_DOCS = (
    "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/docker-specialized.html"
)
# Real names whose values are harmless, several of them useful to see (the GPU ones are shown).
REAL_HARMLESS_NAMES = {
    "SPACE_AUTHOR_NAME": "Spaces (hidden once by matching AUTH inside AUTHOR)",
    "TOKENIZERS_PARALLELISM": "https://huggingface.co/docs/tokenizers",
    "PWD": "POSIX shell: https://pubs.opengroup.org/onlinepubs/9699919799/utilities/V3_chap02.html",
    "OLDPWD": "POSIX shell, as PWD",
    "NCCL_IB_PKEY": "https://docs.nvidia.com/deeplearning/nccl/user-guide/docs/env.html (InfiniBand partition key)",
    "NCCL_SOCKET_IFNAME": "https://docs.nvidia.com/deeplearning/nccl/user-guide/docs/env.html",
    "NCCL_IB_HCA": "https://docs.nvidia.com/deeplearning/nccl/user-guide/docs/env.html",
    "CUDA_MPS_PIPE_DIRECTORY": "https://docs.nvidia.com/deploy/mps/index.html",
    "CUDA_DEVICE_ORDER": "https://docs.nvidia.com/cuda/cuda-c-programming-guide/#env-vars",
    "CUDA_CACHE_PATH": "https://docs.nvidia.com/cuda/cuda-c-programming-guide/#env-vars",
    "NVIDIA_VISIBLE_DEVICES": NVIDIA_CONTAINER_DOCS,
    "NVIDIA_DRIVER_CAPABILITIES": NVIDIA_CONTAINER_DOCS,
    "NVIDIA_REQUIRE_CUDA": NVIDIA_CONTAINER_DOCS,
}


@pytest.mark.parametrize("name", sorted(REAL_SECRET_NAMES))
def test_real_secret_variable_names_are_judged_secret(name: str) -> None:
    from redaction import is_secret_name

    assert is_secret_name(name), REAL_SECRET_NAMES[name]


@pytest.mark.parametrize("name", sorted(REAL_HARMLESS_NAMES))
def test_real_harmless_variable_names_are_not(name: str) -> None:
    """Judging one secret would hide its value and scrub it from every text (PWD: every path under it)."""
    from redaction import is_secret_name

    assert not is_secret_name(name), REAL_HARMLESS_NAMES[name]


def test_secrets_under_the_gpu_prefixes_are_withheld_and_gpu_settings_still_shown():
    """Issue 16: NVIDIA_PWD, CUDA_PW, NCCL_SECRETKEY and NVIDIA_ACCESSKEY showed their values in the report
    (allowed prefixes), and in every other text they reached; NCCL_IB_PKEY is a setting and stays shown."""
    secrets = {
        name: f"value-of-{name.lower()}-42" for name in ("NVIDIA_PWD", "CUDA_PW", "NCCL_SECRETKEY", "NVIDIA_ACCESSKEY")
    }
    env = {**secrets, "NCCL_IB_PKEY": "0x8001", "CUDA_VISIBLE_DEVICES": "0", "PWD": "/home/user/app"}
    shown = environment_report(env)
    for name in secrets:
        assert shown[name] == REDACTED, name
    assert shown["NCCL_IB_PKEY"] == "0x8001" and shown["CUDA_VISIBLE_DEVICES"] == "0"
    text = redact_text(f"libfoo: login failed for {' / '.join(secrets.values())} in /home/user/app", secret_values(env))
    assert text == "libfoo: login failed for " + " / ".join([REDACTED] * 4) + " in /home/user/app"


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://cdn.example/model.bin?token=Tk0987654321abc", "Tk0987654321abc"),
        ("https://api.example/v1/x?page=2&access_token=ya29.a0Abcdef123", "ya29.a0Abcdef123"),
        ("https://maps.example/api?api_key=k3y-0123456789&format=json", "k3y-0123456789"),
        # Azure SAS (https://learn.microsoft.com/en-us/azure/storage/common/storage-sas-overview)
        ("https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=abc%2Bdef%3D", "abc%2Bdef%3D"),
        # AWS presigned URL (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html)
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIDEXAMPLE%2F20260101&X-Amz-Signature=fe5f80f77d5f",
            "fe5f80f77d5f",
        ),
        ("https://app.example/callback#access_token=frag-secret-0123&token_type=bearer", "frag-secret-0123"),
        ("https://hub.example/api?apiKey=camelCaseSecret99", "camelCaseSecret99"),
        ("wss://relay.example/socket?auth=s3ss10n-s3cr3t", "s3ss10n-s3cr3t"),
        # Azure Storage connection string:
        # https://learn.microsoft.com/en-us/azure/storage/common/storage-configure-connection-string
        (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=b64+Key/0123==;EndpointSuffix=core.windows.net",
            "b64+Key/0123==",
        ),
    ],
)
def test_a_credential_in_a_url_query_is_masked(url: str, secret: str) -> None:
    text = redact_text(f"GET {url} failed: 403")
    assert secret not in text and REDACTED in text and text.startswith("GET ") and text.endswith(" failed: 403")


def test_harmless_query_parameters_stay():
    url = "https://huggingface.co/api/models?search=bert&limit=5&sort=downloads#files"
    assert redact_text(url) == url
    assert (
        redact_text("https://x.example/a?sv=2022-11-02&sp=r&sig=abc")
        == f"https://x.example/a?sv=2022-11-02&sp=r&sig={REDACTED}"
    )


QUERY_SECRET = "query-token-value-16"
# A probe whose framework prints one line to stderr and exits 1: the runner quotes that last line in the
# probe's error, which the start-up summary logs ("probe crashed: exited with status 1: ...").
CHATTY_JAX = f"""
import os, sys
sys.stderr.write("fetching https://cdn.example/jaxlib.whl?arch=x86_64&token={QUERY_SECRET} as "
                 + " ".join(os.environ[name] for name in {sorted(ISSUE_16_SECRETS)!r}) + "\\n")
sys.stderr.flush()
os._exit(1)
"""


@pytest.mark.slow
def test_a_probes_stderr_reaches_the_app_log_scrubbed(tmp_path):
    """The app run as a process, a probe's stderr carrying issue 16's secrets and a token in a URL query:
    the line reaches the log (through the runner's scrubbing and the log filter), the secrets do not."""
    from tests.apptools import AppProcess

    (tmp_path / "jax").mkdir()
    (tmp_path / "jax" / "__init__.py").write_text(CHATTY_JAX)
    env = {"PYTHONPATH": str(tmp_path), "DIAGNOSTICS_AT_STARTUP": "true", **ISSUE_16_SECRETS}
    with AppProcess(env, tmp_path / "app.log") as app:
        deadline = time.monotonic() + 180
        while "jaxlib.whl" not in app.log() and time.monotonic() < deadline:
            time.sleep(1)
        log = app.log()
    assert "exited with status 1: fetching https://cdn.example/jaxlib.whl?arch=x86_64&token=[redacted] as " in log, log
    for secret in (*ISSUE_16_SECRETS.values(), QUERY_SECRET):
        assert secret not in log
    # Only as log records of the diagnostics logger (app.py's format), so through the handlers' filter:
    # never printed to the app's stderr as is.
    quoted = [line for line in log.splitlines() if "jaxlib.whl" in line]
    record = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) diagnostics: ")
    assert quoted and all(record.match(line) for line in quoted), quoted


def test_what_gradios_server_logs_is_redacted_although_uvicorn_configures_its_own_handlers():
    """uvicorn's loggers get handlers of their own when the server starts, after the app installed redaction."""
    script = f"""
import logging
import uvicorn
from redaction import install_log_redaction
logging.basicConfig(level=logging.INFO)
install_log_redaction({{"HF_TOKEN": "{FAKE_TOKEN}"}})
uvicorn.Config(app=None, log_level="info").configure_logging()  # what launch() does as the server starts
logging.getLogger("uvicorn.error").error("Exception in ASGI application: %s", "{FAKE_TOKEN}")
logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /x?token=%s HTTP/1.1" 200', "{FAKE_TOKEN}")
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    logged = done.stdout + done.stderr
    assert "Exception in ASGI application" in logged and "GET /x?token=" in logged, logged
    assert FAKE_TOKEN not in logged and REDACTED in logged
