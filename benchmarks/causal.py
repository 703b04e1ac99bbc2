"""The causal depthwise convolution sweep (docs: BENCHMARKS.md).

x (B, H, L) float32, k (H, L), FFT size 2L, y = first L samples of the linear
convolution.  Rows (B*H) are capped for long L; B = 64 so each channel's
spectrum is reused 64 times.  Floor = bytes(x) + bytes(y) over the measured
device-to-device copy bandwidth.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

ROWS = {128: 49152, 256: 49152, 512: 49152, 1024: 49152, 2048: 49152, 4096: 49152,
        8192: 24576, 16384: 12288, 32768: 6144, 65536: 3072, 131072: 1536, 262144: 768,
        524288: 384, 1 << 20: 256, 1 << 21: 128, 1 << 22: 64}
BATCH = 64


def rows_for(length: int) -> int:
    for L in sorted(ROWS):
        if length <= L:
            return ROWS[L]
    return max(8, ROWS[1 << 22] * (1 << 22) // length)


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
    return 2 * nbytes / (med * 1e-3)


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

    @property
    def ratio(self):
        return self.ms / self.floor_ms


def _rel(y, ref):
    import cupy
    return float(cupy.linalg.norm(y - ref) / cupy.linalg.norm(ref))


def run_length(length: int, bandwidth: float, *, dtype="float32", precision="auto", peers=True,
               order=None, layout=None, repeat=20):
    import cupy
    from fftconv_cupy.api import _precision_for
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.plan.spectrum import kernel_spectrum
    from fftconv_cupy.runtime.device import current_limits
    from fftconv_cupy.runtime.executor import GPUExecutor

    rows = rows_for(length)
    batch = min(BATCH, rows)
    heads = rows // batch
    rows = batch * heads
    dt = np.dtype(dtype)
    rng = cupy.random.default_rng(length)
    x = rng.standard_normal((batch, heads, length), dtype=cupy.float64).astype(dt)
    k = (rng.standard_normal((heads, length), dtype=cupy.float64)
         * cupy.exp(-cupy.arange(length) / (length / 8))).astype(dt)
    floor_ms = 2 * x.nbytes / bandwidth * 1e3
    prec = _precision_for(dt, precision)
    out = []

    # reference on a few rows, float64
    check = [0, rows // 2 + 1, rows - 1]
    xr = x.reshape(rows, length)[check].astype(cupy.float64)
    kr = k[[c % heads for c in check]].astype(cupy.float64)
    n = 2 * length
    ref = cupy.fft.irfft(cupy.fft.rfft(xr, n) * cupy.fft.rfft(kr, n), n)[:, :length]

    def measure(name, fn, y_rows, plan_desc=""):
        mempool = cupy.get_default_memory_pool()
        mempool.free_all_blocks()
        base = mempool.used_bytes()
        y = fn()
        cupy.cuda.Device().synchronize()
        err = _rel(y_rows(y)[check].astype(cupy.float64), ref)
        peak = (mempool.total_bytes() - base) / 2**20
        med, p10, p90 = time_ms(fn, repeat=repeat)
        del y
        out.append(Row(name, length, rows, dtype, med, p10, p90, floor_ms, err, peak, plan_desc))

    plan = make_plan(length, length, 0, length, real=True, precision=prec, order=order,
                     layout=layout, smem_limit=current_limits()["smem_optin"])
    hs = kernel_spectrum(plan, k, cupy)
    ex = GPUExecutor(plan)
    xs = x.reshape(rows, length)
    y = cupy.full((rows, length), cupy.nan, dtype=dt)       # poisoned: every element must be written

    def ours():
        ex(xs, hs, y, batch=batch, channels=heads)
        return y
    measure("fftconv_cupy", ours, lambda v: v, plan.describe())
    if int(cupy.isnan(y).sum()) != 0:
        raise RuntimeError(f"unwritten outputs at L={length}")

    if peers:
        import cupyx.scipy.signal as cxs
        if rows * length <= (1 << 28):
            def cupyx_fn():
                return cxs.fftconvolve(x, k[None], mode="full", axes=-1)[..., :length]
            measure("cupyx.scipy.signal.fftconvolve", cupyx_fn, lambda v: v.reshape(rows, length))
        kf = cupy.fft.rfft(k, n)

        def rfft_fn():
            return cupy.fft.irfft(cupy.fft.rfft(x, n) * kf, n)[..., :length]
        measure("cupy rfft-mul-irfft", rfft_fn, lambda v: v.reshape(rows, length))
    del x, y, hs
    cupy.get_default_memory_pool().free_all_blocks()
    return out


def as_dicts(rows):
    return [dict(asdict(r), ratio=r.ratio) for r in rows]
