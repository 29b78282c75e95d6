"""Installed nvidia-* wheels, the CUDA line of each, and files that two distributions both install."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from importlib import metadata

_SUFFIX = re.compile(r"-cu(\d+)$")
# CUDA 13 toolkit wheels dropped the -cu13 suffix; their version's major names the line.
_TOOLKIT = re.compile(r"^nvidia-(cuda-|cublas|cufft|curand|cusolver|cusparse|nvjitlink|nvtx|npp|nvvm|cufile)")
_FRAMEWORKS = ("torch", "jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin", "tensorflow", "nvidia-ml-py")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _cuda_line(name: str, version: str) -> str | None:
    match = _SUFFIX.search(name)
    if match:
        return f"cu{match.group(1)}"
    major = version.split(".", 1)[0]
    if _TOOLKIT.match(name) and major in {"11", "12", "13"}:
        return f"cu{major}"
    return None


def _files(dist: metadata.Distribution) -> list[str]:
    # Reading RECORD is 100x faster than Distribution.files, which builds a PackagePath per entry.
    record = dist.read_text("RECORD")
    if record is None:
        return [str(path) for path in dist.files or ()]
    return [row[0] for row in csv.reader(record.splitlines()) if row]


def _shared(path: str) -> bool:
    """Files several wheels legitimately write alike: namespace __init__.py, bytecode, scripts outside site-packages."""
    return (
        path.startswith("../")
        or path.endswith(("__init__.py", ".pyc"))
        or "__pycache__/" in path
        or ".dist-info/" in path
    )


def probe(smoke: bool) -> dict:
    dists = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            dists.setdefault(_normalize(name), dist)
    required_by: dict[str, set[str]] = defaultdict(set)
    owners: dict[str, set[str]] = defaultdict(set)
    for name, dist in dists.items():
        for requirement in dist.requires or ():
            match = re.match(r"[A-Za-z0-9._-]+", requirement)
            if match:
                required_by[_normalize(match.group(0))].add(name)
        for path in _files(dist):
            if not _shared(path):
                owners[path].add(name)
    nvidia = [
        {
            "name": name,
            "version": dist.version,
            "cuda_line": _cuda_line(name, dist.version),
            "required_by": sorted(required_by.get(name, ())),
        }
        for name, dist in sorted(dists.items())
        if name.startswith("nvidia-")
    ]
    conflicts = [
        {"path": path, "distributions": sorted(names)} for path, names in sorted(owners.items()) if len(names) > 1
    ]
    return {
        "nvidia": nvidia,
        "conflicts": conflicts,
        "frameworks": {name: dists[name].version for name in _FRAMEWORKS if name in dists},
        "required_by": {name: sorted(required_by.get(name, ())) for name in _FRAMEWORKS if name in dists},
    }
