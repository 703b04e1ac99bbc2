"""Time plan variants side by side (python -m benchmarks.variants): which knob moves what."""
from __future__ import annotations

import dataclasses
import sys

import numpy as np

from .causal import copy_bandwidth, rows_for, time_ms


def main(argv=None):
    import cupy
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.plan.spectrum import kernel_spectrum
    from fftconv_cupy.runtime.executor import GPUExecutor
    lengths = [int(a) for a in (argv or sys.argv[1:])] or [4096, 16384, 65536, 1 << 20, 1 << 22]
    bw = copy_bandwidth()
    print(f"copy bandwidth {bw / 1e12:.2f} TB/s")
    for L in lengths:
        rows = rows_for(L)
        batch = min(64, rows)
        heads = rows // batch
        x = cupy.random.standard_normal((rows, L), dtype=cupy.float32)
        k = cupy.random.standard_normal((heads, L), dtype=cupy.float32)
        y = cupy.empty_like(x)
        floor = 2 * x.nbytes / bw * 1e3
        base = make_plan(L, L, 0, L, real=True, precision="fp32")
        variants = {"default": (base, {})}
        if base.layout == "fused":
            variants["regs_row=64"] = (dataclasses.replace(base, regs_row=64), {})
            variants["regs_row=128"] = (dataclasses.replace(base, regs_row=128), {})
        else:
            variants["tmp=x/2"] = (base, {"tmp_bytes": x.nbytes // 2})
            variants["tmp=256MB"] = (base, {"tmp_bytes": 256 << 20})
            variants["regs_row=64"] = (dataclasses.replace(base, regs_row=64), {})
            variants["regs_col=96"] = (dataclasses.replace(base, regs_col=96), {})
            try:
                variants["fused"] = (make_plan(L, L, 0, L, real=True, precision="fp32", layout="fused"), {})
            except Exception:
                pass
        for name, (plan, kw) in variants.items():
            hs = kernel_spectrum(plan, k, cupy)
            ex = GPUExecutor(plan)
            y[...] = np.nan
            med, p10, p90 = time_ms(lambda: ex(x, hs, y, batch=batch, channels=heads, **kw))
            ok = not bool(cupy.isnan(y).any())
            print(f"L={L:>8} {name:14s} {med:8.3f} ms  x{med / floor:6.2f}  written={ok}  {plan.describe()}",
                  flush=True)
            if plan.layout == "three_pass" and name == "default":
                # per-pass times on one chunk
                import cupy as cp
                from fftconv_cupy.codegen.compile import launch
                from fftconv_cupy.runtime.executor import _device_twiddles
                lo, hi = _device_twiddles(plan, 0)
                n = max(1, min(rows, (256 << 20) // (plan.m * 8)))
                tmp = cp.empty((n, plan.m), dtype=cp.complex64)
                ct, cs = plan.col_block
                rt, rs = plan.row_block
                c = (np.int32(batch), np.int32(heads), np.int32(0))
                f1 = ex.kernel.function("fftconv_col_fwd")
                f2 = ex.kernel.function("fftconv_rows")
                f3 = ex.kernel.function("fftconv_col_inv")
                cb = plan.a // plan.groups
                t1 = time_ms(lambda: launch(f1, (cb, n), (ct,), (x, tmp, lo, hi) + c, cs))[0]
                t2 = time_ms(lambda: launch(f2, (plan.b // 2 + 1, n), (rt,), (tmp, hs, lo, hi) + c, rs))[0]
                t3 = time_ms(lambda: launch(f3, (cb, n), (ct,), (tmp, y, lo, hi) + c, cs))[0]
                mb = n * plan.m * 8
                print(f"    passes on {n} rows: col_fwd {t1:.3f} ms ({(mb + mb / 2) / t1 / 1e9:.0f} GB/s) "
                      f"rows {t2:.3f} ms ({2 * mb / t2 / 1e9:.0f} GB/s) col_inv {t3:.3f} ms "
                      f"({(mb + mb / 2) / t3 / 1e9:.0f} GB/s)", flush=True)
        del x, k, y
        cupy.get_default_memory_pool().free_all_blocks()


if __name__ == "__main__":
    main()
