"""TensorFlow: version, how it was built (CUDA, cuDNN, compute capabilities), the GPUs it registers.

Its dlopen/cuInit complaints are C++ log lines on stderr; the runner quotes them from there.
"""

from __future__ import annotations

from diagnostics.probes import matmul
from diagnostics.probes.common import captured_messages, error_text, import_framework

_BUILD_KEYS = ("is_cuda_build", "cuda_version", "cudnn_version", "cuda_compute_capabilities", "is_rocm_build")


def _gpu(tf, device) -> dict:
    details = tf.config.experimental.get_device_details(device)
    index = device.name.rsplit(":", 1)[-1]
    try:
        memory = tf.config.experimental.get_memory_info(f"GPU:{index}")
    except Exception:  # noqa: BLE001 - answers only once the device is initialised
        memory = {}
    capability = details.get("compute_capability")
    return {
        "name": device.name,
        "device_name": details.get("device_name"),
        "compute_capability": list(capability) if capability else None,
        "memory_current_bytes": memory.get("current"),
        "memory_peak_bytes": memory.get("peak"),
    }


def _smoke(tf, on_gpu: bool) -> dict:
    device = "/GPU:0" if on_gpu else "/CPU:0"
    try:
        a, b, expected = matmul.reference()
        n = matmul.TIMING_N["gpu" if on_gpu else "cpu"]
        with tf.device(device):
            result = tf.linalg.matmul(tf.constant(a), tf.constant(b)).numpy()
            x, y = tf.random.normal((n, n)), tf.random.normal((n, n))
            # Reading one element waits for the whole product, without copying n*n floats back.
            seconds = matmul.seconds_per_run(lambda: tf.linalg.matmul(x, y), lambda out: out[0, 0].numpy())
        return matmul.outcome(
            device=device,
            device_name=None,
            on_gpu=on_gpu,
            error=matmul.relative_error(result, expected),
            n=n,
            seconds=seconds,
        )
    except Exception as error:  # noqa: BLE001
        return matmul.failed(device, error_text(error))


def probe(smoke: bool) -> dict:
    with captured_messages(("tensorflow",)) as messages:
        tf, facts = import_framework("tensorflow")
        if tf is None:
            return facts
        build = dict(tf.sysconfig.get_build_info())
        gpus = tf.config.list_physical_devices("GPU")
        facts |= {
            "build_info": {key: build.get(key) for key in _BUILD_KEYS},
            "gpus": [_gpu(tf, d) for d in gpus],
            "smoke": _smoke(tf, bool(gpus)) if smoke else None,
        }
    facts["messages"] = messages
    return facts
