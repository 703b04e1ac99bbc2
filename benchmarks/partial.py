"""Partial convolution: L = 1M signal, K = 4096 kernel, fp32, causal.

Overlap-save blocks (the plan chosen automatically) against the dense transform of the
smallest smooth size (segment=False) and the 2L-point (2M) transform, in the same run;
"(staged rows)" is the overlap-save plan with its rows staged through shared memory.  python -m benchmarks.partial
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from fftconv_cupy.bench.causal import copy_bandwidth, time_ms


def main(length=1 << 20, klen=4096, rows=256, batch=64):
    import cupy
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.plan.spectrum import kernel_spectrum
    from fftconv_cupy.runtime.executor import GPUExecutor
    bw = copy_bandwidth()
    heads = rows // batch
    x = cupy.random.standard_normal((rows, length), dtype=cupy.float32)
    k = cupy.random.standard_normal((heads, klen), dtype=cupy.float32)
    floor = 2 * x.nbytes / bw * 1e3
    ref_rows = [0, rows - 1]
    xr = x[ref_rows].astype(cupy.float64)
    kr = k[[r % heads for r in ref_rows]].astype(cupy.float64)
    n = length + klen
    ref = cupy.fft.irfft(cupy.fft.rfft(xr, n) * cupy.fft.rfft(kr, n), n)[:, :length]
    results = {}
    for name, seg, n in (("overlap-save", None, None), ("(staged rows)", None, None),
                         ("dense", False, None), ("dense 2L", False, 2 * length)):
        plan = make_plan(length, klen, 0, length, real=True, precision="fp32", segment=seg, n=n)
        if name == "(staged rows)":
            plan = replace(plan, row_direct=False)    # rows staged through shared memory
        hs = kernel_spectrum(plan, k, cupy)
        ex = GPUExecutor(plan)
        y = cupy.full((rows, length), np.nan, dtype=cupy.float32)
        med, _, _ = time_ms(lambda: ex(x, hs, y, batch=batch, channels=heads))
        err = float(cupy.linalg.norm(y[ref_rows] - ref) / cupy.linalg.norm(ref))
        written = not bool(cupy.isnan(y).any())
        results[name] = med
        print(f"{name:13s} {med:8.3f} ms  x{med / floor:6.2f} floor  err {err:.1e}  written={written}  "
              f"spectrum {hs.nbytes / 2**20:.2f} MiB  {plan.describe()}", flush=True)
    print(f"partial L={length} K={klen}: overlap-save {results['dense'] / results['overlap-save']:.2f}x "
          f"faster than the dense path, {results['dense 2L'] / results['overlap-save']:.2f}x faster "
          f"than the 2L-point transform")


if __name__ == "__main__":
    main()
