"""How much of a small convolution's time is the host's launch path.

python -m benchmarks.host_path 128 512 1K
python -m benchmarks.host_path --pairs 512 1K 2K 4K     (causal bf16 row pairs)
python -m benchmarks.host_path --pairs --profile 2K      (and where a call's host time goes)
Per length and call path (the executor with its prepared launcher; the same kernel through
CuPy's Function call; the public FFTConv plan object): the sweep's timing (one call between
two events), the same call repeated 20 times between two events (the launch path overlapped
with the previous kernel), and the host time of a call (synchronizing excluded).
"""
from __future__ import annotations

import sys
import time

import numpy as np

from fftconv_cupy.bench.causal import copy_bandwidth, rows_for, time_ms
from .run import parse_len


def _paths(L: int):
    """(name, call, floor bytes) of each call path at length L."""
    import cupy
    from fftconv_cupy import FFTConv
    from fftconv_cupy.codegen.compile import launch
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.plan.spectrum import kernel_spectrum
    from fftconv_cupy.runtime.executor import GPUExecutor, _device_twiddles
    plan = make_plan(L, L, 0, L, real=True, precision="fp32")
    rows = rows_for(L)
    batch = min(64, rows)
    heads = rows // batch
    x = cupy.random.standard_normal((rows, L), dtype=np.float32)
    k = cupy.random.standard_normal((heads, L), dtype=np.float32)
    y = cupy.empty_like(x)
    hs = kernel_spectrum(plan, k, cupy)
    ex = GPUExecutor(plan)
    yield "executor", lambda: ex(x, hs, y, batch=batch, channels=heads), 2 * x.nbytes
    if plan.layout == "fused":
        lo, hi = _device_twiddles(plan, cupy.cuda.runtime.getDevice())
        f = ex.kernel.function(ex.kernel.entries[0])
        threads, smem = plan.row_block
        grid = -(-rows * plan.virtual_rows_per_row // plan.groups)
        null = np.uint64(0)

        def cupy_call():
            launch(f, (grid,), (threads,), (x, y, hs, lo, hi, np.int32(rows), np.int32(batch),
                                           np.int32(heads), null, null), smem)
        yield "cupy Function", cupy_call, 2 * x.nbytes
    xb = x.reshape(batch, heads, L)
    conv = FFTConv(xb.shape, k[None], mode="causal")
    yield "FFTConv(x)", lambda: conv(xb), 2 * x.nbytes


def _pair_paths(L: int):
    """The causal bf16 row pairs at L (B = 64, the sweep's rows): the executor with its
    prepared launch, and causal_conv on torch bf16 tensors (the public call)."""
    import cupy
    import torch
    import fftconv_cupy as fc
    from fftconv_cupy.bench.causal import batch_heads
    from fftconv_cupy.plan.pairs import kernel_spectrum_pairs, pair_plan
    from fftconv_cupy.runtime import arrays
    from fftconv_cupy.runtime.pairs import PairExecutor
    rows = rows_for(L)
    batch, heads = batch_heads(rows)
    plan = pair_plan(L, L, mode="causal", io="bfloat16", precision="auto", batch=batch)
    u = torch.randn(batch, heads, L, device="cuda").to(torch.bfloat16)
    k = torch.randn(heads, L, device="cuda") / L ** 0.5
    x = cupy.asarray(u.view(torch.int16)).view(cupy.uint16).reshape(rows, L)
    y = cupy.empty_like(x)
    hs = kernel_spectrum_pairs(plan, cupy.asnumpy(cupy.asarray(k)), cupy)
    ex = PairExecutor(plan)
    yield "pair executor", lambda: ex(x, hs, y, batch=batch, channels=heads), 2 * x.nbytes
    conv = fc.FFTConv(tuple(u.shape), k[None], mode="causal", dtype=torch.bfloat16)
    kb = k.to(torch.bfloat16)
    for views in (True, False):     # torch tensors viewed by pointer, or through DLPack

        def path(call, views=views):
            def run():
                arrays.TORCH_POINTER_VIEWS = views
                try:
                    return call()
                finally:
                    arrays.TORCH_POINTER_VIEWS = True
            return run
        tag = "" if views else " dlpack"
        yield "FFTConv(u)" + tag, path(lambda: conv(u)), 2 * x.nbytes
        yield "causal_conv" + tag, path(lambda: fc.causal_conv(u, kb)), 2 * x.nbytes


def main(argv=None):
    import cupy
    argv = list(argv if argv is not None else sys.argv[1:])
    paths = _paths
    if "--pairs" in argv:
        argv.remove("--pairs")
        paths = _pair_paths
    profile = "--profile" in argv
    if profile:
        argv.remove("--profile")
    bw = copy_bandwidth()
    print(f"copy bandwidth {bw / 1e12:.2f} TB/s")
    for arg in argv:
        L = parse_len(arg)
        for name, call, nbytes in paths(L):
            one = time_ms(call)[0]
            burst = time_ms(lambda: [call() for _ in range(20)])[0] / 20
            cupy.cuda.Device().synchronize()
            t0 = time.perf_counter()
            for _ in range(200):
                call()
            host = (time.perf_counter() - t0) / 200 * 1e3
            cupy.cuda.Device().synchronize()
            floor = nbytes / bw * 1e3
            print(f"L={arg:>5s} {name:18s} one call {one:.4f} ms (x{one / floor:.2f})  in a burst of 20 "
                  f"{burst:.4f} ms (x{burst / floor:.2f})  host per call {host * 1e3:.1f} us", flush=True)
            if profile:
                _profile(name, call)


def _profile(name, call, calls=200):
    """The functions a call's host time goes to (cProfile, own time, per call)."""
    import cProfile
    import pstats
    import cupy
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        call()
    prof.disable()
    cupy.cuda.Device().synchronize()
    print(f"--- {name}: host time by function over {calls} calls (tottime, cumtime in s)")
    pstats.Stats(prof).sort_stats("tottime").print_stats(14)


if __name__ == "__main__":
    main()
