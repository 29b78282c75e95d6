"""The ordered rule table: the first rule whose test finds evidence decides a component's verdict."""

from __future__ import annotations

from diagnostics.registry import COMPONENTS, FRAMEWORKS
from diagnostics.stack import (
    NVML_REQUIREMENT,
)
from diagnostics.verdicts import findings as f
from diagnostics.verdicts import layers
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

_LOWER = "{because}{cause}"
"""Reason of a lower layer's rule: the GPU row states the fault, a framework row says it fails because of it."""

RULES: tuple[Rule, ...] = (
    Rule("probe-missing", ALL, "whether the probe ran", Status.FAIL, "probe did not run", "see the probe's stderr below",
         f.probe_missing, situation="probes"),
    Rule("not-installed", F, "whether the framework imports at all", Status.WARN, "{title} is not installed",
         "add `{pin}` to requirements.txt", f.not_installed, situation="installation"),
    Rule("nvml-missing", frozenset({"gpu"}), "whether nvidia-ml-py imports", Status.WARN,
         "nvidia-ml-py is not installed: driver and GPU state unknown", f"add `{NVML_REQUIREMENT}` to requirements.txt",
         f.nvml_missing, situation="NVML"),
    # Layer 1, the kernel driver: bottom up, so the first that fails is the cause for every row above it.
    Rule("kernel-module-not-loaded", F_GPU, "/proc/driver/nvidia/version; libcuda, device nodes, NVML, ACCELERATOR",
         Status.FAIL, _LOWER, "{layer_fix}", layers.kernel_module_not_loaded, situation="kernel driver"),
    Rule("driver-module-mismatch", F_GPU,
         "kernel module version against libcuda's; NVML 'Driver/library version mismatch'; framework lines: "
         "kernel version does not match DSO version",
         Status.FAIL, _LOWER, "{layer_fix}", layers.driver_module_mismatch, situation="kernel driver"),
    Rule("uvm-not-loaded", F_GPU, "/proc/modules, /dev/nvidia-uvm, cuInit", Status.FAIL, _LOWER, "{layer_fix}",
         layers.uvm_not_loaded, situation="kernel driver"),
    Rule("device-nodes-missing", F_GPU, "/dev/nvidia* against the kernel module, libcuda, NVIDIA_VISIBLE_DEVICES",
         Status.FAIL, _LOWER, "{layer_fix}", layers.device_nodes_missing, situation="kernel driver"),
    Rule("device-node-permission", F_GPU, "opening /dev/nvidiactl, /dev/nvidia<N>, /dev/nvidia-uvm read-only",
         Status.FAIL, _LOWER, "{layer_fix}", layers.device_node_permission, situation="kernel driver"),
    Rule(
        "host-not-ready", F_GPU, "cuInit / framework lines: CUDA_ERROR_SYSTEM_NOT_READY / error 802 / Fabric Manager",
        Status.FAIL, "{because}the GPU host is not ready (CUDA error 802, Fabric Manager not running): {quote}",
        "{host_fix}; on your own machine start nvidia-fabricmanager (same version as the driver) and reboot",
        layers.host_not_ready, situation="kernel driver",
    ),
    # Layer 2, the user-space driver.
    Rule("container-without-compute", F_GPU, "NVIDIA_DRIVER_CAPABILITIES; libcuda in a container with GPU nodes",
         Status.FAIL, _LOWER, "{layer_fix}", layers.container_without_compute, situation="user-space driver"),
    Rule("wsl-libcuda", F_GPU, "WSL: where libcuda loads from, cuInit", Status.FAIL, _LOWER, "{layer_fix}",
         layers.wsl_libcuda, situation="user-space driver"),
    Rule("libcuda-not-found", F_GPU, "loading libcuda.so.1 with ctypes", Status.FAIL, _LOWER, "{layer_fix}",
         layers.libcuda_not_found, situation="user-space driver"),
    # Layer 3, NVML and the GPU itself.
    Rule(
        "gpu-hardware-fault", F_GPU,
        "framework lines: uncorrectable ECC error, Xid, GPU fallen off the bus; NVML: a GPU it cannot read",
        Status.FAIL, "{because}the GPU reports a hardware fault: {quote}", "{host_fix}; a faulty GPU is not fixed by any package",
        layers.hardware_fault, situation="NVML",
    ),
    Rule("cuinit-failed", F_GPU, "cuInit(0) through ctypes, by CUresult name", Status.FAIL, _LOWER, "{layer_fix}",
         layers.cuinit_failed, situation="user-space driver"),
    Rule(
        "cuda-not-initialized", F_GPU, "framework lines: CUDA_ERROR_NOT_INITIALIZED while NVML lists the GPU; /dev/nvidia-uvm",
        Status.FAIL, "{because}NVML sees the {gpu} but CUDA cannot initialise it{uvm}: {quote}", "{host_fix}",
        layers.cuda_not_initialized, situation="user-space driver",
    ),
    Rule(
        "probe-died", ALL, "the probe process: exit status, timeout, stderr tail", Status.FAIL,
        "probe {outcome}: {error}", "see the probe's stderr below{reinstall}",
        f.probe_died, situation="probes",
    ),
    Rule(
        "driver-too-old", F, "framework lines: driver too old / insufficient for the CUDA runtime; NVML's CUDA version",
        Status.FAIL, "the NVIDIA driver is too old for {label} (built for CUDA {need}; the driver reports CUDA {driver}): {quote}",
        "{driver_fix}; {alternative}", f.driver_too_old_said, situation="driver too old",
    ),
    Rule(
        "driver-too-old-for-build", F, "NVML's highest CUDA against the CUDA the installed build was made for", Status.FAIL,
        "the NVIDIA driver supports CUDA {driver}, {label} needs {need}", "{driver_fix}; {alternative}",
        f.driver_too_old_numbers, situation="driver too old",
    ),
    Rule(
        "cudnn-mismatch", F, "framework lines: loaded cuDNN vs the version it was built against; nvidia-cudnn wheel and who requires it; LD_LIBRARY_PATH",
        Status.FAIL, "cuDNN {loaded} is loaded but {title} was built against cuDNN {built}: {quote}",
        "{source}; give every framework one cuDNN ≥ {built}: {cudnn_plan} (remove other cuDNN pins and system cuDNN paths)",
        f.cudnn_mismatch, situation="cuDNN",
    ),
    Rule(
        "ld-library-path", F, "LD_LIBRARY_PATH entries outside site-packages, framework library errors", Status.FAIL,
        "LD_LIBRARY_PATH puts {dirs} before the pip nvidia-* libraries: {quote}",
        "remove {dirs} from LD_LIBRARY_PATH (Space variables or Dockerfile ENV): `{pin}` brings its own CUDA libraries",
        f.ld_library_path, situation="library resolution",
    ),
    Rule(
        "cuda-visible-devices-empty", F, "CUDA_VISIBLE_DEVICES against NVML's GPUs", Status.FAIL,
        "CUDA_VISIBLE_DEVICES={cvd} hides every GPU from {title}",
        "unset CUDA_VISIBLE_DEVICES (or set it to 0) in the Space's variables or the code that sets it", f.cvd_hides_all,
        situation="environment variables",
    ),
    Rule(
        "cuda-visible-devices-past-gpus", F, "CUDA_VISIBLE_DEVICES indices against NVML's GPU count", Status.FAIL,
        "CUDA_VISIBLE_DEVICES={cvd} names GPU {index}, but this machine has {count} GPU(s), numbered from 0",
        "set CUDA_VISIBLE_DEVICES to {valid} or unset it (check scripts that export it)", f.cvd_past_gpus,
        situation="environment variables",
    ),
    Rule(
        "mig-without-uuid", F, "NVML MIG mode, CUDA_VISIBLE_DEVICES", Status.FAIL,
        "MIG is enabled on the {gpu} and CUDA_VISIBLE_DEVICES ({cvd}) names no MIG instance",
        "set CUDA_VISIBLE_DEVICES to one MIG instance's UUID, MIG-<uuid> from `nvidia-smi -L`{hint}; "
        "one process sees one MIG instance (on Spaces: restart, or pick hardware without MIG)",
        f.mig_without_uuid, situation="MIG",
    ),
    Rule(
        "gpu-mig-without-uuid", frozenset({"gpu"}), "NVML MIG mode, CUDA_VISIBLE_DEVICES", Status.WARN,
        "MIG is enabled on the {gpu} and CUDA_VISIBLE_DEVICES ({cvd}) names no MIG instance",
        "set CUDA_VISIBLE_DEVICES to a MIG-<uuid> from `nvidia-smi -L`{hint}", f.mig_without_uuid, situation="MIG",
    ),
    Rule(
        "out-of-memory", F, "framework lines: out of memory at context creation; NVML's processes; JAX/TF memory variables",
        Status.FAIL, "GPU memory ran out{holders}: {quote}", _MEMORY_FIX, f.out_of_memory, situation="memory",
    ),
    Rule(
        "jax-jaxlib-skew", frozenset({"jax"}), "versions of jax, jaxlib and the CUDA plugin; JAX's version-check lines",
        Status.FAIL, "jax, jaxlib and the CUDA plugin are different versions ({versions}){said}",
        "pin one version for all three: `{pin}` installs jaxlib and the CUDA plugin of the same version; "
        "remove separate jaxlib and jax-cuda*-plugin pins", f.jax_skew, situation="installation",
    ),
    Rule(
        "cuda-libs-not-found", F,
        "framework lines: a CUDA library cannot be opened while its pip nvidia-* wheels are installed; where each "
        "library would load from",
        Status.FAIL, "{title} cannot load its CUDA libraries although the pip wheels are installed ({wheels}): {quote}",
        "{libs_fix}", f.cuda_libs_not_found, situation="library resolution",
    ),
    Rule(
        "import-failed", F, "the import's traceback", Status.FAIL, "import failed: {last}", "{import_fix}",
        f.import_failed, situation="installation",
    ),
    Rule(
        "zero-gpu-pytorch-only", frozenset({"jax", "tensorflow"}), "SPACES_ZERO_GPU", Status.WARN,
        "ZeroGPU lends its GPU to PyTorch only, inside @spaces.GPU calls: {title} runs on the CPU here",
        "no requirements.txt change helps: ZeroGPU is PyTorch-only; for {title} on a GPU pick a dedicated GPU "
        "flavor (e.g. l4x1) in Settings or the Admin tab",
        f.zero_gpu_other, situation="ZeroGPU",
    ),
    Rule(
        "cpu-build", F, "the build: torch.version.cuda / jaxlib CUDA plugin or built-in CUDA / TF is_cuda_build", Status.FAIL,
        "{title} is a CPU-only build on a machine with a GPU: {what}",
        "{cpu_fix}", f.cpu_build, situation="installation",
    ),
    Rule(
        "zero-gpu", frozenset({"torch"}), "SPACES_ZERO_GPU; torch is a CUDA build", Status.OK,
        "ZeroGPU: the GPU is attached only inside @spaces.GPU calls, so this probe process sees none, by design; "
        "{label} is a CUDA build", None, f.zero_gpu_torch, situation="ZeroGPU",
    ),
    Rule(
        "no-gpu", F, "NVML, /dev/nvidia*, the frameworks' devices", Status.WARN,
        "no GPU on {where}; {label} runs on the CPU{smoke}", UPGRADE, f.no_gpu, situation="no GPU",
    ),
    Rule(
        "arch-unsupported", F, "the GPU's compute capability against the build's arch list; framework lines: no kernel image",
        Status.FAIL, "{cc} has no kernels in {installed}: {quote}", "{arch_fix}", f.arch_unsupported,
        situation="GPU architecture",
    ),
    Rule(
        "ptx-jit", F, "TensorFlow's 'not built with CUDA kernel binaries compatible with compute capability' line; its arch list",
        Status.WARN, "{title} has no kernels compiled for compute capability {cap} and JIT-compiles them from PTX: {quote}",
        "expect minutes of JIT compilation at first use (cached in ~/.nv/ComputeCache); `{pin}` is built for "
        "{pinned_archs}, so for this GPU use PyTorch or JAX for heavy work, or accept the slow start",
        f.ptx_jit, situation="GPU architecture",
    ),
    Rule("smoke-failed", F, "the matmul smoke test", Status.FAIL, "matmul on {device} failed: {detail}",
         "{host_fix}: a wrong result on a working install points at the GPU or driver", f.smoke_failed,
         situation="runtime"),
    Rule(
        "broken-by-mixed-wheels", F, "nvidia-* wheels of both CUDA 12 and 13 while the framework fails", Status.FAIL,
        "{title} does not use the GPU and CUDA 12 and 13 wheels are mixed, overwriting each other's libraries: {quote}",
        "remove the CUDA 13 wheels: {culprits}", f.broken_by_mixed_wheels, situation="CUDA wheels",
    ),
    Rule(
        "tf-cannot-dlopen", frozenset({"tensorflow"}), "TensorFlow lines: Could not load dynamic library / Cannot dlopen",
        Status.FAIL, "GPU present but TensorFlow registers none: {quote}",
        "use `{pin}` so its nvidia-*-cu12 libraries are installed{mixed_hint}", f.dlopen, situation="library resolution",
    ),
    Rule(
        "unexplained", F, "the framework's own lines and every lower layer's facts, when no rule above explains them",
        Status.FAIL,
        "GPU present but {title} does not use it, and no rule explains why: {quote}; lower layers: {layers}",
        "{checklist}", layers.unexplained, situation="unexplained",
    ),
    Rule(
        "driver-minor-version", F, "NVML's CUDA against the build's CUDA (same major)", Status.WARN,
        "driver supports CUDA {driver}, older than {label}'s {need}: runs through minor-version compatibility, "
        "but PTX JIT and newer APIs can fail", "{driver_fix} (≥ {full_driver})", f.driver_minor_behind,
        situation="driver too old",
    ),
    Rule("mig-instances", F, "CUDA_VISIBLE_DEVICES with several MIG UUIDs", Status.WARN,
         "CUDA_VISIBLE_DEVICES lists {count} MIG instances; CUDA enumerates one MIG instance per process",
         "run one process per MIG instance, each with its own CUDA_VISIBLE_DEVICES=MIG-<uuid>", f.mig_several,
         situation="MIG"),
    Rule("works-with-mixed-wheels", F, "nvidia-* wheels of both CUDA 12 and 13", Status.WARN,
         "works now, but CUDA 12 and 13 wheels are mixed: {summary}", "see CUDA wheels: keep one CUDA line in requirements.txt",
         lambda s: Found(f.mixed(s).lines, f.framework_ok(s).values) if f.mixed(s) else None, situation="CUDA wheels"),
    Rule("ok", F, "the framework's devices", Status.OK, "{summary}{harmless}", None, f.framework_ok,
         situation="healthy"),
    # The GPU row.
    Rule("gpu-zero-gpu", frozenset({"gpu"}), "SPACES_ZERO_GPU; NVML", Status.OK,
         "ZeroGPU: a GPU is attached only inside @spaces.GPU calls, so the probes see none, by design", None,
         f.zero_gpu_row, situation="ZeroGPU"),
    Rule("nvml-failed", frozenset({"gpu"}), "/dev/nvidia*, NVML's error", Status.FAIL,
         "/dev/nvidia* present but NVML failed: {error}", "{host_fix}: the driver is not usable", f.nvml_broken,
         situation="NVML"),
    Rule("driver-absent", frozenset({"gpu"}), "ACCELERATOR, NVML", Status.FAIL,
         "hardware is {hardware} but no NVIDIA driver is visible",
         "restart the Space; if it persists, request the hardware again (Admin tab)", f.driver_absent, situation="NVML"),
    Rule("memory-held", frozenset({"gpu"}), "NVML's processes and memory", Status.WARN,
         "other processes hold {share} of the {gpu}{holders}", _MEMORY_FIX.replace("{env}", ""), f.memory_held,
         situation="memory"),
    Rule("gpu-ok", frozenset({"gpu"}), "NVML", Status.OK, "{summary}", None, f.gpu_ok, situation="healthy"),
    Rule("gpu-no-gpu", frozenset({"gpu"}), "NVML, /dev/nvidia*", Status.WARN, "no NVIDIA GPU or driver on {hardware}",
         UPGRADE, lambda s: Found((f"NVML: {s.info.error}",) if s.info.error else ()), situation="no GPU"),
    # The wheels row.
    Rule("mixed-wheels", frozenset({"wheels"}), "files two nvidia-* wheels both install; CUDA lines", Status.FAIL,
         "CUDA 12 and 13 wheels mixed{detail}", "{culprits}", f.wheels_mixed, situation="CUDA wheels"),
    Rule("wheels-driver-too-old", frozenset({"wheels"}), "NVML's CUDA against the wheels' CUDA line", Status.FAIL,
         "driver too old for this CUDA: driver supports {driver}, cu{newest} wheels installed", "{culprits}",
         f.wheels_driver, situation="driver too old"),
    Rule("wheels-ok", frozenset({"wheels"}), "the nvidia-* wheels", Status.OK, "{summary}", None, f.wheels_ok,
         situation="healthy"),
)
