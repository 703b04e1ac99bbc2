"""Public entry points: SciPy's semantics, GPU execution through generated kernels.

fftconvolve / correlate      validate (plan/spec.py) -> plan -> spectrum -> execute
FFTConv                      the same, with the plan and the kernel spectrum made once
"""
from __future__ import annotations

import math

import numpy as np

from .errors import UnsupportedPlanError
from .plan.plan import Plan, make_plan
from .plan.reference import execute as cpu_execute
from .plan.spec import ConvSpec, conv_spec, correlate_spec
from .plan.spectrum import kernel_spectrum
from .plan.support import IO_PRECISION, PLANNED_PRECISIONS, PRECISIONS
from .runtime import arrays
from .runtime.device import gpu_available

__all__ = ["fftconvolve", "correlate", "FFTConv"]


def _precision_for(dtype: np.dtype, precision: str) -> str:
    if precision == "auto":
        return IO_PRECISION.get(np.dtype(dtype).name, "fp64")
    if precision in PRECISIONS:
        return precision
    if precision in PLANNED_PRECISIONS:
        raise UnsupportedPlanError(
            f"precision {precision!r} is not available yet; supported: 'auto', "
            + ", ".join(repr(p) for p in PRECISIONS))
    raise ValueError(f"precision must be 'auto' or one of {sorted(PRECISIONS)}, got {precision!r}")


def _smem_limit(xp) -> int:
    if xp is np:
        from .plan.support import DEFAULT_SMEM_BYTES
        return DEFAULT_SMEM_BYTES
    from .runtime.device import current_limits
    return current_limits()["smem_optin"]


def _ptr(a) -> int:
    return a.data.ptr


class _Problem:
    """One convolved axis, moved last; operands flattened to (rows, len) with channel broadcast."""

    def __init__(self, spec: ConvSpec, in1, in2, xp):
        axis = spec.axes[0]
        self.spec, self.axis, self.xp = spec, axis, xp
        a1 = xp.moveaxis(in1, axis, -1)
        a2 = xp.moveaxis(in2, axis, -1)
        b1, b2 = a1.shape[:-1], a2.shape[:-1]
        batch = tuple(max(p, q) for p, q in zip(b1, b2))
        # signal: the operand that spans the whole batch; kernel: broadcast over its leading axes
        if b1 == batch and _suffix(b2, batch) is not None:
            x, k, hk = a1, a2, _suffix(b2, batch)
        elif b2 == batch and _suffix(b1, batch) is not None:
            x, k, hk = a2, a1, _suffix(b1, batch)
        else:  # general broadcast: materialize both (a copy of the smaller operand)
            x = xp.broadcast_to(a1, batch + a1.shape[-1:])
            k = xp.broadcast_to(a2, batch + a2.shape[-1:])
            hk = len(batch)
        chan_shape = batch[len(batch) - hk:] if hk else ()
        self.batch = batch
        self.channels = math.prod(chan_shape)
        self.nbatch = math.prod(batch[:len(batch) - hk]) if hk <= len(batch) else 1
        self.x = x.reshape(-1, x.shape[-1])
        self.k = k.reshape(self.channels, k.shape[-1])   # leading axes of k are 1 (or materialized)

    def finish(self, y_rows):
        """(rows, out_len) -> result array in the caller's axis order, windows applied."""
        spec, xp = self.spec, self.xp
        y = y_rows.reshape(self.batch + (y_rows.shape[-1],))
        y = xp.moveaxis(y, -1, self.axis)
        sl = list(spec.out_slices)
        sl[self.axis] = slice(None)
        return y[tuple(sl)]


def _suffix(small: tuple, full: tuple) -> int | None:
    """Number of trailing axes of `full` that `small` matches exactly (leading ones must be 1)."""
    n = len(full)
    for j in range(n, -1, -1):
        if all(s == 1 for s in small[:n - j]) and tuple(small[n - j:]) == tuple(full[n - j:]):
            return j
    return None


