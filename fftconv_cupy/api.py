"""Public entry points: SciPy's semantics, GPU execution through generated kernels.

fftconvolve / correlate      validate (plan/spec.py) -> plan -> spectrum -> execute
FFTConv                      the same, with the plan and the kernel spectrum made once
"""
from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np

from .errors import UnsupportedPlanError
from .plan.pairs import PairPlan, execute_pairs, kernel_spectrum_pairs, pair_plan
from .plan.plan import Plan, make_plan, min_fft_size
from .plan.sparsity import Sparsity, check_mask, pattern_mask, sparsify
from .plan.sparsity import fft_size as sparse_fft_size
from .plan.reference import execute as cpu_execute
from .plan.spec import ConvSpec, conv_spec, correlate_spec
from .plan.spectrum import kernel_spectrum
from .plan.support import IO_16BIT, IO16_AUTO, IO_PRECISION, PLANNED_PRECISIONS, PRECISIONS
from .runtime import arrays
from .runtime.device import gpu_available

__all__ = ["fftconvolve", "correlate", "causal_conv", "FFTConv"]


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


def _limits(xp) -> dict:
    """make_plan's device keywords: the current GPU's, or sm_90's for the NumPy executor."""
    if xp is np:
        from .plan.support import DEFAULT_SMEM_BYTES
        return {"smem_limit": DEFAULT_SMEM_BYTES, "clusters": True}
    from .runtime.device import planner_limits
    return planner_limits()


def _ptr(a) -> int:
    return a.data.ptr


def _row_pairs(L, K, *, mode, io16, precision, order, limits, batch, gates=(False, False)):
    """The row-pair plan (plan/pairs.py) where it serves: 16-bit rows in blocks of 2 S rows
    of a channel (a batch that is a multiple of 2 S), Monarch order 3 or the default, on a
    GPU with stmatrix (sm_90), a size of the support table; else None."""
    if not io16 or order not in (None, 3) or not limits.get("clusters"):
        return None
    return pair_plan(L, K, mode=mode, io=io16, precision=precision, gates=gates, batch=batch)


class _Problem:
    """One convolved axis, moved last; operands as (rows, len) with the kernel broadcast
    over channels (row r uses kernel row r % channels).  Shape logic only: the
    operands are formed by `operands`, so a plan never touches signal data."""

    def __init__(self, spec: ConvSpec, xp):
        axis = spec.axes[0]
        self.spec, self.axis, self.xp = spec, axis, xp
        s1, s2 = spec.shape1, spec.shape2
        b1 = tuple(n for a, n in enumerate(s1) if a != axis)
        b2 = tuple(n for a, n in enumerate(s2) if a != axis)
        batch = tuple(max(p, q) for p, q in zip(b1, b2))
        # signal: the operand that spans the whole batch; kernel: broadcast over its leading axes
        if b1 == batch and _suffix(b2, batch) is not None:
            self.swap, self.materialize, hk = False, False, _suffix(b2, batch)
        elif b2 == batch and _suffix(b1, batch) is not None:
            self.swap, self.materialize, hk = True, False, _suffix(b1, batch)
        else:  # general broadcast: materialize both (a copy of the smaller operand)
            self.swap, self.materialize, hk = False, True, len(batch)
        self.batch = batch
        self.channels = math.prod(batch[len(batch) - hk:])
        self.rows = math.prod(batch)

    def _last(self, a):
        a = self.xp.moveaxis(a, self.axis, -1)
        if self.materialize:
            a = self.xp.broadcast_to(a, self.batch + a.shape[-1:])
        return a

    def signal_rows(self, a):
        a = self._last(a)
        return a.reshape(-1, a.shape[-1])

    def kernel_rows(self, a):
        a = self._last(a)
        return a.reshape(self.channels, a.shape[-1])   # leading axes are 1 (or materialized)

    def operands(self, in1, in2):
        x, k = (in2, in1) if self.swap else (in1, in2)
        return self.signal_rows(x), self.kernel_rows(k)

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


