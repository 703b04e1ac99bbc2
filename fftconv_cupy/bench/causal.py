"""The depthwise convolution sweep (docs: BENCHMARKS.md).

x (B, H, L) float32, k (H, K) (K = L unless asked otherwise), y = one window of
the linear convolution: causal [0, L) by default, or SciPy's full / same / valid
windows (see `window`).  Rows (B*H) are capped for long L (or long K); B = 64 so
each channel's spectrum is reused 64 times.  Floor = bytes(x) + bytes(y) over
the measured device-to-device copy bandwidth, y of the window's length.

Nothing here imports CuPy at module level: the CLI imports this module on
machines without a GPU (to parse lengths, list the sweep, validate options).
"""
from __future__ import annotations

import gc
import math
from dataclasses import asdict, dataclass

import numpy as np

ROWS = {128: 49152, 256: 49152, 512: 49152, 1024: 49152, 2048: 49152, 4096: 49152,
        8192: 24576, 16384: 12288, 32768: 6144, 65536: 3072, 131072: 1536, 262144: 768,
        524288: 384, 1 << 20: 256, 1 << 21: 128, 1 << 22: 64}
BATCH = 64

# `fftconv-cli bench --sweep`: every power of two from 128 to 4M
SWEEP_LENGTHS = tuple(1 << e for e in range(7, 23))

# names of the implementations run_length measures, ours first
OURS = "fftconv_cupy"
PEER_CUPYX = "cupyx.scipy.signal.fftconvolve"
PEER_RFFT = "cupy rfft-mul-irfft"
PEER_TORCH = "torch.fft rfft-mul-irfft"
PEERS = (PEER_CUPYX, PEER_RFFT, PEER_TORCH)
CUPYX_MAX_ELEMENTS = 1 << 28      # cupyx.scipy.signal.fftconvolve is skipped above this rows * max(L, K)

# output windows the benchmark measures: causal [0, L) and SciPy's modes
BENCH_MODES = ("causal", "full", "same", "valid", "circular")

_SUFFIXES = {"K": 1024, "M": 1 << 20, "G": 1 << 30}


def parse_len(s: str) -> int:
    """'4096' -> 4096, '64K' -> 65536, '1M' -> 1048576 (K = 1024, M = 1024**2); ValueError otherwise."""
    text = str(s).strip()
    body, mult = text.upper(), 1
    if body[-1:] in _SUFFIXES:
        body, mult = body[:-1], _SUFFIXES[body[-1]]
    body = body.replace("_", "")
    if not (body.isascii() and body.isdigit()):       # int('4\u0664') is 44
        raise ValueError(f"{text!r} is not a length: use an integer, optionally with a K or M "
                         "suffix (4096, 64K, 1M; K = 1024, M = 1024**2)")
    value = int(body) * mult
    if value < 1:
        raise ValueError(f"length must be positive, got {text!r}")
    return value


def window(mode: str, length: int, kernel_len: int) -> tuple[int, int]:
    """(start, len) of the mode's outputs in the full linear convolution (length L + K - 1).

    causal (0, L); full (0, L+K-1); same ((K-1)//2, L); valid (K-1, L-K+1), with
    the operands swapped as SciPy does when the kernel is the longer one; circular:
    (0, L) of the size-L circular convolution (K <= L).
    """
    L, K = int(length), int(kernel_len)
    if mode == "circular" and K > L:
        raise ValueError(f"a circular convolution needs K <= L, got K={K}, L={L}")
    if mode in ("causal", "circular"):
        return 0, L
    if mode == "full":
        return 0, L + K - 1
    if mode == "same":
        return (K - 1) // 2, L
    if mode == "valid":
        return min(L, K) - 1, abs(L - K) + 1
    raise ValueError(f"mode must be one of {', '.join(BENCH_MODES)}, got {mode!r}")


def fft_size(length: int, kernel_len: int, mode: str = "causal") -> int:
    """The peers' FFT size: L for circular, else L + K - 1 (the whole linear convolution),
    rounded up to even."""
    n = length if mode == "circular" else length + kernel_len - 1
    return n + (n & 1)


