"""Fault injection for the driver probe on a machine without a GPU: a fake libcuda built at test time with `cc`,
/proc and /dev from a fixture directory, a device node this user may not open."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from diagnostics.probes import driver
from diagnostics.runner import ROOT, probe_environment

FAKE_LIBCUDA = r"""
int cuInit(unsigned int flags) { return CU_INIT; }
int cuDriverGetVersion(int *version) { *version = 12020; return 0; }
int cuDeviceGetCount(int *count) { *count = 2; return 0; }
#ifdef ERROR_NAMES
int cuGetErrorName(int code, const char **name) {
    if (code == 0) { *name = "CUDA_SUCCESS"; return 0; }
    if (code == 999) { *name = "CUDA_ERROR_UNKNOWN"; return 0; }
    return 1;
}
#endif
"""
NOT_A_DRIVER = "int something_else(void) { return 0; }\n"
MODULE_LINE = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.129.03  Thu Oct 19 18:56:32 UTC 2023"


@pytest.fixture(scope="module")
def cc() -> str:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler: apt-get install gcc")
    return compiler


def build_libcuda(cc: str, folder: Path, source: str, *flags: str, version: str = "535.129.03") -> Path:
    """libcuda.so.1 -> libcuda.so.<version>, as a driver install lays it out."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fake.c").write_text(source)
    real = folder / f"libcuda.so.{version}"
    subprocess.run([cc, "-shared", "-fPIC", *flags, "-o", str(real), str(folder / "fake.c")], check=True)
    (folder / "libcuda.so.1").symlink_to(real.name)
    return folder


def run_probe(root: Path | None = None, libcuda: str = driver.LIBCUDA, env: dict | None = None) -> dict:
    """The probe in a fresh process, as the runner starts it, with its roots pointed where the test says."""
    code = (
        "import json, sys; from pathlib import Path; from diagnostics.probes.driver import probe; "
        "print(json.dumps(probe(False, root=Path(sys.argv[1]), libcuda_name=sys.argv[2])))"
    )
    args = [sys.executable, "-c", code, str(root or "/"), libcuda]
    done = subprocess.run(args, capture_output=True, text=True, env=probe_environment(base=env), timeout=60, check=True)
    return json.loads(done.stdout)


def test_libcuda_that_fails_to_load_is_a_fact_not_a_crash(tmp_path):
    facts = run_probe(env={**os.environ, "LD_LIBRARY_PATH": str(tmp_path)})["libcuda"]
    assert facts["path"] is None and "libcuda.so.1" in facts["load_error"]
    assert facts["cu_init"] is None and facts["device_count"] is None


def test_cuinit_error_is_named_and_no_devices_are_counted(cc, tmp_path):
    lib = build_libcuda(cc, tmp_path / "lib", FAKE_LIBCUDA, "-DCU_INIT=999", "-DERROR_NAMES")
    facts = run_probe(env={**os.environ, "LD_LIBRARY_PATH": str(lib)})["libcuda"]
    assert facts["cu_init"] == "CUDA_ERROR_UNKNOWN" and facts["device_count"] is None
    assert facts["path"].startswith(str(lib)) and facts["version"] == "535.129.03"
    assert facts["driver_api_version"] == 12020 and facts["load_error"] is None


def test_cuinit_success_counts_devices(cc, tmp_path):
    lib = build_libcuda(cc, tmp_path / "lib", FAKE_LIBCUDA, "-DCU_INIT=0", "-DERROR_NAMES")
    facts = run_probe(libcuda=str(lib / "libcuda.so.1"))["libcuda"]
    assert (facts["cu_init"], facts["device_count"]) == ("CUDA_SUCCESS", 2)


def test_a_library_without_cugeterrorname_still_gets_the_result_name(cc, tmp_path):
    lib = build_libcuda(cc, tmp_path / "lib", FAKE_LIBCUDA, "-DCU_INIT=804")
    facts = run_probe(libcuda=str(lib / "libcuda.so.1"))["libcuda"]
    assert facts["cu_init"] == "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE"


def test_a_file_named_libcuda_that_is_not_the_driver(cc, tmp_path):
    lib = build_libcuda(cc, tmp_path / "lib", NOT_A_DRIVER)
    facts = run_probe(libcuda=str(lib / "libcuda.so.1"))["libcuda"]
    assert facts["load_error"].startswith("not a CUDA driver") and facts["cu_init"] is None


def fake_root(
    base: Path, *, module: bool = True, modules: str = "nvidia 1 0 - Live\nnvidia_modeset 1 0 - Live\n"
) -> Path:
    proc = base / "proc"
    (proc / "driver/nvidia").mkdir(parents=True)
    (proc / "sys/kernel").mkdir(parents=True)
    if module:
        (proc / "driver/nvidia/version").write_text(MODULE_LINE + "\nGCC version:  gcc version 12.2.0\n")
    (proc / "modules").write_text(modules + "ext4 1 0 - Live\n")
    (proc / "sys/kernel/osrelease").write_text("5.10.0-28-cloud-amd64\n")
    (proc / "1").mkdir()
    (proc / "1/cgroup").write_text("0::/\n")
    (base / "dev").mkdir()
    for name in ("nvidiactl", "nvidia0"):
        (base / "dev" / name).write_text("")
    return base