@functools.lru_cache(maxsize=256)
def _executor(plan: Plan | PairPlan):
    """One executor per plan per process (its kernel is compiled or loaded once)."""
    if isinstance(plan, PairPlan):
        from .runtime.pairs import PairExecutor
        return PairExecutor(plan)
    from .runtime.executor import GPUExecutor
    return GPUExecutor(plan)


def _execute_rows(plan: Plan, x, hs, channels: int, length: int, xp, io, *,
                  pre_gate=None, post_gate=None, out=None):
    """y rows (rows, length) of `plan` for contiguous rows x; row r uses spectrum row r % channels.

    GPU arrays go through the generated kernels (into `out`, contiguous (rows, length) of
    `io`, where given); NumPy arrays (no GPU) through the NumPy executor of the same plan.
    """
    rows = x.shape[0]
    if xp is np and isinstance(plan, PairPlan):
        x, pre_gate, post_gate = (None if a is None else arrays.bits16_to_float(a, plan.io)
                                  for a in (x, pre_gate, post_gate))
        y = execute_pairs(plan, x.astype(np.float64), hs, channels, pre_gate=pre_gate,
                          post_gate=post_gate)
        return arrays.float_to_bits16(y, plan.io)
    if xp is np:
        if plan.io is not None:       # 16-bit rows: the executor works on their fp32 values
            x, pre_gate, post_gate = (None if a is None else arrays.bits16_to_float(a, plan.io)
                                      for a in (x, pre_gate, post_gate))
        y = cpu_execute(plan, x, hs, np.arange(rows) % channels, pre_gate=pre_gate,
                        post_gate=post_gate)
        return arrays.float_to_bits16(y, plan.io) if plan.io else y.astype(io, copy=False)
    if isinstance(plan, PairPlan):
        # row pairs read 8-byte pieces: a shifted view is copied
        x, pre_gate, post_gate = (a if a is None or _ptr(a) % 16 == 0 else a.copy()
                                  for a in (x, pre_gate, post_gate))
    if io.kind == "c":
        # complex rows are read as whole elements: an element-misaligned view is copied
        x = x if _ptr(x) % io.itemsize == 0 else x.copy()
        pre_gate = pre_gate if pre_gate is None or _ptr(pre_gate) % io.itemsize == 0 else pre_gate.copy()
        post_gate = post_gate if post_gate is None or _ptr(post_gate) % io.itemsize == 0 else post_gate.copy()
    y = xp.empty((rows, length), dtype=io) if out is None else out
    # a gate is read with the same vector width as its row: OR-ing the addresses keeps
    # the lowest alignment of the pair
    plan = plan.with_alignment(_ptr(x) | (0 if pre_gate is None else _ptr(pre_gate)),
                               _ptr(y) | (0 if post_gate is None else _ptr(post_gate)))
    ex = _executor(plan)
    ex(x, hs, y, batch=rows // channels if channels else 0, channels=channels, pre_gate=pre_gate,
       post_gate=post_gate)
    return y


def _conv_1d(prob: _Problem, in1, in2, precision: str, order):
    spec, xp = prob.spec, prob.xp
    start, length = spec.windows[0]
    real = not spec.is_complex
    io = PRECISIONS[precision].real_dtype if real else PRECISIONS[precision].complex_dtype
    x, k = prob.operands(in1, in2)
    x = xp.ascontiguousarray(x, dtype=io)
    plan = make_plan(x.shape[-1], k.shape[-1], start, length, real=real, precision=precision,
                     order=order, **_limits(xp))
    return _execute_rows(plan, x, kernel_spectrum(plan, k, xp), prob.channels, length, xp, io)


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


def _namespace(*arrays_):
    """(xp, on_gpu, convert): CuPy when any input is on the GPU or a GPU is present."""
    kind = arrays.kind_of(*arrays_)
    if kind == "cupy" or gpu_available():
        import cupy
        return cupy, kind, arrays.as_cupy
    return np, kind, np.asarray


