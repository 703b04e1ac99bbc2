"""Dask arrays in, dask arrays out: fftconv_cupy's convolutions over chunked signals.

A signal chunked along its other axes runs one plan per chunk shape (an `FFTConv`: the
kernel spectrum is computed once per worker process and chunk shape, then reused). A
signal chunked along the convolved axis runs as overlap-save across its chunks: each chunk
receives the K - 1 samples before it from its neighbour (``dask.array.map_overlap``) and
yields the 'valid' convolution of the extended chunk, which is exactly its share of the
causal convolution; 'full', 'same' and 'valid' are windows of that. No chunk ever holds
more than its own samples plus K - 1.

Chunks may be NumPy arrays (computed on the GPU when one is present, otherwise by the
NumPy executor of the same plan) or CuPy arrays (e.g. dask-cuda workers, one GPU each);
the result has the chunks' array type.

    import dask.array as da
    from fftconv_cupy import dask as fcd

    x = da.from_array(signal, chunks=(8, 1 << 20))      # (channels, samples), long rows
    y = fcd.fftconvolve(x, taps, mode="same", axes=-1)   # lazy; y.compute() runs it
"""
from __future__ import annotations

import numpy as np

from . import api
from .plan.spec import conv_spec
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


class _BlockConv:
    """The per-chunk function: `mode` along `axis` with the kernel's slice for the chunk.

    Plans (`FFTConv`) are memoized per chunk shape, dtype, kernel slice and array type;
    the memo is per process and never pickled, so each worker builds its own.
    """

    def __init__(self, kernel: np.ndarray, axis: int, precision, order, keep16: bool):
        self.kernel, self.axis = kernel, axis
        self.precision, self.order, self.keep16 = precision, order, keep16
        self._plans: dict = {}

    def __getstate__(self):
        return {**self.__dict__, "_plans": {}}

    def _kernel_slice(self, location) -> tuple:
        """Non-convolved axes where the kernel has one entry per signal index: this chunk's."""
        return tuple(slice(None) if d == self.axis or n == 1 else slice(*location[d])
                     for d, n in enumerate(self.kernel.shape))

    def plan(self, block, mode: str, location):
        ks = self._kernel_slice(location)
        key = (block.shape, block.dtype.str, mode, tuple((s.start, s.stop) for s in ks),
               arrays.kind_of(block))
        conv = self._plans.get(key)
        if conv is None:
            k = self.kernel[ks]
            if arrays.is_cupy(block):
                import cupy
                k = cupy.asarray(k)
            conv = api.FFTConv(block.shape, k, mode=mode, axes=self.axis, precision=self.precision,
                               order=self.order, dtype=block.dtype)
            self._plans[key] = conv
        return conv

    def whole(self, block, mode: str, block_info=None):
        """The convolved axis in one chunk: the plan's own mode."""
        if not self.keep16 and block.dtype == np.float16:
            block = block.astype(np.float32)    # SciPy's promotion (keep16: causal_conv's 16-bit rows)
        location = block_info[0]["array-location"] if block_info else [(0, n) for n in block.shape]
        return self.plan(block, mode, location)(block)

    def causal_part(self, block, block_info=None):
        """One chunk of a chunked axis, extended by the K - 1 samples before it (none for the
        first chunk): its outputs of the causal convolution."""
        if not self.keep16 and block.dtype == np.float16:
            block = block.astype(np.float32)
        info = block_info[0]
        first = info["chunk-location"][self.axis] == 0
        location = info["array-location"]
        if first:
            return self.plan(block, "causal", location)(block)
        return self.plan(block, "valid", location)(block)


def _check(x, k: np.ndarray, axis: int):
    if not _is_dask(x):
        raise TypeError(f"fftconv_cupy.dask takes a dask array signal, got {type(x).__name__}; "
                        "use fftconv_cupy.fftconvolve for in-memory arrays")
    if k.ndim != x.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    for d, (n, m) in enumerate(zip(x.shape, k.shape)):
        if d != axis and m not in (1, n):
            raise ValueError(f"the kernel's axis {d} has length {m}; on axes that are not convolved "
                             f"it must be 1 or the signal's length ({n})")


