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
        v = torch_view(a, _numpy_dtype(a.dtype)) if type(a).__module__.startswith("torch") else None
        if v is not None:
            return v
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


# -- 16-bit rows --------------------------------------------------------------
# float16 is a CuPy dtype; bfloat16 is not, so bf16 data (torch tensors, ml_dtypes
# NumPy arrays) travels as its raw uint16 bit patterns, viewed without a copy.
BITS16 = {"float16": np.dtype(np.float16), "bfloat16": np.dtype(np.uint16)}


def dtype_name(a) -> str:
    """NumPy-style name of an array's dtype, 'bfloat16' included (torch or ml_dtypes)."""
    dt = getattr(a, "dtype", None)
    return np.asarray(a).dtype.name if dt is None else dtype_spelling(dt)


def dtype_spelling(dtype) -> str | None:
    """NumPy-style name of a dtype argument however it is spelt: a string ("float16", "f2",
    "half", "bfloat16"), a NumPy type or dtype (np.float16, ml_dtypes' bfloat16), a torch
    dtype; None for None."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype == "bfloat16":
        return dtype                    # NumPy knows it only where ml_dtypes is imported
    if type(dtype).__module__.startswith("torch"):
        return str(dtype).replace("torch.", "")
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype)


# A CUDA torch tensor is viewed through its pointer where torch's current stream is CuPy's
# (the default streams): DLPack's exchange, which orders two streams with events, costs
# tens of microseconds a call on both sides.  Other streams, devices and layouts go
# through DLPack.  (A switch for timing one path against the other.)
TORCH_POINTER_VIEWS = True


def _numpy_dtype(dt):
    """The NumPy dtype of a torch dtype, None where NumPy has none (bfloat16)."""
    name = str(dt).replace("torch.", "")
    try:
        return None if name == "bfloat16" else np.dtype(name)
    except TypeError:
        return None


def torch_view(t, dtype):
    """A CuPy array over the memory of CUDA tensor `t` (C-contiguous, on CuPy's current
    device and stream), typed `dtype` (the tensor's item size), or None."""
    if dtype is None or not (TORCH_POINTER_VIEWS and t.is_cuda and t.is_contiguous() and t.numel()):
        return None
    import torch
    cupy = _cupy()
    dev = t.device.index
    if dev != cupy.cuda.runtime.getDevice() or \
            torch.cuda.current_stream(dev).cuda_stream != cupy.cuda.get_current_stream().ptr:
        return None
    mem = cupy.cuda.UnownedMemory(t.data_ptr(), t.numel() * t.element_size(), t, dev)
    return cupy.ndarray(tuple(t.shape), dtype, cupy.cuda.MemoryPointer(mem, 0))


def torch_out16(template, shape, io: str):
    """(tensor, CuPy view of it as BITS16[io]) for a result like CUDA tensor `template`,
    written in place by the kernel; (None, None) where `torch_view` declines."""
    if not type(template).__module__.startswith("torch") or not template.is_cuda:
        return None, None
    import torch
    t = torch.empty(shape, dtype=template.dtype, device=template.device)
    v = torch_view(t, BITS16[io])
    return (t, v) if v is not None else (None, None)


def bits16(a, io: str):
    """A 16-bit array as CuPy (GPU inputs; zero-copy) or NumPy (host) of dtype BITS16[io]."""
    if type(a).__module__.startswith("torch"):
        import torch
        v = torch_view(a, BITS16[io]) if a.is_cuda else None
        if v is not None:
            return v
        t = a.view(torch.int16) if io == "bfloat16" else a
        if t.is_cuda:
            out = _cupy().from_dlpack(t.detach())
        else:
            out = t.detach().numpy()
        return out.view(BITS16[io])
    arr = a if (is_cupy(a) or is_foreign_gpu(a)) else np.asarray(a)
    if is_foreign_gpu(arr):
        arr = as_cupy(arr)
    if isinstance(arr, np.ndarray) and not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))   # the patterns are read as native
    return arr.view(BITS16[io])


def bits16_to_float(b, io: str, xp=np):
    """fp32 values of 16-bit rows."""
    if io == "float16":
        return b.astype(xp.float32)
    return (b.astype(xp.uint32) << 16).view(xp.float32)


def float_to_bits16(f, io: str, xp=np):
    """fp32/fp64 values rounded to the 16-bit dtype (nearest, ties to even), as BITS16[io]."""
    if io == "float16":
        return f.astype(xp.float16)
    u = xp.ascontiguousarray(f, dtype=xp.float32).view(xp.uint32)
    u = (u + xp.uint32(0x7FFF) + ((u >> 16) & xp.uint32(1))) >> 16
    return u.astype(xp.uint16)


def wrap_bits16(y, template, io: str):
    """The result rows in the caller's library and dtype (torch in -> torch out, no copy)."""
    mod = type(template).__module__
    if mod.startswith("torch"):
        import torch
        t = torch.from_dlpack(y) if not isinstance(y, np.ndarray) else torch.from_numpy(y)
        return t.view(torch.bfloat16) if io == "bfloat16" else t
    if io == "bfloat16" and isinstance(y, np.ndarray):
        try:
            import ml_dtypes
            return y.view(ml_dtypes.bfloat16)
        except ImportError:
            return y
    return y