def _deliver(out, kind, template):
    """The result in the caller's library: NumPy in -> NumPy out, torch in -> torch out."""
    if kind == "numpy" and not isinstance(out, (np.ndarray, np.generic)):
        return out.get()
    if arrays.is_foreign_gpu(template):
        return arrays.wrap_like(out, template)
    return out


def _run(spec: ConvSpec, in1, in2, precision, order):
    if not spec.trivial:
        prec = _precision_for(spec.fft_dtype, precision)
    xp, kind, conv = _namespace(in1, in2)
    template = in1 if arrays.is_foreign_gpu(in1) else in2
    a1, a2 = conv(in1), conv(in2)
    if spec.trivial == "multiply":
        return _deliver(a1 * (xp.conj(a2) if spec.conj2 else a2), kind, template)
    if spec.trivial == "empty":
        return _deliver(xp.zeros(spec.out_shape, dtype=spec.dtype), kind, template)
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
        prob = _Problem(spec, xp)
        try:
            out = prob.finish(_conv_1d(prob, a1, a2, prec, order))
        except UnsupportedPlanError:
            if order is not None or precision != "auto":
                raise           # the caller asked for this plan
            # beyond the generator's sizes: the library FFT, still SciPy's result
            out = _fft_nd(spec, a1.astype(fdt), a2.astype(fdt), xp)
    else:
        out = _fft_nd(spec, a1.astype(fdt), a2.astype(fdt), xp)
    if spec.round_result:
        out = xp.round(out.real if out.dtype.kind == "c" and spec.dtype.kind != "c" else out)
    if spec.dtype.kind == "b":
        out = out != 0
    out = xp.ascontiguousarray(out.astype(spec.dtype, copy=False))
    if not getattr(out.flags, "writeable", True):
        out = out.copy()        # a broadcast view: SciPy returns an array of its own
    return _deliver(out, kind, template)


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


def causal_shapes(s_u, s_k) -> tuple[int, int, int, tuple[int, int]]:
    """causal_conv's shape rules: (H, L, K, the kernel's (H or 1, K) shape)."""
    s_u, s_k = tuple(s_u), tuple(s_k)
    if len(s_u) < 2:
        raise ValueError(f"u must have shape (..., H, L), got {s_u}")
    H, L = s_u[-2], s_u[-1]
    if len(s_k) == 1:
        s_k2 = (1, s_k[0])
    elif len(s_k) == 2:
        s_k2 = s_k
    else:
        raise ValueError(f"k must have shape (H, K) or (K,), got {s_k}")
    if s_k2[0] not in (1, H):
        raise ValueError(f"k has {s_k2[0]} channels, u has H = {H}")
    K = s_k2[1]
    if not 1 <= K <= L:
        raise ValueError(f"kernel length K = {K} must be between 1 and the sequence length L = {L}")
    return H, L, K, s_k2


def check_gate(name: str, s_g, d_g, s_u, d_u, d_k) -> None:
    """A gate of a causal_conv with float32/64 or complex u: u's shape, real unless u or k is complex."""
    if tuple(s_g) != tuple(s_u):
        raise ValueError(f"{name} must have u's shape {tuple(s_u)}, got {tuple(s_g)}")
    if np.dtype(d_g).kind == "c" and np.dtype(d_u).kind != "c" and np.dtype(d_k).kind != "c":
        raise TypeError(f"{name} is complex but u and k are real; pass complex u or k")


def check_kernel16(io: str, d_k) -> None:
    if np.dtype(d_k).kind == "c":
        raise TypeError(f"{io} signals need a real kernel")


def check_gate16(name: str, s_g, io_g, s_u, io: str) -> None:
    """A gate of a 16-bit causal_conv: u's shape and dtype."""
    if tuple(s_g) != tuple(s_u) or io_g != io:
        raise ValueError(f"{name} must be a {io} array of u's shape {tuple(s_u)}")


