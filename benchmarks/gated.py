"""Gated causal convolution (y = post * conv(pre * u, k)) against the ungated one, fp32.

python -m benchmarks.gated   (the gates' bytes count in the gated floor)
"""
from __future__ import annotations

import numpy as np

from fftconv_cupy.bench.causal import copy_bandwidth, rows_for, time_ms


def main(lengths=(4096, 1 << 14, 1 << 20)):
    import cupy
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.plan.spectrum import kernel_spectrum
    from fftconv_cupy.runtime.executor import GPUExecutor
    bw = copy_bandwidth()
    for L in lengths:
        rows = rows_for(L)
        batch = min(64, rows)
        heads = rows // batch
        x = cupy.random.standard_normal((rows, L), dtype=cupy.float32)
        k = cupy.random.standard_normal((heads, L), dtype=cupy.float32)
        g1 = cupy.random.standard_normal((rows, L), dtype=cupy.float32)
        g2 = cupy.random.standard_normal((rows, L), dtype=cupy.float32)
        y = cupy.full((rows, L), np.nan, dtype=cupy.float32)
        times = {}
        for gated in (False, True):
            plan = make_plan(L, L, 0, L, real=True, precision="fp32", gates=(gated, gated))
            hs = kernel_spectrum(plan, k, cupy)
            ex = GPUExecutor(plan)
            kw = dict(pre_gate=g1, post_gate=g2) if gated else {}
            times[gated] = time_ms(lambda: ex(x, hs, y, batch=batch, channels=heads, **kw))[0]
            floor = plan.io_bytes(rows) / bw * 1e3
            print(f"L={L:>8} {'gated  ' if gated else 'ungated'} {times[gated]:8.3f} ms  "
                  f"x{times[gated] / floor:5.2f} floor  written={not bool(cupy.isnan(y).any())}",
                  flush=True)
        print(f"L={L:>8} gated / ungated time: {times[True] / times[False]:.2f}", flush=True)
        del x, k, g1, g2, y
        cupy.get_default_memory_pool().free_all_blocks()


if __name__ == "__main__":
    main()
