"""Dask arrays in, dask arrays out: fftconv_cupy's convolutions over chunked signals.

A signal chunked along its other axes runs one plan per chunk shape (an `FFTConv`: the
kernel spectrum is computed once per worker process and chunk shape, then reused). A
signal chunked along the convolved axis runs as overlap-save across its chunks: each chunk
receives the K - 1 samples before it from its neighbour (``dask.array.map_overlap``) and
yields the 'valid' convolution of the extended chunk, which is exactly its share of the
causal convolution; 'full', 'same' and 'valid' are windows of that (of the signal followed
by as many zeros as the window reaches past it). A chunk holds its own samples (chunks
shorter than K merged with a neighbour first) plus K - 1.

Chunks may be NumPy arrays (computed on the GPU when one is present, otherwise by the
NumPy executor of the same plan) or CuPy arrays (e.g. dask-cuda workers, one GPU each);
the result has the chunks' array type.

    import dask.array as da
    from fftconv_cupy import dask as fcd

    x = da.from_array(signal, chunks=(8, 1 << 20))      # (channels, samples), long rows
    y = fcd.fftconvolve(x, taps[None, :], mode="same", axes=-1)   # lazy; y.compute() runs it
"""
from __future__ import annotations

import functools
import math
import operator
import threading
from collections import OrderedDict

import numpy as np

from . import api
from .plan.spec import conv_spec
from .plan.support import IO_16BIT
from .runtime import arrays

MODES = ("full", "same", "valid", "causal")


def _da():
    try:
        import dask.array as da
    except ImportError as exc:   # an optional dependency: say how to get it
        raise ImportError("fftconv_cupy.dask needs dask: pip install 'fftconv_cupy[dask]'") from exc
    return da


def _is_dask(a) -> bool:
    return type(a).__module__.startswith("dask.") and hasattr(a, "chunks")


def _host(a) -> np.ndarray:
    """The kernel as a NumPy array: it is small, and travels to the workers with the graph."""
    if _is_dask(a):
        a = a.compute()
    if arrays.is_cupy(a):
        return a.get()
    if arrays.is_foreign_gpu(a):
        return arrays.as_cupy(a).get()
    return np.asarray(a)


# FFTConv plans of the chunk functions, per process: (kernel token, chunk key) -> plan.  Module
# level, so that a process-pool worker reuses them across tasks (each task unpickles its own
# copy of the chunk function); bounded, since every plan holds its spectrum on the device.
_PLANS: OrderedDict = OrderedDict()
_PLANS_LOCK = threading.Lock()
_PLANS_KEPT = 64


class _BlockConv:
    """The per-chunk function: `mode` along `axis` with the kernel's slice for the chunk.

    Plans (`FFTConv`) are memoized per process by the kernel's token (dask's hash of the
    kernel and options, made when the graph is built) and the chunk's shape, dtype,
    kernel slice and array type."""

    def __init__(self, kernel: np.ndarray, axis: int, precision, order, keep16: bool):
        from dask.base import tokenize
        self.kernel, self.axis = kernel, axis
        self.precision, self.order, self.keep16 = precision, order, keep16
        self.token = tokenize(kernel, axis, precision, order, keep16)

    def plan(self, block, mode: str, location):
        ks = _kernel_index(self.kernel.shape, self.axis, location)
        key = (self.token, block.shape, block.dtype.str, mode, tuple((s.start, s.stop) for s in ks),
               arrays.kind_of(block))
        with _PLANS_LOCK:
            conv = _PLANS.get(key)
            if conv is not None:
                _PLANS.move_to_end(key)
        if conv is None:
            conv = api.FFTConv(block.shape, _xp(block).asarray(self.kernel[ks]), mode=mode,
                               axes=self.axis, precision=self.precision, order=self.order,
                               dtype=block.dtype)
            with _PLANS_LOCK:
                conv = _PLANS.setdefault(key, conv)
                while len(_PLANS) > _PLANS_KEPT:
                    _PLANS.popitem(last=False)
        return conv

    def _run(self, block, mode: str, block_info):
        if block.size == 0:
            return _empty_chunk(block, block_info)
        if not self.keep16 and block.dtype == np.float16:
            block = block.astype(np.float32)    # SciPy's promotion (keep16: causal_conv's 16-bit rows)
        return self.plan(block, mode, _location(block, block_info))(block)

    def whole(self, block, mode: str, block_info=None):
        """The convolved axis in one chunk: the plan's own mode."""
        return self._run(block, mode, block_info)

    def causal_part(self, block, block_info=None):
        """One chunk of a chunked axis, extended by the K - 1 samples before it (none for the
        first chunk): its outputs of the causal convolution."""
        first = block_info[0]["chunk-location"][self.axis] == 0
        return self._run(block, "causal" if first else "valid", block_info)


