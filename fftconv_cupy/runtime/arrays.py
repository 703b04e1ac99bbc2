"""Array interop: which library an input belongs to, and zero-copy views."""
from __future__ import annotations

import numpy as np


def _cupy():
    import cupy
    return cupy


def is_cupy(a) -> bool:
    mod = type(a).__module__
    return mod.startswith("cupy") and hasattr(a, "__cuda_array_interface__")


def is_foreign_gpu(a) -> bool:
    """A non-CuPy GPU array (torch, JAX, Numba...) that CuPy can view without a copy."""
    if is_cupy(a) or isinstance(a, np.ndarray):
        return False
    if hasattr(a, "__cuda_array_interface__"):
        return True
    dev = getattr(a, "__dlpack_device__", None)
    if dev is None:
        return False
    try:
        return dev()[0] in (2, 3, 13)  # kDLCUDA, kDLCUDAHost, kDLCUDAManaged
    except Exception:
        return False


def kind_of(*arrays) -> str:
    """'cupy' if any input lives on the GPU (foreign arrays are viewed as CuPy), else 'numpy'."""
    kinds = ["gpu" if (is_cupy(a) or is_foreign_gpu(a)) else "host" for a in arrays]
    return "cupy" if "gpu" in kinds else "numpy"


def as_cupy(a):
    cupy = _cupy()
    if is_cupy(a):
        return a
    if is_foreign_gpu(a):
        if hasattr(a, "__dlpack__"):
            return cupy.from_dlpack(a)
        return cupy.asarray(a)
    return cupy.asarray(np.asarray(a))


def wrap_like(result, template):
    """Return `result` (CuPy) in the library of `template` (torch in, torch out)."""
    mod = type(template).__module__
    if mod.startswith("torch"):
        import torch
        return torch.from_dlpack(result)
    return result