def test_kernel_module_modules_and_nodes_come_from_the_given_root(tmp_path):
    root = fake_root(tmp_path)
    facts = driver.probe(False, root=root, libcuda_name=str(tmp_path / "absent.so"), environ={})
    assert facts["kernel_module"] == {"loaded": True, "version": "535.129.03", "version_line": MODULE_LINE}
    assert facts["modules"] == ["nvidia", "nvidia_modeset"]  # nvidia_uvm missing, as after a bad resume
    assert [n["path"] for n in facts["device_nodes"]] == ["/dev/nvidia0", "/dev/nvidiactl"]
    assert facts["context"]["kind"] == "machine" and facts["context"]["kernel_release"] == "5.10.0-28-cloud-amd64"


def test_no_module_and_unreadable_proc_modules_are_unknown_not_fine(tmp_path):
    root = fake_root(tmp_path, module=False)
    (root / "proc/modules").unlink()
    facts = driver.probe(False, root=root, libcuda_name=str(tmp_path / "absent.so"), environ={})
    assert facts["kernel_module"] == {"loaded": False, "version": None, "version_line": None}
    assert facts["modules"] is None


@pytest.mark.parametrize(
    ("environ", "marks", "kind", "evidence"),
    [
        ({"SYSTEM": "spaces"}, {}, "space", ["SYSTEM=spaces"]),
        (
            {},
            {"proc/sys/kernel/osrelease": "5.15.153.1-microsoft-standard-WSL2\n"},
            "wsl",
            ["kernel 5.15.153.1-microsoft-standard-WSL2"],
        ),
        ({}, {".dockerenv": ""}, "container", ["/.dockerenv"]),
        (
            {"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "utility"},
            {},
            "container",
            ["NVIDIA_VISIBLE_DEVICES=all"],
        ),
    ],
)
def test_where_it_runs_and_why(tmp_path, environ, marks, kind, evidence):
    root = fake_root(tmp_path)
    for path, text in marks.items():
        (root / path).write_text(text)
    facts = driver.context(root, environ)
    assert (facts["kind"], facts["evidence"]) == (kind, evidence)
    assert facts["nvidia_driver_capabilities"] == environ.get("NVIDIA_DRIVER_CAPABILITIES")


def test_library_search_order_and_winner(tmp_path):
    pip, system, early = tmp_path / "site/nvidia/cudnn/lib", tmp_path / "usr/lib/x86_64-linux-gnu", tmp_path / "old"
    for folder in (pip, system, early):
        folder.mkdir(parents=True)
        (folder / "libcudnn.so.9").write_text("")
    (pip / "libcudnn_ops.so.9").write_text("")  # not a watched library
    found = driver.libraries(tmp_path, {"LD_LIBRARY_PATH": f"{early}:"}, pip_dirs=[pip])
    assert [lib["name"] for lib in found] == ["libcudnn.so.9"]
    assert [c["source"] for c in found[0]["candidates"]] == ["LD_LIBRARY_PATH", "pip", "system"]
    assert found[0]["winner"] == str(early / "libcudnn.so.9")


_OPEN_AS_NOBODY = (
    "import json, os, sys; from pathlib import Path; from diagnostics.probes.driver import device_nodes; "
    "os.getuid() == 0 and (os.setgid(65534), os.setuid(65534)); "
    "print(json.dumps(device_nodes(Path(sys.argv[1]))))"
)


def test_a_device_node_this_user_may_not_open():
    """Tests run as root, who opens anything: the probe runs as nobody in a process of its own."""
    base = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's tmp_path is private to root; nobody must reach the files
    try:
        os.chmod(base, 0o755)
        (base / "dev").mkdir(mode=0o755)
        for name, mode in (("nvidiactl", 0o644), ("nvidia0", 0o000), ("nvidia-uvm", 0o644)):
            path = base / "dev" / name
            path.write_text("")
            os.chmod(path, mode)
        done = subprocess.run(
            [sys.executable, "-c", _OPEN_AS_NOBODY, str(base)],
            capture_output=True,
            text=True,
            env=probe_environment(),
            timeout=60,
            check=True,
            cwd=str(ROOT),
        )
        nodes = {n["path"]: n for n in json.loads(done.stdout)}
    finally:
        shutil.rmtree(base)
    assert nodes["/dev/nvidia0"] == {"path": "/dev/nvidia0", "openable": False, "error": "Permission denied"}
    assert nodes["/dev/nvidiactl"]["openable"] and nodes["/dev/nvidia-uvm"]["openable"]


def test_the_driver_probe_runs_as_a_probe_and_imports_no_framework():
    code = (
        "import sys; from diagnostics.probe import main; main(['driver']); "
        "assert not {'torch', 'jax', 'tensorflow', 'pynvml'} & set(sys.modules), sorted(sys.modules)"
    )
    args = [sys.executable, "-c", code]
    done = subprocess.run(args, capture_output=True, text=True, env=probe_environment(), timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"kernel_module", "modules", "device_nodes", "libcuda", "context", "libraries"} <= set(payload)