def _signal(x, name: str = "in1"):
    if not _is_dask(x):
        raise TypeError(f"fftconv_cupy.dask takes a dask array signal, got {type(x).__name__}; "
                        "use the fftconv_cupy function of the same name for in-memory arrays")
    if any(math.isnan(c) for cs in x.chunks for c in cs):
        raise ValueError(f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() first")
    return x


def _axis(axes, k_shape: tuple, ndim: int) -> int:
    """The one convolved axis. axes=None (SciPy: every axis) is the kernel's one axis longer
    than 1: along the others the convolution is a product."""
    if axes is None:
        longer = [d for d, m in enumerate(k_shape) if m > 1]
        if len(longer) > 1:
            raise ValueError("fftconv_cupy.dask convolves along one axis; pass axes")
        return longer[0] if longer else ndim - 1
    try:
        axes = [operator.index(a) for a in (axes if isinstance(axes, (list, tuple)) else [axes])]
    except TypeError:
        raise ValueError("axes must be a scalar or iterable of integers") from None
    if len(axes) != 1:
        raise ValueError("fftconv_cupy.dask convolves along one axis")
    if not -ndim <= axes[0] < ndim:
        raise ValueError("axes exceeds dimensionality of input")
    return axes[0] % ndim


def _broadcast(da, x, k: np.ndarray, axis: int):
    """x broadcast against the kernel on the axes that are not convolved (SciPy's rule)."""
    shape = tuple(n if d == axis or m == 1 or n != 1 else m
                  for d, (n, m) in enumerate(zip(x.shape, k.shape)))
    return x if shape == tuple(x.shape) else da.broadcast_to(x, shape)


def _xp(block):
    if arrays.is_cupy(block):
        import cupy
        return cupy
    return np


def _empty_chunk(block, block_info):
    """The output of an empty chunk: its shape from dask's description of the output."""
    out = (block_info or {}).get(None, {})
    return _xp(block).empty(out.get("chunk-shape", block.shape), out.get("dtype", block.dtype))


def _kernel_index(k_shape: tuple, axis: int, location) -> tuple:
    """The kernel's slice for a chunk at `location`: on axes where it has one entry per
    signal index, the chunk's."""
    return tuple(slice(None) if d == axis or n == 1 else slice(*location[d])
                 for d, n in enumerate(k_shape))


def _kernel_for(block, k: np.ndarray, axis: int, location):
    """The kernel's slice for a chunk at `location`, as the chunk's array type."""
    return _xp(block).asarray(k[_kernel_index(k.shape, axis, location)])


def _location(block, block_info):
    return block_info[0]["array-location"] if block_info else [(0, n) for n in block.shape]


def _product(block, k, axis, dtype, block_info=None):
    """A kernel of length 1: the convolution is the product (SciPy's dtype)."""
    kk = _kernel_for(block, k, axis, _location(block, block_info))
    return (block.astype(dtype, copy=False) * kk.astype(dtype, copy=False)).astype(dtype, copy=False)


def _meta(x, dtype):
    return x._meta.astype(dtype) if hasattr(x, "_meta") else np.empty((0,) * x.ndim, dtype)


def _merged(chunks: tuple, least: int) -> tuple:
    """`chunks` with runs merged until each is at least `least` long (the last run joins
    the one before it when it falls short)."""
    out, run = [], 0
    for c in chunks:
        run += c
        if run >= least:
            out.append(run)
            run = 0
    if run:
        if out:
            out[-1] += run
        else:
            out.append(run)
    return tuple(out)


def _causal_chunked(da, x, fn: _BlockConv, K: int, dtype):
    """Causal convolution of a signal chunked along fn.axis: overlap-save over its chunks."""
    axis = fn.axis
    if min(x.chunks[axis]) < K:
        # a chunk hands K - 1 samples to the next, and the first is a causal convolution of
        # its own (K <= its length): merge shorter chunks into their neighbours
        x = x.rechunk({axis: _merged(x.chunks[axis], K)})
    if x.numblocks[axis] == 1:
        return x.map_blocks(fn.whole, "causal", dtype=dtype, meta=_meta(x, dtype))
    # trim=False: causal_part drops the K - 1 leading samples itself (outputs: x's chunks)
    return da.map_overlap(fn.causal_part, x, depth={axis: (K - 1, 0)}, boundary="none",
                          trim=False, chunks=x.chunks, dtype=dtype, meta=_meta(x, dtype))


def fftconvolve(in1, in2, mode="full", axes=-1, *, precision="auto", order=None):
    """`fftconv_cupy.fftconvolve` of a dask array `in1` with an in-memory kernel `in2`
    along one axis; returns a dask array. `mode`: "full", "same", "valid" (SciPy's) or
    "causal" (the first L samples of the full convolution). The kernel has the signal's
    number of dimensions; on the other axes its length is 1 or the signal's (one kernel
    per channel: each chunk gets its slice), and a signal of length 1 there broadcasts."""
    da = _da()
    if mode not in MODES:
        raise ValueError("acceptable mode flags are 'valid', 'same', 'full' or 'causal'")
    in1 = _signal(in1)
    k = _host(in2)
    if k.ndim != in1.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if in1.ndim == 0:           # SciPy: in1 * in2
        return in1.map_blocks(lambda b: b * _xp(b).asarray(k), dtype=np.result_type(in1.dtype, k.dtype))
    axis = _axis(axes, k.shape, in1.ndim)
    spec = conv_spec(in1.shape, in1.dtype, k.shape, k.dtype,
                     "full" if mode == "causal" else mode, axis)
    dtype = spec.dtype
    if spec.trivial == "empty":             # SciPy returns an empty 1-D array
        return da.from_array(_meta(in1, dtype).reshape(spec.out_shape), asarray=False)
    in1 = _broadcast(da, in1, k, axis)
    L, K = in1.shape[axis], k.shape[axis]
    if mode == "causal" and K > L:
        raise ValueError(f"a causal convolution needs the kernel ({K}) no longer than the signal ({L})")
    if K == 1:                  # every mode keeps the signal's length: a product, chunk by chunk
        return in1.map_blocks(_product, k, axis, dtype, dtype=dtype, meta=_meta(in1, dtype))
    fn = _BlockConv(k, axis, precision, order, keep16=False)
    if spec.swapped:
        # SciPy's 'valid' swap (the kernel longer than the signal): the in-memory function
        # on the whole convolved axis of each chunk
        x = in1.rechunk({axis: -1})
        chunks = tuple(c if d != axis else (spec.out_shape[axis],) for d, c in enumerate(x.chunks))
        return x.map_blocks(_whole_fallback, k, mode, axis, precision, order, chunks=chunks,
                            dtype=dtype, meta=_meta(x, dtype))
    if in1.numblocks[axis] == 1:
        chunks = tuple(c if d != axis else (spec.out_shape[axis] if mode != "causal" else L,)
                       for d, c in enumerate(in1.chunks))
        return in1.map_blocks(fn.whole, mode, chunks=chunks, dtype=dtype, meta=_meta(in1, dtype))
    if mode == "causal":
        return _causal_chunked(da, in1, fn, K, dtype)
    # the window [start, start + length) of the full convolution is one of the causal
    # convolution of the signal followed by the zeros the window reaches past it
    # (full: K - 1, same: (K - 1) // 2, valid: none), and at least K samples long (a causal
    # convolution's kernel is no longer than its signal; a 'same' window of a short signal
    # with a long kernel reaches fewer)
    start, length = spec.windows[0]
    x = in1
    need = max(start + length, K)
    if need > L:
        pad = [(0, 0)] * in1.ndim
        pad[axis] = (0, need - L)
        x = da.pad(in1, pad)
    index = [slice(None)] * in1.ndim
    index[axis] = slice(start, start + length)
    return _causal_chunked(da, x, fn, K, dtype)[tuple(index)]


def _whole_fallback(block, k, mode, axis, precision, order, block_info=None):
    if block.size == 0:
        return _empty_chunk(block, block_info)
    kk = _kernel_for(block, k, axis, _location(block, block_info))
    return api.fftconvolve(block, kk, mode=mode, axes=axis, precision=precision, order=order)


def _gate(da, g, name: str, u, d_k, io16: str | None):
    """A gate as a dask array chunked like u, checked as `causal_conv` checks it."""
    if g is None:
        return None
    if _is_dask(g):
        _signal(g, name)
    s_g, d_g = tuple(g.shape), np.dtype(g.dtype)
    if io16:
        api.check_gate16(name, s_g, d_g.name, u.shape, io16)
    else:
        api.check_gate(name, s_g, d_g, u.shape, u.dtype, d_k)
    if not _is_dask(g):
        return da.from_array(g, chunks=u.chunks, asarray=False)
    return g.rechunk(u.chunks)


def _gated_part(block, *gates, k, K, which, precision, order, block_info=None):
    """`api.causal_conv` of one chunk (extended by the K - 1 samples before it, except the
    first), gates fused on chip, the extension's outputs dropped."""
    if block.size == 0:
        return _empty_chunk(block, block_info)
    pre, post = (gates[0] if which[0] else None), (gates[-1] if which[1] else None)
    location = _location(block, block_info)
    kk = _xp(block).asarray(k if len(k) == 1 else k[slice(*location[-2])])   # the chunk's channels
    y = api.causal_conv(block, kk, pre_gate=pre, post_gate=post, precision=precision, order=order)
    first = not block_info or block_info[0]["chunk-location"][-1] == 0
    return y if first else y[..., K - 1:]


def causal_conv(u, k, *, pre_gate=None, post_gate=None, precision="auto", order=None):
    """`fftconv_cupy.causal_conv` of a dask array u (..., H, L) with k (H, K) or (K,),
    K <= L: the first L samples of each channel's linear convolution, chunks along any
    axis (the L axis through overlap-save). Gates (u's shape; dask or in-memory) are
    multiplied on chip in each chunk. 16-bit signals stay 16-bit, as in `causal_conv`."""
    da = _da()
    u = _signal(u, "u")
    kh = _host(k)
    H, L, K, s_k2 = api.causal_shapes(u.shape, kh.shape)
    kh = kh.reshape(s_k2)               # (1, K) is one kernel for every channel: one plan
    io16 = arrays.dtype_name(u._meta)
    io16 = io16 if io16 in IO_16BIT else None
    if io16:
        api.check_kernel16(io16, kh.dtype)
    gates = [_gate(da, g, name, u, kh.dtype, io16)
             for name, g in (("pre_gate", pre_gate), ("post_gate", post_gate))]
    spec = conv_spec(u.shape, np.float32 if io16 else u.dtype, (1,) * (u.ndim - 2) + s_k2, kh.dtype,
                     "full", -1)
    dtype = u.dtype if io16 else spec.dtype
    if all(g is None for g in gates) and K > 1:
        fn = _BlockConv(kh.reshape((1,) * (u.ndim - 2) + s_k2), u.ndim - 1, precision, order,
                        keep16=bool(io16))
        return _causal_chunked(da, u, fn, K, dtype)
    # gated (or K == 1): causal_conv itself on each chunk
    axis = u.ndim - 1
    args = [u] + [g for g in gates if g is not None]
    if min(u.chunks[axis]) < K:
        chunks = {axis: _merged(u.chunks[axis], K)}
        args = [a.rechunk(chunks) for a in args]
    part = functools.partial(_gated_part, k=kh, K=K, which=tuple(g is not None for g in gates),
                             precision=precision, order=order)
    meta = _meta(u, dtype)
    if args[0].numblocks[axis] == 1 or K == 1:
        return da.map_blocks(part, *args, dtype=dtype, meta=meta)
    return da.map_overlap(part, *args, depth={axis: (K - 1, 0)}, boundary="none", trim=False,
                          chunks=args[0].chunks, dtype=dtype, meta=meta)