def causal_conv(u, k, *, pre_gate=None, post_gate=None, precision="auto", order=None):
    """FlashFFTConv's long convolution: y = post_gate * causal_conv(pre_gate * u, k).

    u (..., H, L), k (H, K) or (K,) with K <= L; y (..., H, L) = the first L samples of
    the linear convolution of each row with its channel's kernel.  The gates (shape of
    u) are multiplied on chip while loading and storing; the zero padding is implicit.
    Dtypes follow SciPy's promotion (float32 stays float32).
    """
    s_u, d_u = _shape_dtype(u)
    s_k, d_k = _shape_dtype(k)
    H, L, K, s_k2 = causal_shapes(s_u, s_k)
    io16 = arrays.dtype_name(u)
    if io16 in IO_16BIT:
        return _causal_conv16(u, k, s_u, s_k2, io16, pre_gate, post_gate, precision, order)
    for name, g in (("pre_gate", pre_gate), ("post_gate", post_gate)):
        if g is not None:
            check_gate(name, *_shape_dtype(g), s_u, d_u, d_k)
    spec = conv_spec((H, L), d_u, s_k2, d_k, "full", -1)
    dtype = spec.dtype
    prec = _precision_for(spec.fft_dtype, precision)
    real = spec.fft_dtype.kind != "c"
    io = PRECISIONS[prec].real_dtype if real else PRECISIONS[prec].complex_dtype
    xp, kind, conv = _namespace(u, k, *(g for g in (pre_gate, post_gate) if g is not None))
    x = xp.ascontiguousarray(conv(u), dtype=io).reshape(-1, L)
    kk = xp.asarray(conv(k)).reshape(s_k2)
    gates = [None if g is None else xp.ascontiguousarray(conv(g), dtype=io).reshape(-1, L)
             for g in (pre_gate, post_gate)]
    plan = make_plan(L, K, 0, L, real=real, precision=prec, order=order,
                     **_limits(xp), gates=(gates[0] is not None, gates[1] is not None))
    hs = kernel_spectrum(plan, kk, xp)
    y = _execute_rows(plan, x, hs, s_k2[0], L, xp, io, pre_gate=gates[0], post_gate=gates[1])
    out = xp.ascontiguousarray(y.reshape(s_u).astype(dtype, copy=False))
    return _deliver(out, kind, u)


def _kernel_values(k, xp, conv):
    """The kernel as an array of xp; a 16-bit kernel (bf16 has no CuPy dtype) as its fp32 values."""
    name = arrays.dtype_name(k)
    if name in IO_16BIT:
        return arrays.bits16_to_float(xp.asarray(arrays.bits16(k, name)), name, xp)
    return xp.asarray(conv(k))


def _precision16(io: str, precision: str) -> str:
    if precision == "auto":
        return IO16_AUTO[io]
    return _precision_for(np.dtype(np.float32), precision)


