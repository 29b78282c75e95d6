"""JAX: versions, the backend it chose, its devices and memory, the CUDA plugin installed, and why it fell back."""

from __future__ import annotations

from importlib import metadata

from diagnostics.probes import matmul
from diagnostics.probes.common import captured_messages, error_text, import_framework

_PLUGINS = ("jax-cuda12-plugin", "jax-cuda12-pjrt", "jax-cuda13-plugin", "jax-cuda13-pjrt", "jax-rocm7-plugin")


def _plugins() -> list[dict]:
    found = []
    for name in _PLUGINS:
        try:
            found.append({"name": name, "version": metadata.version(name)})
        except metadata.PackageNotFoundError:
            pass
    return found


def _device(device) -> dict:
    try:
        stats = device.memory_stats()
    except Exception:  # noqa: BLE001 - CPU devices and some plugins do not implement it
        stats = None
    return {
        "id": device.id,
        "platform": device.platform,
        "device_kind": device.device_kind,
        "compute_capability": getattr(device, "compute_capability", None),
        "memory_stats": stats,
    }


def _smoke(jax, device) -> dict:
    import jax.numpy as jnp

    on_gpu = device.platform == "gpu" or device.platform == "cuda"
    name = f"{device.platform}:{device.id}"
    try:
        a, b, expected = matmul.reference()
        product = jax.jit(jnp.matmul)
        result = product(jax.device_put(a, device), jax.device_put(b, device))
        n = matmul.TIMING_N["gpu" if on_gpu else "cpu"]
        key_x, key_y = jax.random.split(jax.random.key(0))
        x = jax.device_put(jax.random.normal(key_x, (n, n), jnp.float32), device)
        y = jax.device_put(jax.random.normal(key_y, (n, n), jnp.float32), device)
        seconds = matmul.seconds_per_run(lambda: product(x, y), lambda out: out.block_until_ready())
        return matmul.outcome(
            device=name,
            device_name=device.device_kind if on_gpu else None,
            on_gpu=on_gpu,
            error=matmul.relative_error(result, expected),
            n=n,
            seconds=seconds,
        )
    except Exception as error:  # noqa: BLE001
        return matmul.failed(name, error_text(error))


def probe(smoke: bool) -> dict:
    # Backend discovery happens at the first jax.devices(); its fallback warnings are logged then.
    with captured_messages(("jax", "jaxlib")) as messages:
        jax, facts = import_framework("jax")
        facts["cuda_plugins"] = _plugins()
        if jax is None:
            return facts
        try:
            import jaxlib

            facts["jaxlib_version"] = jaxlib.__version__
            facts["default_backend"] = jax.default_backend()
            devices = jax.devices()
            facts["devices"] = [_device(d) for d in devices]
            facts["smoke"] = _smoke(jax, devices[0]) if smoke else None
        except Exception as error:  # noqa: BLE001 - e.g. JAX_PLATFORMS=cuda with no usable GPU
            facts["backend_error"] = error_text(error)
    facts["messages"] = messages
    return facts
