"""Device discovery: is there a usable CUDA GPU, and what are its limits."""
from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def gpu_available() -> bool:
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device, no CuPy: the CPU executor takes over
        return False


@functools.lru_cache(maxsize=None)
def device_limits(device_id: int) -> dict:
    import cupy
    attrs = cupy.cuda.Device(device_id).attributes
    return {
        "smem_optin": attrs["MaxSharedMemoryPerBlockOptin"],
        "sm_count": attrs["MultiProcessorCount"],
        "l2_bytes": attrs["L2CacheSize"],
        # thread-block clusters (the cluster layout): compute capability 9.0 and newer
        "clusters": int(cupy.cuda.Device(device_id).compute_capability) >= 90,
    }


def current_limits() -> dict:
    import cupy
    return device_limits(cupy.cuda.runtime.getDevice())


def planner_limits() -> dict:
    """make_plan's device keywords for the current device (shared memory per block, clusters)."""
    lim = current_limits()
    return {"smem_limit": lim["smem_optin"], "clusters": lim["clusters"]}