def _conv_1d(prob: _Problem, precision: str, order, plan_cache=None):
    spec, xp = prob.spec, prob.xp
    start, length = spec.windows[0]
    real = not spec.is_complex
    io = PRECISIONS[precision].real_dtype if real else PRECISIONS[precision].complex_dtype
    x = xp.ascontiguousarray(prob.x, dtype=io)
    k = prob.k
    plan = make_plan(x.shape[-1], k.shape[-1], start, length, real=real, precision=precision,
                     order=order, smem_limit=_smem_limit(xp))
    hs = kernel_spectrum(plan, k, xp)
    rows = x.shape[0]
    if xp is np:
        y = cpu_execute(plan, x, hs, np.arange(rows) % prob.channels
                        if prob.channels > 1 else np.zeros(rows, dtype=np.intp))
        return y.astype(io, copy=False)
    from .runtime.executor import GPUExecutor
    y = xp.empty((rows, length), dtype=io)
    plan = plan.with_alignment(_ptr(x), _ptr(y))
    GPUExecutor(plan)(x, hs, y, batch=rows // prob.channels, channels=prob.channels)
    return y


def _fft_nd(spec: ConvSpec, in1, in2, xp):
    """Several convolved axes: the library FFT along all of them (a less fused path)."""
    shape = [spec.full_shape[a] for a in spec.axes]
    fshape = [int(_next_fast(s)) for s in shape]
    if spec.is_complex:
        sp = xp.fft.fftn(in1, fshape, axes=spec.axes) * xp.fft.fftn(in2, fshape, axes=spec.axes)
        full = xp.fft.ifftn(sp, fshape, axes=spec.axes)
    else:
        sp = xp.fft.rfftn(in1, fshape, axes=spec.axes) * xp.fft.rfftn(in2, fshape, axes=spec.axes)
        full = xp.fft.irfftn(sp, fshape, axes=spec.axes)
    sl = [slice(None)] * full.ndim
    for a, s in zip(spec.axes, shape):
        sl[a] = slice(0, s)
    full = full[tuple(sl)]
    # broadcast axes first, then the windows
    full = xp.broadcast_to(full, tuple(spec.full_shape[a] if a not in spec.axes else full.shape[a]
                                       for a in range(full.ndim)))
    return full[spec.out_slices].astype(spec.fft_dtype, copy=False)


def _next_fast(n):
    from .plan.factorize import next_smooth
    return next_smooth(n)


def _run(spec: ConvSpec, in1, in2, precision, order):
    if not spec.trivial:
        prec = _precision_for(spec.fft_dtype, precision)
    kind = arrays.kind_of(in1, in2)
    on_gpu = kind == "cupy" or gpu_available()
    template = in1 if arrays.is_foreign_gpu(in1) else in2
    if on_gpu:
        import cupy as xp
        a1, a2 = arrays.as_cupy(in1), arrays.as_cupy(in2)
    else:
        xp = np
        a1, a2 = np.asarray(in1), np.asarray(in2)

    if spec.trivial == "multiply":
        return a1 * (xp.conj(a2) if spec.conj2 else a2)
    if spec.trivial == "empty":
        out = xp.zeros(spec.out_shape, dtype=spec.dtype)
        return out.get() if (on_gpu and kind == "numpy") else out
    if spec.correlate:
        if spec.flip_axes:
            a2 = xp.flip(a2, axis=spec.flip_axes)
        if spec.conj2:
            a2 = xp.conj(a2)
    if spec.swapped:
        a1, a2 = a2, a1
    fdt = spec.fft_dtype
    if not spec.axes:           # nothing convolved: SciPy multiplies
        out = xp.broadcast_to(a1 * a2, spec.full_shape)[spec.out_slices]
    elif len(spec.axes) == 1:
        prob = _Problem(spec, a1, a2, xp)
        out = prob.finish(_conv_1d(prob, prec, order))
    else:
        out = _fft_nd(spec, a1.astype(fdt), a2.astype(fdt), xp)
    if spec.round_result:
        out = xp.round(out.real if out.dtype.kind == "c" and spec.dtype.kind != "c" else out)
    if spec.dtype.kind == "b":
        out = out != 0
    out = xp.ascontiguousarray(out.astype(spec.dtype, copy=False))
    if on_gpu and kind == "numpy":
        return out.get()
    if arrays.is_foreign_gpu(template):
        return arrays.wrap_like(out, template)
    return out


def _shape_dtype(a):
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return tuple(a.shape), _np_dtype(a.dtype)
    arr = np.asarray(a)
    return arr.shape, arr.dtype


def _np_dtype(dt):
    try:
        return np.dtype(dt)
    except TypeError:  # torch dtypes
        name = str(dt).replace("torch.", "")
        return np.dtype({"bfloat16": "float32"}.get(name, name))


def fftconvolve(in1, in2, mode="full", axes=None, *, precision="auto", order=None):
    """Convolve two N-dimensional arrays using FFTs; same contract as scipy.signal.fftconvolve.

    CuPy (or other GPU) arrays in -> CuPy out; NumPy in -> NumPy out, computed on
    the GPU when one is present, else by the NumPy executor of the same plan.
    `precision` is the kernel's arithmetic ('auto' follows the result dtype);
    `order` the number of Monarch stages (None: the fewest).
    """
    s1, d1 = _shape_dtype(in1)
    s2, d2 = _shape_dtype(in2)
    spec = conv_spec(s1, d1, s2, d2, mode, axes)
    return _run(spec, in1, in2, precision, order)


def correlate(in1, in2, mode="full", axes=None, *, precision="auto", order=None):
    """Cross-correlate two N-dimensional arrays; same contract as scipy.signal.correlate
    (computed by FFT), plus an `axes` argument (None: all axes)."""
    s1, d1 = _shape_dtype(in1)
    s2, d2 = _shape_dtype(in2)
    spec = correlate_spec(s1, d1, s2, d2, mode, axes)
    return _run(spec, in1, in2, precision, order)


class FFTConv:
    """A convolution plan for signals of one shape with one kernel, along one axis.

    The kernel spectrum is computed once, in the layout the generated kernel
    consumes, and reused on every call::

        conv = FFTConv(x.shape, k, mode="same")
        y = conv(x)

    `kernel` has the signal's number of dimensions (or 1-D); its non-convolved
    axes broadcast against the signal's like SciPy's.
    """

    def __init__(self, shape, kernel, mode="full", axes=-1, precision="auto", order=None,
                 dtype=None):
        if isinstance(axes, (list, tuple)):
            if len(axes) != 1:
                raise ValueError("FFTConv convolves along one axis; use fftconvolve for several")
            axes = axes[0]
        shape = tuple(int(s) for s in shape)
        kind = arrays.kind_of(kernel)
        on_gpu = kind == "cupy" or gpu_available()
        if on_gpu:
            import cupy as xp
            k = arrays.as_cupy(kernel)
        else:
            xp, k = np, np.asarray(kernel)
        if k.ndim == 1 and len(shape) > 1:
            k = k.reshape((1,) * (len(shape) - 1) + k.shape)
            k = xp.moveaxis(k, -1, axes)
        dtype = np.dtype(dtype) if dtype is not None else _np_dtype(k.dtype)
        spec = conv_spec(shape, dtype, tuple(k.shape), _np_dtype(k.dtype), mode, axes)
        if spec.trivial or len(spec.axes) != 1 or spec.swapped:
            raise ValueError("FFTConv needs one convolved axis with the kernel no longer than "
                             "the signal in 'valid' mode; use fftconvolve otherwise")
        self.spec, self.shape, self.dtype, self.xp = spec, shape, dtype, xp
        self._kind = kind
        prec = _precision_for(spec.fft_dtype, precision)
        dummy = xp.empty((1,) * len(shape), dtype=spec.fft_dtype)
        dummy = xp.broadcast_to(dummy, shape)
        self._prob = _Problem(spec, dummy, k, xp)
        real = not spec.is_complex
        start, length = spec.windows[0]
        self.plan: Plan = make_plan(shape[spec.axes[0]], k.shape[spec.axes[0]], start, length,
                                    real=real, precision=prec, order=order,
                                    smem_limit=_smem_limit(xp))
        self.spectrum = kernel_spectrum(self.plan, self._prob.k, xp)
        self._io = PRECISIONS[prec].real_dtype if real else PRECISIONS[prec].complex_dtype
        self._executors = {}

    def __call__(self, x):
        s, d = _shape_dtype(x)
        if tuple(s) != self.shape:
            raise ValueError(f"this plan was made for shape {self.shape}, got {tuple(s)}")
        xp, spec, prob = self.xp, self.spec, self._prob
        template = x
        a = arrays.as_cupy(x) if xp is not np else np.asarray(x)
        if d.kind == "c" and not spec.is_complex:
            raise TypeError("this plan was made for real signals; make one with dtype=complex")
        rows_view = xp.moveaxis(a, spec.axes[0], -1)
        rows = xp.ascontiguousarray(rows_view, dtype=self._io).reshape(-1, self.shape[spec.axes[0]])
        start, length = spec.windows[0]
        n = rows.shape[0]
        if xp is np:
            y = cpu_execute(self.plan, rows, self.spectrum, np.arange(n) % prob.channels)
            y = y.astype(self._io, copy=False)
        else:
            from .runtime.executor import GPUExecutor
            y = xp.empty((n, length), dtype=self._io)
            plan = self.plan.with_alignment(_ptr(rows), _ptr(y))
            ex = self._executors.get(plan)
            if ex is None:
                ex = self._executors[plan] = GPUExecutor(plan)
            ex(rows, self.spectrum, y, batch=n // prob.channels, channels=prob.channels)
        out = prob.finish(y)
        out = xp.ascontiguousarray(out.astype(spec.dtype, copy=False))
        if arrays.is_foreign_gpu(template):
            return arrays.wrap_like(out, template)
        return out
