"""Verdicts carry their fix as an action the Space can take on itself, built from the same facts as the words:
on a Space only, and never for `unexplained`. One check per rule that has an action."""

from __future__ import annotations

import copy

import pytest

import tests.fixtures.diagnostics as fixtures
from diagnostics.report import Report, report_from_payloads
from diagnostics.verdicts import RULES
from diagnostics.verdicts.actions import ActionKind, FixAction, RequirementEdit, action_for
from diagnostics.verdicts.judge import machine_of, subject_of
from tests.fixtures.diagnostics import REAL, RECORDED, load_recorded, real_case, real_report

V, R, H, S = ActionKind.VARIABLES, ActionKind.REQUIREMENTS, ActionKind.HARDWARE, ActionKind.RESTART
MEMORY = FixAction(V, set_variables=(("XLA_PYTHON_CLIENT_PREALLOCATE", "false"), ("TF_FORCE_GPU_ALLOW_GROWTH", "true")))
RESTART, FACTORY = FixAction(S), FixAction(S, factory_reboot=True)
NO_CVD = FixAction(V, remove_variables=("CUDA_VISIBLE_DEVICES",))

# rule -> (a case it fires on, the component, the action it must carry there)
EXPECTED: dict[str, tuple[str, str, FixAction]] = {
    "not-installed": (
        "healthy_noisy_jax_ptxas_19821",
        "torch",
        FixAction(R, requirements=(RequirementEdit("torch", "torch==2.10.0"),)),
    ),
    "kernel-module-not-loaded": ("torch_kernel_module_not_loaded_67991", "gpu", RESTART),
    "driver-module-mismatch": ("jax_kernel_dso_mismatch_15961", "gpu", RESTART),
    "uvm-not-loaded": ("nvml_uvm_not_loaded_nixos_286028", "gpu", RESTART),
    "device-nodes-missing": ("tf_ngc_container_driver_not_detected_1071", "gpu", RESTART),
    "device-node-permission": ("nvml_container_selinux_permissions_676", "gpu", RESTART),
    "host-not-ready": ("jax_system_not_ready_24866", "jax", FACTORY),
    "libcuda-not-found": ("torch_container_without_compute_sd_webui_docker_348", "gpu", RESTART),
    "gpu-hardware-fault": ("tf_ecc_uncorrectable_probe_aborts_deepfacelab_89", "gpu", FACTORY),
    "cuinit-failed": ("jax_suspend_cuinit_unknown_jaxsim_50", "gpu", RESTART),
    "cuda-not-initialized": ("torch_cuda_init_failed_nvml_ok_98885", "torch", FACTORY),
    "jax-jaxlib-skew": (
        "jax_jaxlib_newer_than_jax_17638",
        "jax",
        FixAction(
            R,
            requirements=(
                RequirementEdit("jax", "jax[cuda12]==0.10.2"),
                RequirementEdit("jaxlib", None),
                RequirementEdit("jax-cuda12-plugin", None),
                RequirementEdit("jax-cuda13-plugin", None),
            ),
        ),
    ),
    "ld-library-path": ("jax_ld_library_path_12461", "jax", FixAction(V, remove_variables=("LD_LIBRARY_PATH",))),
    "cuda-visible-devices-empty": ("torch_cvd_empty_40618", "torch", NO_CVD),
    "cuda-visible-devices-past-gpus": ("torch_cvd_past_gpus_autoformer", "torch", NO_CVD),
    "out-of-memory": ("jax_two_programs_oom_17217", "jax", MEMORY),
    "memory-held": ("tf_ctx_oom_other_process_30594", "gpu", MEMORY),
    "zero-gpu-pytorch-only": ("healthy_zerogpu_blackwell", "jax", FixAction(H, flavor="l4x1")),
    "cpu-build": (
        "jax_cpu_only_jaxlib_whisper_211",
        "jax",
        FixAction(R, requirements=(RequirementEdit("jax", "jax[cuda12]==0.10.2"),)),
    ),
    "no-gpu": ("cpu_basic_space", "torch", FixAction(H, flavor="t4-small")),
    "tf-cannot-dlopen": (
        "tf_dlopen_bare_60646",
        "tensorflow",
        FixAction(R, requirements=(RequirementEdit("tensorflow", "tensorflow[and-cuda]==2.20.0"),)),
    ),
}
# Rules no stored case makes fire on a Space: their builder is called on a Space's facts directly.
DIRECT: dict[str, FixAction] = {
    "nvml-missing": FixAction(R, requirements=(RequirementEdit("nvidia-ml-py", "nvidia-ml-py==13.615.71"),)),
    "container-without-compute": RESTART,
    "wsl-libcuda": RESTART,
    "smoke-failed": FACTORY,
    "nvml-failed": FACTORY,
    "driver-absent": RESTART,
    "gpu-no-gpu": FixAction(H, flavor="t4-small"),
}


