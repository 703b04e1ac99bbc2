"""fftconv_cupy.dask on one GPU: what chunking costs against one in-memory call.

python -m benchmarks.dask_chunks
Causal fp32 FIR filtering, x (rows, L) with a K-tap kernel per row, CuPy chunks, dask's
threaded scheduler; the in-memory call is `FFTConv(...)(x)` with the same kernel.
Times are wall-clock medians of 5 `compute()` calls after one warm-up (the scheduler's
host time is part of what chunking costs), with dask's threaded scheduler (its default for
arrays) and the synchronous one.
"""
from __future__ import annotations

import time

import numpy as np

from fftconv_cupy.bench.causal import copy_bandwidth


def wall_ms(fn, repeat=5):
    import cupy
    fn()
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        cupy.cuda.Device().synchronize()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def main(rows=64, L=1 << 22, K=4096):
    import cupy
    import dask.array as da
    import fftconv_cupy as fc
    from fftconv_cupy import dask as fcd
    bw = copy_bandwidth()
    x = cupy.random.standard_normal((rows, L), dtype=cupy.float32)
    k = cupy.random.standard_normal((rows, K), dtype=cupy.float32)
    floor = 2 * x.nbytes / bw * 1e3
    conv = fc.FFTConv(x.shape, k, mode="causal")
    base = wall_ms(lambda: conv(x))
    ref = conv(x)
    print(f"x ({rows}, {L}) float32, K = {K}, copy {bw / 1e12:.2f} TB/s, floor {floor:.3f} ms")
    print(f"{'in-memory FFTConv':34s} {base:8.3f} ms  x{base / floor:5.2f} floor")
    for chunks in [(rows, L), (rows // 4, L), (rows, L // 4), (rows // 4, L // 16)]:
        xd = da.from_array(x, chunks=chunks, asarray=False)
        y = fcd.causal_conv(xd, k)
        times = [wall_ms(lambda: y.compute(scheduler=s)) for s in ("threads", "sync")]
        err = float(cupy.linalg.norm(y.compute() - ref) / cupy.linalg.norm(ref))
        print(f"dask chunks {str(chunks):22s} threads {times[0]:8.3f} ms (x{times[0] / floor:6.2f})  "
              f"sync {times[1]:8.3f} ms (x{times[1] / floor:6.2f})  {y.npartitions:4d} chunks  "
              f"vs in-memory {err:.1e}", flush=True)


if __name__ == "__main__":
    main()
