"""The ordered rule table: the first rule whose test finds evidence decides a component's verdict."""

from __future__ import annotations

from diagnostics.registry import COMPONENTS, FRAMEWORKS
from diagnostics.stack import (
    NVML_REQUIREMENT,
)
from diagnostics.verdicts import findings as f
from diagnostics.verdicts.model import UPGRADE, Found, Rule, Status

# --- The table ---------------------------------------------------------------------------------------------------

F = frozenset(FRAMEWORKS)
F_GPU = F | {"gpu"}
ALL = frozenset(COMPONENTS)
_MEMORY_FIX = (
    "free GPU memory, do not reinstall: stop what holds it{holders}; set XLA_PYTHON_CLIENT_PREALLOCATE=false "
    "(JAX takes 75% at start) and TF_FORCE_GPU_ALLOW_GROWTH=true before the frameworks load{env}, "
    "or pick hardware with more GPU memory"
)

RULES: tuple[Rule, ...] = (
    Rule("probe-missing", ALL, "whether the probe ran", Status.FAIL, "probe did not run", "see the probe's stderr below", f.probe_missing),
    Rule("not-installed", F, "whether the framework imports at all", Status.WARN, "{title} is not installed", "add `{pin}` to requirements.txt", f.not_installed),
    Rule("nvml-missing", frozenset({"gpu"}), "whether nvidia-ml-py imports", Status.WARN,
         "nvidia-ml-py is not installed: driver and GPU state unknown", f"add `{NVML_REQUIREMENT}` to requirements.txt", f.nvml_missing),
    Rule(
        "host-not-ready", F_GPU, "framework lines: CUDA_ERROR_SYSTEM_NOT_READY / error 802 / Fabric Manager", Status.FAIL,
        "the GPU host is not ready (CUDA error 802, Fabric Manager not running): {quote}",
        "{host_fix}; on your own machine start nvidia-fabricmanager (same version as the driver) and reboot",
        f.host_not_ready,
    ),
    Rule(
        "gpu-hardware-fault", F_GPU, "framework lines: uncorrectable ECC error, Xid, GPU fallen off the bus", Status.FAIL,
        "the GPU reports a hardware fault: {quote}", "{host_fix}; a faulty GPU is not fixed by any package",
        f.hardware_fault,
    ),
    Rule(
        "cuda-not-initialized", F_GPU, "framework lines: CUDA_ERROR_NOT_INITIALIZED while NVML lists the GPU; /dev/nvidia-uvm",
        Status.FAIL, "NVML sees the {gpu} but CUDA cannot initialise it{uvm}: {quote}", "{host_fix}",
        f.cuda_not_initialized,
    ),
    Rule(
        "probe-died", ALL, "the probe process: exit status, timeout, stderr tail", Status.FAIL,
        "probe {outcome}: {error}", "see the probe's stderr below{reinstall}",
        f.probe_died,
    ),
    Rule(
        "driver-module-mismatch", F_GPU, "framework lines: kernel module version does not match libcuda (DSO) version",
        Status.FAIL, "the driver's kernel module ({kernel}) is older than the libcuda the process loads ({dso}): {quote}",
        "{module_fix}", f.module_mismatch,
    ),
    Rule(
        "driver-too-old", F, "framework lines: driver too old / insufficient for the CUDA runtime; NVML's CUDA version",
        Status.FAIL, "the NVIDIA driver is too old for {label} (built for CUDA {need}; the driver reports CUDA {driver}): {quote}",
        "{driver_fix}; {alternative}", f.driver_too_old_said,
    ),
    Rule(
        "driver-too-old", F, "NVML's highest CUDA against the CUDA the installed build was made for", Status.FAIL,
        "the NVIDIA driver supports CUDA {driver}, {label} needs {need}", "{driver_fix}; {alternative}",
        f.driver_too_old_numbers,
    ),
    Rule(
        "cudnn-mismatch", F, "framework lines: loaded cuDNN vs the version it was built against; nvidia-cudnn wheel and who requires it; LD_LIBRARY_PATH",
        Status.FAIL, "cuDNN {loaded} is loaded but {title} was built against cuDNN {built}: {quote}",
        "{source}; give every framework one cuDNN ≥ {built}: {cudnn_plan} (remove other cuDNN pins and system cuDNN paths)",
        f.cudnn_mismatch,
    ),
    Rule(
        "ld-library-path", F, "LD_LIBRARY_PATH entries outside site-packages, framework library errors", Status.FAIL,
        "LD_LIBRARY_PATH puts {dirs} before the pip nvidia-* libraries: {quote}",
        "remove {dirs} from LD_LIBRARY_PATH (Space variables or Dockerfile ENV): `{pin}` brings its own CUDA libraries",
        f.ld_library_path,
    ),
    Rule(
        "cuda-visible-devices-empty", F, "CUDA_VISIBLE_DEVICES against NVML's GPUs", Status.FAIL,
        "CUDA_VISIBLE_DEVICES={cvd} hides every GPU from {title}",
        "unset CUDA_VISIBLE_DEVICES (or set it to 0) in the Space's variables or the code that sets it", f.cvd_hides_all,
    ),
    Rule(
        "cuda-visible-devices-past-gpus", F, "CUDA_VISIBLE_DEVICES indices against NVML's GPU count", Status.FAIL,
        "CUDA_VISIBLE_DEVICES={cvd} names GPU {index}, but this machine has {count} GPU(s), numbered from 0",
        "set CUDA_VISIBLE_DEVICES to {valid} or unset it (check scripts that export it)", f.cvd_past_gpus,
    ),
    Rule(
        "mig-without-uuid", F, "NVML MIG mode, CUDA_VISIBLE_DEVICES", Status.FAIL,
        "MIG is enabled on the {gpu} and CUDA_VISIBLE_DEVICES ({cvd}) names no MIG instance",
        "set CUDA_VISIBLE_DEVICES to one MIG instance's UUID, MIG-<uuid> from `nvidia-smi -L`{hint}; "
        "one process sees one MIG instance (on Spaces: restart, or pick hardware without MIG)",
        f.mig_without_uuid,
    ),
    Rule(
        "mig-without-uuid", frozenset({"gpu"}), "NVML MIG mode, CUDA_VISIBLE_DEVICES", Status.WARN,
        "MIG is enabled on the {gpu} and CUDA_VISIBLE_DEVICES ({cvd}) names no MIG instance",
        "set CUDA_VISIBLE_DEVICES to a MIG-<uuid> from `nvidia-smi -L`{hint}", f.mig_without_uuid,
    ),
    Rule(
        "out-of-memory", F, "framework lines: out of memory at context creation; NVML's processes; JAX/TF memory variables",
        Status.FAIL, "GPU memory ran out{holders}: {quote}", _MEMORY_FIX, f.out_of_memory,
    ),
    Rule(
        "import-failed", F, "the import's traceback", Status.FAIL, "import failed: {last}",
        "pin `{pin}` in requirements.txt and keep every nvidia-* wheel on CUDA 12", f.import_failed,
    ),
    Rule(
        "zero-gpu-pytorch-only", frozenset({"jax", "tensorflow"}), "SPACES_ZERO_GPU", Status.WARN,
        "ZeroGPU lends its GPU to PyTorch only, inside @spaces.GPU calls: {title} runs on the CPU here",
        "no requirements.txt change helps: ZeroGPU is PyTorch-only; for {title} on a GPU pick a dedicated GPU "
        "flavor (e.g. l4x1) in Settings or the Admin tab",
        f.zero_gpu_other,
    ),
    Rule(
        "cpu-build", F, "the build: torch.version.cuda / jaxlib CUDA plugin or built-in CUDA / TF is_cuda_build", Status.FAIL,
        "{title} is a CPU-only build on a machine with a GPU: {what}",
        "use `{pin}` in requirements.txt ({cpu_note})", f.cpu_build,
    ),
    Rule(
        "zero-gpu", frozenset({"torch"}), "SPACES_ZERO_GPU; torch is a CUDA build", Status.OK,
        "ZeroGPU: the GPU is attached only inside @spaces.GPU calls, so this probe process sees none, by design; "
        "{label} is a CUDA build", None, f.zero_gpu_torch,
    ),
    Rule(
        "no-gpu", F, "NVML, /dev/nvidia*, the frameworks' devices", Status.WARN,
        "no GPU on {where}; {label} runs on the CPU{smoke}", UPGRADE, f.no_gpu,
    ),
    Rule(
        "arch-unsupported", F, "the GPU's compute capability against the build's arch list; framework lines: no kernel image",
        Status.FAIL, "{cc} has no kernels in {installed}: {quote}", "{arch_fix}", f.arch_unsupported,
    ),
    Rule(
        "ptx-jit", F, "TensorFlow's 'not built with CUDA kernel binaries compatible with compute capability' line; its arch list",
        Status.WARN, "{title} has no kernels compiled for compute capability {cap} and JIT-compiles them from PTX: {quote}",
        "expect minutes of JIT compilation at first use (cached in ~/.nv/ComputeCache); `{pin}` is built for "
        "{pinned_archs}, so for this GPU use PyTorch or JAX for heavy work, or accept the slow start",
        f.ptx_jit,
    ),
    Rule("smoke-failed", F, "the matmul smoke test", Status.FAIL, "matmul on {device} failed: {detail}",
         "{host_fix}: a wrong result on a working install points at the GPU or driver", f.smoke_failed),
    Rule(
        "tf-cannot-dlopen", frozenset({"tensorflow"}), "TensorFlow lines: Could not load dynamic library / Cannot dlopen", Status.FAIL,
        "GPU present but TensorFlow registers none: {quote}",
        "use `{pin}` so its nvidia-*-cu12 libraries are installed{mixed_hint}", f.dlopen,
    ),
    Rule(
        "gpu-unused", F, "the framework's devices and its fallback message", Status.FAIL,
        "GPU present but {title} does not use it: {quote}", "pin `{pin}` in requirements.txt{mixed_hint}", f.gpu_unused,
    ),
    Rule(
        "driver-minor-version", F, "NVML's CUDA against the build's CUDA (same major)", Status.WARN,
        "driver supports CUDA {driver}, older than {label}'s {need}: runs through minor-version compatibility, "
        "but PTX JIT and newer APIs can fail", "{driver_fix} (≥ {full_driver})", f.driver_minor_behind,
    ),
    Rule("mig-instances", F, "CUDA_VISIBLE_DEVICES with several MIG UUIDs", Status.WARN,
         "CUDA_VISIBLE_DEVICES lists {count} MIG instances; CUDA enumerates one MIG instance per process",
         "run one process per MIG instance, each with its own CUDA_VISIBLE_DEVICES=MIG-<uuid>", f.mig_several),
    Rule("mixed-wheels", F, "nvidia-* wheels of both CUDA 12 and 13", Status.WARN,
         "works now, but CUDA 12 and 13 wheels are mixed: {summary}", "see CUDA wheels: keep one CUDA line in requirements.txt",
         lambda s: Found(f.mixed(s).lines, f.framework_ok(s).values) if f.mixed(s) else None),
    Rule("ok", F, "the framework's devices", Status.OK, "{summary}", None, f.framework_ok),
    # The GPU row.
    Rule("zero-gpu", frozenset({"gpu"}), "SPACES_ZERO_GPU; NVML", Status.OK,
         "ZeroGPU: a GPU is attached only inside @spaces.GPU calls, so the probes see none, by design", None, f.zero_gpu_row),
    Rule("nvml-failed", frozenset({"gpu"}), "/dev/nvidia*, NVML's error", Status.FAIL,
         "/dev/nvidia* present but NVML failed: {error}", "{host_fix}: the driver is not usable", f.nvml_broken),
    Rule("driver-absent", frozenset({"gpu"}), "ACCELERATOR, NVML", Status.FAIL,
         "hardware is {hardware} but no NVIDIA driver is visible", "restart the Space; if it persists, request the hardware again (Admin tab)",
         f.driver_absent),
    Rule("memory-held", frozenset({"gpu"}), "NVML's processes and memory", Status.WARN,
         "other processes hold {share} of the {gpu}{holders}", _MEMORY_FIX.replace("{env}", ""), f.memory_held),
    Rule("ok", frozenset({"gpu"}), "NVML", Status.OK, "{summary}", None, f.gpu_ok),
    Rule("no-gpu", frozenset({"gpu"}), "NVML, /dev/nvidia*", Status.WARN, "no NVIDIA GPU or driver on {hardware}", UPGRADE,
         lambda s: Found((f"NVML: {s.info.error}",) if s.info.error else ())),
    # The wheels row.
    Rule("mixed-wheels", frozenset({"wheels"}), "files two nvidia-* wheels both install; CUDA lines", Status.FAIL,
         "CUDA 12 and 13 wheels mixed{detail}", "{culprits}", f.wheels_mixed),
    Rule("driver-too-old", frozenset({"wheels"}), "NVML's CUDA against the wheels' CUDA line", Status.FAIL,
         "driver too old for this CUDA: driver supports {driver}, cu{newest} wheels installed", "{culprits}", f.wheels_driver),
    Rule("ok", frozenset({"wheels"}), "the nvidia-* wheels", Status.OK, "{summary}", None, f.wheels_ok),
)