def _as_space(payloads: dict, accelerator: str = "a10g-small", *, space: bool = True) -> dict:
    """The same facts seen on a Space (`space`), or on a machine of one's own."""
    payloads = copy.deepcopy(payloads)
    facts = payloads["host"]["space"]
    facts["on_spaces"] = space
    facts["accelerator"] = (facts.get("accelerator") or accelerator) if space else None
    return payloads


def _report(case: str, *, space: bool) -> Report:
    if case in {p.stem for p in RECORDED}:
        data = load_recorded(case)
        return report_from_payloads(_as_space(data["payloads"], "cpu-basic", space=space), stderr=data.get("stderr"))
    merge = fixtures._merge

    def on_a_space(base, patch):
        merged = merge(base, patch)
        return _as_space(merged, space=space) if isinstance(merged, dict) and "host" in merged else merged

    fixtures._merge = on_a_space
    try:
        return real_report(real_case(fixtures.FIXTURES / "real" / f"{case}.json"))
    finally:
        fixtures._merge = merge


def test_every_rule_with_an_action_is_checked_here():
    assert {r.name for r in RULES if r.action} == set(EXPECTED) | set(DIRECT)
    assert next(r for r in RULES if r.name == "unexplained").action is None


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_on_a_space_the_verdict_carries_its_fix_as_an_action(rule):
    case, component, action = EXPECTED[rule]
    verdict = _report(case, space=True).verdict(component)
    assert verdict.rule == rule
    assert verdict.action == action
    again = Report.from_dict(_report(case, space=True).to_dict()).verdict(component)
    assert again.action == action  # the JSON the tab and the API carry keeps it


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_off_a_space_the_same_verdict_has_words_only(rule):
    case, component, _ = EXPECTED[rule]
    verdict = _report(case, space=False).verdict(component)
    assert verdict.action is None and verdict.fix


@pytest.mark.parametrize("rule", sorted(DIRECT))
def test_rules_no_stored_case_fires_build_their_action_on_a_space(rule):
    built = next(r for r in RULES if r.name == rule).action
    for space, expected in ((True, DIRECT[rule]), (False, None)):
        report = report_from_payloads(_as_space(load_recorded("a10g_all_ok")["payloads"], space=space))
        facts = {
            name: getattr(report, name) for name in ("host", "nvml", "wheels", "driver", "torch", "jax", "tensorflow")
        }
        subject = subject_of("gpu", machine_of({}, facts), {}, facts)
        assert action_for(built, subject, {}) == expected


def test_no_verdict_anywhere_off_a_space_carries_an_action():
    for path in REAL:
        for verdict in _report(path.stem, space=False).verdicts:
            assert verdict.action is None, (path.stem, verdict.rule)


def test_unexplained_never_carries_an_action_even_on_a_space():
    for path in REAL:
        for verdict in _report(path.stem, space=True).verdicts:
            if verdict.rule == "unexplained":
                assert verdict.action is None


def test_variables_already_set_are_not_set_again():
    case, component, _ = EXPECTED["out-of-memory"]
    assert _report(case, space=True).verdict(component).action == MEMORY
    merge = fixtures._merge

    def with_env(base, patch):
        merged = merge(base, patch)
        if isinstance(merged, dict) and "host" in merged:
            merged = _as_space(merged)
            environment = merged["host"].get("environment", {})
            merged["host"]["environment"] = {**environment, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
        return merged

    fixtures._merge = with_env
    try:
        report = real_report(real_case(fixtures.FIXTURES / "real" / f"{case}.json"))
    finally:
        fixtures._merge = merge
    assert report.verdict(component).action == FixAction(V, set_variables=(("TF_FORCE_GPU_ALLOW_GROWTH", "true"),))
