"""Time plan variants side by side: which knob moves what.

python -m benchmarks.variants 4096:order=4,regs_row=64 4096:regs_row=80 1M:tmp_bytes=25165824
Each argument is LENGTH[:field=value,...]; fields are Plan fields (order, regs_row,
regs_col, layout, groups, stage_table_bytes, col_direct, fuse_middle), precision (fp32 by
default), row_threads (threads per row transform), radices (e.g. 16x2x16), col_radices (e.g.
16x32), row_size (the three-pass middle rows), halves=1 (the cluster of two half-rows) or
executor options (tmp_bytes).  Prints one line per variant
and per-pass times for three-pass plans.
"""
from __future__ import annotations

import dataclasses
import sys

import numpy as np

from fftconv_cupy.bench.causal import copy_bandwidth, rows_for, time_ms
from .run import parse_len

PLAN_ARGS = ("order", "layout", "precision")
STR_ARGS = ("layout", "precision")
EXEC_ARGS = ("tmp_bytes",)
ROW_ARGS = ("row_threads", "radices", "col_radices", "row_size")   # radices as 16x2x16


def parse(arg):
    length, _, rest = arg.partition(":")
    opts = {}
    for kv in filter(None, rest.split(",")):
        k, v = kv.split("=")
        opts[k] = v if k in STR_ARGS + ("radices", "col_radices") else int(v)
    return parse_len(length), opts


def pass_times(plan, ex, x, hs, y, batch, heads):
    import cupy
    from fftconv_cupy.codegen.compile import launch
    from fftconv_cupy.runtime.executor import _device_twiddles
    lo, hi = _device_twiddles(plan, cupy.cuda.runtime.getDevice())
    rows = x.shape[0]
    n = max(1, min(rows, x.nbytes // (plan.m * plan.elem_bytes)))
    tmp = cupy.empty((n, plan.m), dtype=plan.prec.complex_dtype)
    ct, cs = plan.col_block
    rt, rs = plan.row_block
    c = (np.int32(batch), np.int32(heads), np.int32(0))
    f1, f2, f3 = (ex.kernel.function(e) for e in ("fftconv_col_fwd", "fftconv_rows", "fftconv_col_inv"))
    cb = plan.a // plan.groups
    null = np.uint64(0)                     # no gates, pointers as arguments
    t1 = time_ms(lambda: launch(f1, (cb, n), (ct,), (x, tmp, lo, hi) + c + (null, null), cs))[0]
    t2 = time_ms(lambda: launch(f2, (n, plan.middle_blocks), (rt,), (tmp, hs, lo, hi) + c + (null,), rs))[0]
    t3 = time_ms(lambda: launch(f3, (cb, n), (ct,), (tmp, y, lo, hi) + c + (null, null), cs))[0]
    tb = n * plan.m * plan.elem_bytes           # intermediate bytes
    xb = n * plan.len_x * plan.elem_bytes // 2  # signal bytes
    gbs = lambda b, t: b / (t * 1e-3) / 1e9
    return (f"    passes on {n} rows: col_fwd {t1:.3f} ms {gbs(xb + tb, t1):5.0f} GB/s | rows {t2:.3f} ms "
            f"{gbs(2 * tb, t2):5.0f} GB/s | col_inv {t3:.3f} ms {gbs(tb + xb, t3):5.0f} GB/s")


def main(argv=None):
    import cupy
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.plan.spectrum import kernel_spectrum
    from fftconv_cupy.runtime.executor import GPUExecutor
    args = argv if argv is not None else sys.argv[1:]
    bw = copy_bandwidth()
    print(f"copy bandwidth {bw / 1e12:.2f} TB/s")
    data = {}
    for arg in args:
        L, opts = parse(arg)
        opts.setdefault("precision", "fp32")
        plan = make_plan(L, L, 0, L, real=True, **{a: opts[a] for a in PLAN_ARGS if a in opts})
        dtype = plan.prec.real_dtype
        if (L, dtype) not in data:
            data.clear()
            cupy.get_default_memory_pool().free_all_blocks()
            rows = rows_for(L) * 4 // dtype.itemsize
            batch = min(64, rows)
            heads = rows // batch
            x = cupy.random.standard_normal((rows, L), dtype=dtype)
            k = cupy.random.standard_normal((heads, L), dtype=dtype)
            data[L, dtype] = (x, k, cupy.empty_like(x), batch, heads)
        x, k, y, batch, heads = data[L, dtype]
        if "row_size" in opts:              # three passes with middle-pass rows of this size
            from fftconv_cupy.plan.plan import _three_pass_plan
            base = {f: getattr(plan, f) for f in ("precision", "real", "n", "m", "len_x", "len_k",
                                                  "out_start", "out_len", "smem_limit")}
            plan = _three_pass_plan(plan.m, None, plan.smem_limit, plan.elem_bytes, base,
                                    a=opts["row_size"])
        if opts.get("halves"):              # a cluster of two blocks, one half-row each
            from fftconv_cupy.plan.plan import _halves_plan
            base = {f: getattr(plan, f) for f in ("precision", "real", "n", "m", "len_x", "len_k",
                                                  "out_start", "out_len", "smem_limit")}
            plan = _halves_plan(plan.m, None, plan.smem_limit, plan.elem_bytes, base)
            if plan is None:
                print(f"{arg:32s} no halves plan", flush=True)
                continue
        plan = dataclasses.replace(plan, **{a: opts[a] for a in opts
                                            if a not in PLAN_ARGS + EXEC_ARGS + ROW_ARGS + ("halves",)})
        if "radices" in opts:
            from fftconv_cupy.plan.plan import _threads_for
            rad = tuple(int(r) for r in opts["radices"].split("x"))
            plan = dataclasses.replace(plan, row=dataclasses.replace(
                plan.row, radices=rad, threads=_threads_for(plan.row.size, max(rad))))
        if "col_radices" in opts:
            from fftconv_cupy.plan.plan import _threads_for
            rad = tuple(int(r) for r in opts["col_radices"].split("x"))
            plan = dataclasses.replace(plan, col=dataclasses.replace(
                plan.col, radices=rad, threads=_threads_for(plan.col.size, max(rad))))
        if "row_threads" in opts:
            plan = dataclasses.replace(plan, row=dataclasses.replace(plan.row, threads=opts["row_threads"]))
        kw = {a: opts[a] for a in EXEC_ARGS if a in opts}
        hs = kernel_spectrum(plan, k, cupy)
        ex = GPUExecutor(plan)
        y[...] = np.nan
        med, p10, p90 = time_ms(lambda: ex(x, hs, y, batch=batch, channels=heads, **kw))
        ok = not bool(cupy.isnan(y).any())
        floor = 2 * x.nbytes / bw * 1e3
        # relative error of two rows (row r uses channel r % heads) against float64 cupy.fft
        check = [0, x.shape[0] - 1]
        xr = x[check].astype(cupy.float64)
        kr = k[[r % heads for r in check]].astype(cupy.float64)
        ref = cupy.fft.irfft(cupy.fft.rfft(xr, 2 * L) * cupy.fft.rfft(kr, 2 * L), 2 * L)[:, :L]
        err = float(cupy.linalg.norm(y[check] - ref) / cupy.linalg.norm(ref))
        print(f"{arg:32s} {med:8.3f} ms  x{med / floor:6.2f}  written={ok}  err={err:.1e}  "
              f"blocks/SM={plan.min_blocks}  {plan.describe()}", flush=True)
        if plan.layout == "three_pass":
            print(pass_times(plan, ex, x, hs, y, batch, heads), flush=True)


if __name__ == "__main__":
    main()