def _causal_conv16(u, k, s_u, s_k2, io, pre_gate, post_gate, precision, order):
    """causal_conv of 16-bit rows: read and written as 16-bit, computed at `precision`."""
    H, L = s_u[-2], s_u[-1]
    check_kernel16(io, _shape_dtype(k)[1])
    gates = []
    for name, g in (("pre_gate", pre_gate), ("post_gate", post_gate)):
        if g is not None:
            check_gate16(name, _shape_dtype(g)[0], arrays.dtype_name(g), s_u, io)
        gates.append(g)
    prec = _precision16(io, precision)
    xp, kind, conv = _namespace(u, k, *(g for g in gates if g is not None))
    x = xp.ascontiguousarray(xp.asarray(arrays.bits16(u, io))).reshape(-1, L)
    gs = [None if g is None else xp.ascontiguousarray(xp.asarray(arrays.bits16(g, io))).reshape(-1, L)
          for g in gates]
    kk = _kernel_values(k, xp, conv).reshape(s_k2)
    limits, gated = _limits(xp), (gs[0] is not None, gs[1] is not None)
    plan = _row_pairs(L, s_k2[1], mode="causal", io16=io, precision=precision, order=order,
                      limits=limits, batch=x.shape[0] // max(s_k2[0], 1), gates=gated)
    if plan is not None:
        hs = kernel_spectrum_pairs(plan, kk, xp)
    else:
        plan = make_plan(L, s_k2[1], 0, L, real=True, precision=prec, order=order, **limits,
                         gates=gated, io=io)
        hs = kernel_spectrum(plan, kk, xp)
    t, view = arrays.torch_out16(u, s_u, io) if xp is not np else (None, None)
    y = _execute_rows(plan, x, hs, s_k2[0], L, xp, arrays.BITS16[io], pre_gate=gs[0], post_gate=gs[1],
                      out=None if view is None else view.reshape(-1, L))
    if t is not None:
        return t                        # torch in, torch out, written in place
    y = y.reshape(s_u)
    if kind == "numpy" and not isinstance(y, np.ndarray):
        y = y.get()
    return arrays.wrap_bits16(y, u, io)


def _settle(stream) -> None:
    """Wait for `stream`'s work, unless it is being captured into a graph (where waiting is
    not allowed, and the graph orders the work itself)."""
    if not stream.is_capturing():
        stream.synchronize()


class FFTConv:
    """A convolution plan for signals of one shape with one kernel, along one axis.

    The kernel spectrum is computed once, in the layout the generated kernel
    consumes, and reused on every call::

        conv = FFTConv(x.shape, k, mode="same")
        y = conv(x)

    `kernel` has the signal's number of dimensions (or 1-D); its non-convolved
    axes broadcast against the signal's like SciPy's.

    mode: SciPy's "full", "same", "valid"; "causal" (the first L samples of the full
    convolution, L the signal's length) or "circular" (size-L circular convolution).

    sparsity: a `Sparsity` pattern or a boolean mask of the kernel spectrum (one
    entry per rfft bin of the FFT size `fft_size` for real data, per bin otherwise).
    The result is the convolution with the masked spectrum, IFFT(FFT(x) H mask),
    windowed like the dense one; the generated kernel skips the butterflies,
    middle-pass rows and intermediate traffic of masked classes that align with
    its decomposition (`plan.sparse`; see docs/sparse.md). The mask is `self.mask`.
    """

    def __init__(self, shape, kernel, mode="full", axes=-1, precision="auto", order=None,
                 dtype=None, sparsity=None):
        if isinstance(axes, (list, tuple)):
            if len(axes) != 1:
                raise ValueError("FFTConv convolves along one axis; use fftconvolve for several")
            axes = axes[0]
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        xp, _, conv = _namespace(kernel)
        k = _kernel_values(kernel, xp, conv)
        # 16-bit signals: rows read and written as 16-bit, results in the same dtype
        spelt = arrays.dtype_spelling(dtype)
        self.io16 = io16 = spelt if spelt in IO_16BIT else None
        if io16 is not None:
            dtype = np.float32
        if k.ndim == 1 and len(shape) > 1:
            # SciPy's wording (conv_spec's, for an N-D kernel)
            if not isinstance(axes, (int, np.integer)):
                raise ValueError("axes must be a scalar or iterable of integers")
            if not -len(shape) <= axes < len(shape):
                raise ValueError("axes exceeds dimensionality of input")
            k = k.reshape((1,) * (len(shape) - 1) + k.shape)
            k = xp.moveaxis(k, -1, axes)
        dtype = np.dtype(dtype) if dtype is not None else _np_dtype(k.dtype)
        circular = mode == "circular"
        head = circular or mode == "causal"
        # circular / causal: SciPy's checks of a full convolution, then the window [0, L)
        # (of a size-L circular convolution: the wrap-around is the point)
        spec = conv_spec(shape, dtype, tuple(k.shape), _np_dtype(k.dtype),
                         "full" if head else mode, axes)
        if spec.trivial == "empty":
            raise ValueError(f"FFTConv needs a non-empty signal and kernel (shapes {shape} and "
                             f"{tuple(k.shape)}); fftconvolve returns SciPy's empty result")
        if spec.trivial or len(spec.axes) != 1:
            raise ValueError("FFTConv needs one axis along which both the signal and the kernel "
                             "have more than one sample; use fftconvolve otherwise")
        if spec.swapped:
            raise ValueError("in 'valid' mode FFTConv needs the kernel no longer than the signal")
        self._prob = prob = _Problem(spec, xp)
        if prob.swap:
            raise ValueError("the kernel's other axes must broadcast against the signal's")
        axis = spec.axes[0]
        L, K = shape[axis], k.shape[axis]
        if head and K > L:
            raise ValueError(f"a {mode} convolution needs the kernel ({K}) no longer than the signal ({L})")
        start, length = (0, L) if head else spec.windows[0]
        if head:
            prob.spec = spec = replace(spec, out_shape=shape,
                                       all_windows=tuple((0, n) for n in spec.full_shape[:axis])
                                       + ((0, L),) + tuple((0, n) for n in spec.full_shape[axis + 1:]))
        self.spec, self.shape, self.dtype, self.xp = spec, shape, dtype, xp
        prec = _precision16(io16, precision) if io16 else _precision_for(spec.fft_dtype, precision)
        real = not spec.is_complex
        if io16 and not real:
            raise TypeError(f"{io16} signals need a real kernel")
        # a sparse plan transforms whole rows (no overlap-save) of a size 2^a * c
        n = None if sparsity is None or circular else sparse_fft_size(
            min_fft_size(L, K, start, length), real)
        limits = _limits(xp)
        if sparsity is not None:
            limits["clusters"] = False      # sparse masks skip work in fused and three-pass plans
        # 16-bit rows in same-channel pairs: row pairs on tensor cores where they serve
        pairs = None
        if sparsity is None and axis == len(shape) - 1 and not prob.materialize:
            pairs = _row_pairs(L, K, mode=mode, io16=io16, precision=precision, order=order,
                               limits=limits, batch=math.prod(shape) // L // max(prob.channels, 1))
        plan = pairs or make_plan(L, K, start, length, real=real, precision=prec, order=order,
                                  **limits, circular=circular, n=n,
                                  segment=False if sparsity is not None else None, io=io16)
        self.mask = None
        if sparsity is not None:
            # a mask of the whole row's spectrum: one transform per row (no overlap-save)
            if isinstance(sparsity, Sparsity):
                self.mask = pattern_mask(plan, sparsity)
            elif isinstance(sparsity, str):
                raise TypeError("sparsity must be a Sparsity(pattern, density) or a boolean mask, "
                                f"got the string {sparsity!r}")
            else:
                self.mask = check_mask(plan, sparsity.get() if arrays.is_cupy(sparsity) else np.asarray(sparsity))
            plan = sparsify(plan, self.mask)
        self.plan: Plan = plan
        self.fft_size = plan.n
        self.spectrum = (kernel_spectrum_pairs(plan, prob.kernel_rows(k), xp) if pairs else
                         kernel_spectrum(plan, prob.kernel_rows(k), xp, mask=self.mask))
        # the spectrum per device: a plan made on one GPU runs on any (copied on first use
        # there); complete before any other stream or device reads it
        self._spectra = None
        if xp is not np:
            _settle(xp.cuda.get_current_stream())
            self._spectra = {self.spectrum.data.device_id: self.spectrum}
        self._io = (arrays.BITS16[io16] if io16 else
                    PRECISIONS[prec].real_dtype if real else PRECISIONS[prec].complex_dtype)
        self._length = length
        # CuPy rows already in place (axis last, no broadcast copy, the whole batch kept, the
        # plan's own dtype): the call is the kernel launch alone (the general path's array
        # bookkeeping costs ~20-30 us a call, the size of a small convolution)
        batch_kept = all(w == (0, n) for w, n in zip(spec.all_windows[:-1], prob.batch))
        self._direct = (xp is not np and io16 is None and axis == len(shape) - 1 and batch_kept
                        and not prob.materialize and np.dtype(self._io) == self.dtype == spec.dtype
                        and not spec.round_result)
        self._out_shape = shape[:-1] + (length,)
        # 16-bit rows the same way: a torch tensor's result is allocated by torch and written
        # in place (no DLPack exchange on either side where the streams agree)
        self._direct16 = (xp is not np and io16 is not None and axis == len(shape) - 1
                          and batch_kept and not prob.materialize)

    def __call__(self, x):
        if self._direct and type(x) is self.xp.ndarray and x.flags.c_contiguous \
                and x.shape == self.shape and x.dtype == self.dtype and x.size:
            return self._call_direct(x)
        s, d = _shape_dtype(x)
        if tuple(s) != self.shape:
            raise ValueError(f"this plan was made for shape {self.shape}, got {tuple(s)}")
        if self.io16 is not None:
            return self._call16(x)
        if np.dtype(d) != self.dtype:
            raise TypeError(f"this plan was made for {self.dtype} signals, got {np.dtype(d)}; "
                            f"make one with dtype={np.dtype(d)}")
        xp, prob = self.xp, self._prob
        if xp is np and arrays.kind_of(x) == "cupy":
            raise TypeError("this plan lives on the host (no GPU); pass a NumPy array")
        a = arrays.as_cupy(x) if xp is not np else np.asarray(x)
        rows = xp.ascontiguousarray(prob.signal_rows(a), dtype=self._io)
        y = _execute_rows(self.plan, rows, self._spectrum_here(), prob.channels, self._length, xp,
                          self._io)
        out = xp.ascontiguousarray(prob.finish(y).astype(self.spec.dtype, copy=False))
        return _deliver(out, arrays.kind_of(x), x)

    def _spectrum_here(self):
        """The kernel spectrum on the current device (the NumPy one without a GPU)."""
        if self.xp is np:
            return self.spectrum
        cupy = self.xp
        device = cupy.cuda.runtime.getDevice()
        hs = self._spectra.get(device)
        if hs is None:
            hs = cupy.copy(self.spectrum)               # onto the current device
            _settle(cupy.cuda.get_current_stream())     # before another stream reads it
            hs = self._spectra.setdefault(device, hs)
        return hs

    def _call_direct(self, x):
        """C-contiguous CuPy signal of the plan's shape and dtype, rows along the last axis."""
        rows = x.reshape(-1, self.shape[-1])
        if self.dtype.kind == "c" and x.data.ptr % self.dtype.itemsize:
            rows = rows.copy()          # complex rows are read as whole elements
        y = self.xp.empty(self._out_shape, dtype=self.dtype)
        plan = self.plan.with_alignment(rows.data.ptr, y.data.ptr)
        channels = self._prob.channels
        _executor(plan)(rows, self._spectrum_here(), y.reshape(-1, self._length),
                        batch=rows.shape[0] // channels, channels=channels)
        return y

    def _call16(self, x):
        name = arrays.dtype_name(x)
        if name != self.io16:
            raise TypeError(f"this plan was made for {self.io16} signals, got {name}")
        xp, prob = self.xp, self._prob
        if xp is np and arrays.kind_of(x) == "cupy":
            raise TypeError("this plan lives on the host (no GPU); pass a NumPy array")
        t, view = arrays.torch_out16(x, self._out_shape, self.io16) if self._direct16 else (None, None)
        rows = xp.ascontiguousarray(prob.signal_rows(xp.asarray(arrays.bits16(x, self.io16))))
        y = _execute_rows(self.plan, rows, self._spectrum_here(), prob.channels, self._length, xp,
                          self._io, out=None if view is None else view.reshape(-1, self._length))
        if t is not None:
            return t
        out = xp.ascontiguousarray(prob.finish(y))
        if arrays.kind_of(x) == "numpy" and not isinstance(out, np.ndarray):
            out = out.get()
        return arrays.wrap_bits16(out, x, self.io16)
