"""Three-pass plans as replayed CUDA graphs: chunk size and branch count side by side.

python -m benchmarks.l2chunks 64K 1M 32K:three_pass --mb 8,16 --branches 2,3
For each length (optionally :LAYOUT, and :fp64 for float64): the call as the executor makes
it, the eager chunks (as large as the input), then graphs of chunks of about MB megabytes of
intermediate round-robin over BRANCHES concurrent branches (runtime/executor.py; fp32 only:
graph_chunks keeps other precisions eager, shown as "graph None").
"""
from __future__ import annotations

import argparse

import numpy as np

from fftconv_cupy.bench.causal import copy_bandwidth, rows_for, time_ms
from .run import parse_len


def main(argv=None):
    import cupy
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.plan.spectrum import kernel_spectrum
    from fftconv_cupy.runtime import executor
    p = argparse.ArgumentParser()
    p.add_argument("lengths", nargs="+")
    p.add_argument("--mb", default="8,16")
    p.add_argument("--branches", default="2,3")
    args = p.parse_args(argv)
    bw = copy_bandwidth()
    print(f"copy bandwidth {bw / 1e12:.2f} TB/s")
    for spec in args.lengths:
        length, *opts = spec.split(":")
        L = parse_len(length)
        precision = "fp64" if "fp64" in opts else "fp32"
        layout = next((o for o in opts if o != "fp64"), None)
        plan = make_plan(L, L, 0, L, real=True, precision=precision, layout=layout)
        dtype = plan.prec.real_dtype
        rows = rows_for(L) * 4 // dtype.itemsize
        batch = min(64, rows)
        heads = rows // batch
        x = cupy.random.standard_normal((rows, L), dtype=dtype)
        k = cupy.random.standard_normal((heads, L), dtype=dtype)
        y = cupy.empty_like(x)
        hs = kernel_spectrum(plan, k, cupy)
        floor = 2 * x.nbytes / bw * 1e3
        check = [0, rows // 3, rows - 1]
        xr = x[check].astype(cupy.float64)
        kr = k[[r % heads for r in check]].astype(cupy.float64)
        ref = cupy.fft.irfft(cupy.fft.rfft(xr, 2 * L) * cupy.fft.rfft(kr, 2 * L), 2 * L)[:, :L]

        def report(name, **kw):
            executor.clear_graphs()         # graphs are cached by call shape, not by chunking
            ex = executor.GPUExecutor(plan)
            y[...] = np.nan
            med = time_ms(lambda: ex(x, hs, y, batch=batch, channels=heads, **kw))[0]
            cupy.cuda.Device().synchronize()
            ok = not bool(cupy.isnan(y).any())
            err = float(cupy.linalg.norm(y[check] - ref) / cupy.linalg.norm(ref))
            print(f"{spec:>14s} {name:22s} {med:8.3f} ms  x{med / floor:5.2f}  written={ok}  "
                  f"err={err:.1e}", flush=True)

        print(f"{spec}: {plan.describe()}  ({plan.m * plan.elem_bytes >> 10} KiB of intermediate "
              f"per row, {rows} rows)")
        if plan.layout != "three_pass":
            report("planned")
            continue
        report(f"planned {executor.graph_chunks(plan, rows)}")
        report("eager", tmp_bytes=x.nbytes)
        saved = executor.GRAPH_ROW_BYTES, executor.GRAPH_CHUNK_BYTES, executor.GRAPH_BRANCHES
        try:
            executor.GRAPH_ROW_BYTES = 1 << 40
            for mb in (int(v) for v in args.mb.split(",")):
                for br in (int(v) for v in args.branches.split(",")):
                    executor.GRAPH_CHUNK_BYTES, executor.GRAPH_BRANCHES = mb << 20, br
                    report(f"graph {executor.graph_chunks(plan, rows)}")
        finally:
            executor.GRAPH_ROW_BYTES, executor.GRAPH_CHUNK_BYTES, executor.GRAPH_BRANCHES = saved
        del x, y, k, hs
        cupy.get_default_memory_pool().free_all_blocks()


if __name__ == "__main__":
    main()
