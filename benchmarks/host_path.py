"""How much of a small convolution's time is the host's launch path.

python -m benchmarks.host_path 128 512 1K
Per length: the sweep's timing (one call between two events), the same call repeated 20
times between two events (the launch path overlapped with the previous kernel), and the
Python time of a call (host only, synchronizing excluded).
"""
from __future__ import annotations

import sys
import time

import numpy as np

from fftconv_cupy.bench.causal import copy_bandwidth, rows_for, time_ms
from .run import parse_len


def main(argv=None):
    import cupy
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.plan.spectrum import kernel_spectrum
    from fftconv_cupy.runtime.executor import GPUExecutor
    bw = copy_bandwidth()
    print(f"copy bandwidth {bw / 1e12:.2f} TB/s")
    for arg in (argv if argv is not None else sys.argv[1:]):
        L = parse_len(arg)
        plan = make_plan(L, L, 0, L, real=True, precision="fp32")
        rows = rows_for(L)
        batch = min(64, rows)
        heads = rows // batch
        x = cupy.random.standard_normal((rows, L), dtype=np.float32)
        k = cupy.random.standard_normal((heads, L), dtype=np.float32)
        y = cupy.empty_like(x)
        hs = kernel_spectrum(plan, k, cupy)
        ex = GPUExecutor(plan)
        call = lambda: ex(x, hs, y, batch=batch, channels=heads)
        one = time_ms(call)[0]
        burst = time_ms(lambda: [call() for _ in range(20)])[0] / 20
        cupy.cuda.Device().synchronize()
        t0 = time.perf_counter()
        for _ in range(200):
            call()
        host = (time.perf_counter() - t0) / 200 * 1e3
        cupy.cuda.Device().synchronize()
        floor = 2 * x.nbytes / bw * 1e3
        print(f"L={arg:>5s}  one call {one:.4f} ms (x{one / floor:.2f})  in a burst of 20 {burst:.4f} ms "
              f"(x{burst / floor:.2f})  host per call {host * 1e3:.1f} us", flush=True)


if __name__ == "__main__":
    main()