def rows_for(length: int) -> int:
    for L in sorted(ROWS):
        if length <= L:
            return ROWS[L]
    return max(8, ROWS[1 << 22] * (1 << 22) // length)


def batch_heads(rows: int, most: int = BATCH) -> tuple[int, int]:
    """(batch, heads) with batch * heads == rows and batch the largest divisor <= most."""
    batch = min(most, rows)
    while rows % batch:
        batch -= 1
    return batch, rows // batch


def time_ms(fn, warmup=3, repeat=20):
    """Median, p10, p90 of `repeat` timed calls (CUDA events), after `warmup` calls."""
    import cupy
    for _ in range(warmup):
        fn()
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(repeat):
        a, b = cupy.cuda.Event(), cupy.cuda.Event()
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(cupy.cuda.get_elapsed_time(a, b))
    t = np.array(times)
    return float(np.median(t)), float(np.percentile(t, 10)), float(np.percentile(t, 90))


def copy_bandwidth(nbytes=1 << 30):
    """Device-to-device copy bandwidth in bytes/s (bytes read + bytes written)."""
    import cupy
    a = cupy.empty(nbytes // 4, dtype=cupy.float32)
    a[...] = 1.0
    b = cupy.empty_like(a)
    med, _, _ = time_ms(lambda: b.__setitem__(Ellipsis, a), warmup=3, repeat=20)
    del a, b
    cupy.get_default_memory_pool().free_all_blocks()
    return 2 * nbytes / (med * 1e-3)


def device_name(device: int = 0) -> str:
    import cupy
    name = cupy.cuda.runtime.getDeviceProperties(device)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


@dataclass
class Row:
    impl: str
    length: int
    rows: int
    dtype: str
    ms: float
    p10: float
    p90: float
    floor_ms: float
    rel_err: float
    peak_mb: float
    plan: str = ""
    mode: str = "causal"
    kernel_len: int = 0        # 0: K = L
    out_len: int = 0           # outputs per row; 0: the causal L

    def __post_init__(self):
        if not self.kernel_len:
            self.kernel_len = self.length
        if not self.out_len:
            self.out_len = window(self.mode, self.length, self.kernel_len)[1]

    @property
    def ratio(self):
        """Time over the copy floor."""
        return self.ms / self.floor_ms

    @property
    def io_bytes(self) -> int:
        """Bytes of x plus bytes of y (y of the window's length)."""
        return self.rows * (self.length + self.out_len) * np.dtype(self.dtype).itemsize

    @property
    def gbps(self) -> float:
        return self.io_bytes / (self.ms * 1e-3) / 1e9


def _rel(y, ref):
    import cupy
    return float(cupy.linalg.norm(y - ref) / cupy.linalg.norm(ref))


def bench_plan(length: int, kernel_len: int | None = None, mode: str = "causal", *,
               dtype="float32", precision="auto", order=None, layout=None, smem_limit=None,
               clusters=True):
    """The plan run_length times for this mode and kernel length (planning only: no GPU needed).

    The planner may choose an overlap-save (segmented) plan for short kernels.
    """
    from fftconv_cupy.api import _precision_for
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.plan.support import DEFAULT_SMEM_BYTES
    klen = length if kernel_len is None else int(kernel_len)
    start, out_len = window(mode, length, klen)
    prec = _precision_for(np.dtype(dtype), precision)
    return make_plan(length, klen, start, out_len, real=True, precision=prec, order=order,
                     layout=layout, smem_limit=smem_limit or DEFAULT_SMEM_BYTES, clusters=clusters,
                     circular=mode == "circular")


def run_length(length: int, bandwidth: float, *, dtype="float32", precision="auto", peers=True,
               order=None, layout=None, repeat=20, rows=None, on_impl=None, mode="causal",
               klen=None):
    """Time ours (and the peers) at one length; a list of Row, ours first.

    mode: causal (outputs [0, L)) or SciPy's full / same / valid window of the
    linear convolution; klen: kernel length K (None: K = L).
    rows: signal rows (None: rows_for(max(L, K))); on_impl(name) is called before
    each implementation is measured (progress reporting).
    """
    import cupy
    from fftconv_cupy.plan.spectrum import kernel_spectrum
    from fftconv_cupy.runtime.device import planner_limits
    from fftconv_cupy.runtime.executor import GPUExecutor

    klen = length if klen is None else int(klen)
    start, out_len = window(mode, length, klen)
    stop = start + out_len
    rows = rows_for(max(length, klen)) if rows is None else int(rows)
    batch, heads = batch_heads(rows)
    dt = np.dtype(dtype)
    rng = cupy.random.default_rng(length)
    x = rng.standard_normal((batch, heads, length), dtype=cupy.float64).astype(dt)
    k = (rng.standard_normal((heads, klen), dtype=cupy.float64)
         * cupy.exp(-cupy.arange(klen) / (klen / 8))).astype(dt)
    floor_ms = (x.nbytes + rows * out_len * dt.itemsize) / bandwidth * 1e3
    out = []

    # reference on a few rows, float64, over the whole linear convolution
    check = sorted({0, rows // 2 + 1 if rows > 2 else rows - 1, rows - 1})
    xr = x.reshape(rows, length)[check].astype(cupy.float64)
    kr = k[[c % heads for c in check]].astype(cupy.float64)
    n = fft_size(length, klen, mode)
    ref = cupy.fft.irfft(cupy.fft.rfft(xr, n) * cupy.fft.rfft(kr, n), n)[:, start:stop]

    def measure(name, fn, y_rows, plan_desc="", preallocated=0, torch=None):
        """preallocated: bytes of an output allocated outside `fn` (counted as allocated)."""
        if on_impl is not None:
            on_impl(name)
        mempool = cupy.get_default_memory_pool()
        cupy.cuda.Device().synchronize()
        # arrays of earlier measurements held in reference cycles: freed now, not inside
        # fn (a block freed there is reused, and the call's growth would read too low)
        gc.collect()
        mempool.free_all_blocks()
        before = mempool.total_bytes()
        if torch is not None:
            torch.cuda.reset_peak_memory_stats()
            tbefore = torch.cuda.memory_allocated()
        y = fn()
        cupy.cuda.Device().synchronize()
        # memory the call needs: pool growth (CuPy caches freed blocks, so growth = peak)
        peak = (mempool.total_bytes() - before + preallocated) / 2**20
        if torch is not None:
            peak = (torch.cuda.max_memory_allocated() - tbefore) / 2**20
        yr = y_rows(y)
        if tuple(yr.shape) != (rows, out_len):
            raise RuntimeError(f"{name} returned {tuple(yr.shape)} outputs, expected {(rows, out_len)}")
        err = _rel(yr[check].astype(cupy.float64), ref)
        del yr                      # a peer's copy: not kept while timing
        med, p10, p90 = time_ms(fn, repeat=repeat)
        del y
        out.append(Row(name, length, rows, dt.name, med, p10, p90, floor_ms, err, peak, plan_desc,
                       mode=mode, kernel_len=klen, out_len=out_len))

    plan = bench_plan(length, klen, mode, dtype=dt, precision=precision, order=order,
                      layout=layout, **planner_limits())
    if plan.prec.real_dtype != dt:
        raise ValueError(f"precision {plan.precision!r} computes on {plan.prec.io_real} data, "
                         f"not {dt.name}")
    hs = kernel_spectrum(plan, k, cupy)
    xs = x.reshape(rows, length)
    y = cupy.full((rows, out_len), cupy.nan, dtype=dt)      # poisoned: every element must be written
    plan = plan.with_alignment(xs.data.ptr, y.data.ptr)
    ex = GPUExecutor(plan)

    def ours():
        ex(xs, hs, y, batch=batch, channels=heads)
        return y
    measure(OURS, ours, lambda v: v, plan.describe(), preallocated=y.nbytes)
    if int(cupy.isnan(y).sum()) != 0:
        raise RuntimeError(f"unwritten outputs at L={length}, K={klen}, mode={mode}")

    if peers:
        import cupyx.scipy.signal as cxs
        if rows * max(length, klen) <= CUPYX_MAX_ELEMENTS and mode != "circular":
            if mode == "causal":
                def cupyx_fn():
                    return cxs.fftconvolve(x, k[None], mode="full", axes=-1)[..., :length]
            else:
                def cupyx_fn():
                    return cxs.fftconvolve(x, k[None], mode=mode, axes=-1)
            measure(PEER_CUPYX, cupyx_fn, lambda v: v.reshape(rows, out_len))
        kf = cupy.fft.rfft(k, n)

        def rfft_fn():
            return cupy.fft.irfft(cupy.fft.rfft(x, n) * kf, n)[..., start:stop]
        measure(PEER_RFFT, rfft_fn, lambda v: v.reshape(rows, out_len))
        del kf
        torch = _torch()
        if torch is not None:
            xt, kt = torch.from_dlpack(x), torch.from_dlpack(k)
            kft = torch.fft.rfft(kt, n)

            def torch_fn():
                return torch.fft.irfft(torch.fft.rfft(xt, n) * kft, n)[..., start:stop]
            measure(PEER_TORCH, torch_fn,
                    lambda v: cupy.from_dlpack(v.contiguous()).reshape(rows, out_len), torch=torch)
            del xt, kt, kft
            torch.cuda.empty_cache()
    del x, y, hs
    cupy.get_default_memory_pool().free_all_blocks()
    return out


def _torch():
    """torch, when it is importable and sees the GPU (an optional peer)."""
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def as_dicts(rows):
    return [dict(asdict(r), ratio=r.ratio, gbps=r.gbps) for r in rows]


def geomean(values) -> float:
    values = [v for v in values if v > 0 and math.isfinite(v)]
    if not values:
        return float("nan")
    return math.exp(sum(math.log(v) for v in values) / len(values))