def _axis(axes, ndim: int) -> int:
    if isinstance(axes, (list, tuple)):
        if len(axes) != 1:
            raise ValueError("fftconv_cupy.dask convolves along one axis")
        axes = axes[0]
    axes = int(axes)
    if not -ndim <= axes < ndim:
        raise ValueError("axes exceeds dimensionality of input")
    return axes % ndim


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
    "causal" (the first L samples of the full convolution). The kernel's other axes are 1
    or the signal's length (one kernel per channel: each chunk gets its slice)."""
    da = _da()
    if mode not in MODES:
        raise ValueError("acceptable mode flags are 'valid', 'same', 'full' or 'causal'")
    k = _host(in2)
    if k.ndim == 1 and getattr(in1, "ndim", 1) > 1:
        k = np.moveaxis(k.reshape((1,) * (in1.ndim - 1) + k.shape), -1, _axis(axes, in1.ndim))
    axis = _axis(axes, getattr(in1, "ndim", 1))
    _check(in1, k, axis)
    L, K = in1.shape[axis], k.shape[axis]
    spec = conv_spec(in1.shape, in1.dtype, k.shape, k.dtype,
                     "full" if mode == "causal" else mode, axis)
    dtype = spec.dtype
    fn = _BlockConv(k, axis, precision, order, keep16=False)
    if spec.trivial or spec.swapped or len(spec.axes) != 1 or (mode == "causal" and K > L):
        # an empty input, a length-1 axis, SciPy's 'valid' swap, a kernel longer than the
        # signal: the in-memory function on the whole convolved axis of each chunk
        if mode == "causal" and K > L:
            raise ValueError(f"a causal convolution needs the kernel ({K}) no longer than the signal ({L})")
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
    # full = the causal convolution of the signal followed by K - 1 zeros; same / valid are windows
    pad = [(0, 0)] * in1.ndim
    pad[axis] = (0, K - 1)
    full = _causal_chunked(da, da.pad(in1, pad), fn, K, dtype)
    start, length = spec.windows[0]
    index = [slice(None)] * in1.ndim
    index[axis] = slice(start, start + length)
    return full[tuple(index)]


def _whole_fallback(block, k, mode, axis, precision, order, block_info=None):
    location = block_info[0]["array-location"] if block_info else [(0, n) for n in block.shape]
    ks = tuple(slice(None) if d == axis or n == 1 else slice(*location[d])
               for d, n in enumerate(k.shape))
    kk = k[ks]
    if arrays.is_cupy(block):
        import cupy
        kk = cupy.asarray(kk)
    return api.fftconvolve(block, kk, mode=mode, axes=axis, precision=precision, order=order)


def causal_conv(u, k, *, precision="auto", order=None):
    """`fftconv_cupy.causal_conv` of a dask array u (..., H, L) with k (H, K), K <= L: the
    first L samples of each channel's linear convolution, chunks along any axis (the L axis
    through overlap-save). 16-bit signals stay 16-bit, as in `causal_conv`."""
    _da()
    if not _is_dask(u):
        raise TypeError(f"fftconv_cupy.dask takes a dask array signal, got {type(u).__name__}; "
                        "use fftconv_cupy.causal_conv for in-memory arrays")
    kh = _host(k)
    if u.ndim < 2 or kh.ndim != 2 or kh.shape[0] != u.shape[-2] or kh.shape[1] > u.shape[-1]:
        raise ValueError(f"causal_conv needs u (..., H, L) and k (H, K) with K <= L; "
                         f"got u {tuple(u.shape)} and k {tuple(kh.shape)}")
    kh = kh.reshape((1,) * (u.ndim - 2) + kh.shape)
    keep16 = u.dtype == np.float16
    spec = conv_spec(u.shape, np.float32 if keep16 else u.dtype, kh.shape, kh.dtype, "full", -1)
    dtype = u.dtype if keep16 else spec.dtype
    fn = _BlockConv(kh, u.ndim - 1, precision, order, keep16=keep16)
    return _causal_chunked(_da(), u, fn, kh.shape[-1], dtype)
