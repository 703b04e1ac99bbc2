"""Causal convolution per I/O dtype and compute precision (the 16-bit sweep).

python -m benchmarks.tensor_cores [--lengths 1K,4K,...] [--out FILE.json]
Rows (B*H) as in the fp32 sweep; x and y in the I/O dtype (the floor counts their
bytes); random data, NaN-poisoned outputs, CUDA events, median of 20 after warm-up.
Errors are against the float64 oracle on the inputs rounded to the I/O dtype.
"""
from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np

from fftconv_cupy.bench.causal import (batch_heads, copy_bandwidth, device_name, parse_len,
                                       rows_for, time_ms)
from fftconv_cupy.plan.support import io_tolerance, rel_error
from fftconv_cupy.plan.pairs import pair_plan
from fftconv_cupy.runtime import arrays

IOS = ("float32", "float16", "bfloat16")
PRECISIONS = ("fp32", "tf32", "fp16", "bf16")


def heads_for(rows, batch):
    """Channels H of `rows` rows of a batch of (at most) `batch`: the sweep's (B, H, L) shape
    (DESIGN: B = 64, H = 768 up to 4K, rows capped beyond)."""
    return batch_heads(rows, batch)[1]


def one(L, io, precision, bw, rows, *, terms=3, gated=False, circular=False, heads=None, batch=64):
    import cupy
    import scipy.signal as ss
    from fftconv_cupy.plan.plan import make_plan
    from fftconv_cupy.plan.spectrum import kernel_spectrum
    from fftconv_cupy.runtime.executor import GPUExecutor
    from dataclasses import replace
    heads = heads or heads_for(rows, batch)
    io16 = None if io == "float32" else io
    plan = make_plan(L, L, 0, L, real=True, precision=precision, io=io16, gates=(gated, gated),
                     circular=circular)
    plan = replace(plan, mma_terms=terms)
    raw = arrays.BITS16[io] if io16 else np.dtype(np.float32)
    xf = cupy.random.standard_normal((rows, L), dtype=cupy.float32)
    x = arrays.float_to_bits16(xf, io, cupy) if io16 else xf
    k = cupy.random.standard_normal((heads, L), dtype=cupy.float32)
    k *= cupy.exp(-cupy.arange(L, dtype=cupy.float32) / (L / 8))[None]
    hs = kernel_spectrum(plan, k, cupy)
    y = (cupy.full((rows, L), 0xFFFF, dtype=np.uint16).view(raw) if io16
         else cupy.full((rows, L), np.nan, dtype=raw))
    ex = GPUExecutor(plan.with_alignment(x.data.ptr, y.data.ptr))
    g = None
    if gated:       # gates of magnitude ~1 keep the result's scale
        g = (arrays.float_to_bits16(1 + 0.1 * xf, io, cupy) if io16 else 1 + 0.1 * xf)
    kw = dict(pre_gate=g, post_gate=g) if gated else {}
    ms = time_ms(lambda: ex(x, hs, y, batch=rows // heads, channels=heads, **kw))[0]
    floor = plan.io_bytes(rows) / bw * 1e3
    # error on a few rows vs the float64 oracle on the rounded inputs
    n = min(rows, 4 if L <= 1 << 16 else 1)
    def f64(a):
        return cupy.asnumpy(arrays.bits16_to_float(a, io, cupy) if io16 else a).astype(np.float64)
    xr = f64(x[:n])
    gr = f64(g[:n]) if gated else 1.0
    kr = cupy.asnumpy(k).astype(np.float64)[np.arange(n) % heads]   # row r uses channel r % heads
    if circular:
        ref = np.fft.irfft(np.fft.rfft(xr * gr) * np.fft.rfft(kr), n=L)
    else:
        ref = ss.fftconvolve(xr * gr, kr, axes=-1)[:, :L]
    ref = ref * gr
    out = cupy.asnumpy(arrays.bits16_to_float(y[:n], io, cupy) if io16 else y[:n])
    err = rel_error(out, ref)
    written = not bool(cupy.isnan(arrays.bits16_to_float(y, io, cupy) if io16 else y).any())
    return dict(L=L, io=io, precision=precision, rows=rows, terms=terms, gated=gated, circular=circular, ms=ms, floor_ms=floor, x_floor=ms / floor,
                rel_err=err, target=io_tolerance(io16, precision), written=written,
                plan=plan.describe(), tc_stages=plan.as_dict().get("tensor_core_stages", 0))


def pairs_run(bw, L=4096, *, mode="circular", batch=64, heads=768, gates=(False, False), **tweak):
    """The row-pair plan (what FFTConv and causal_conv pick for bf16 rows of an even batch
    where a size fits): time, floor and error against float64 on the rounded inputs."""
    import cupy
    import scipy.signal as ss
    from fftconv_cupy.plan.pairs import kernel_spectrum_pairs, pair_plan
    from fftconv_cupy.runtime.pairs import PairExecutor
    gated = any(gates)
    plan = pair_plan(L, L, mode=mode, io="bfloat16", precision="auto", gates=gates, batch=batch)
    plan = dataclasses.replace(plan, **tweak)       # plan knobs to compare (scripts/pairs-ab)
    if "lane_points" in tweak and "min_blocks" not in tweak:   # 128 registers a thread
        plan = dataclasses.replace(plan, min_blocks=1 if plan.split == 8 else max(1, 512 // plan.threads))
    rows = batch * heads
    xf = cupy.random.standard_normal((rows, L), dtype=cupy.float32)
    x = arrays.float_to_bits16(xf, "bfloat16", cupy)
    g = arrays.float_to_bits16(1 + 0.1 * cupy.random.standard_normal((rows, L), dtype=cupy.float32),
                               "bfloat16", cupy) if gated else None
    k = np.random.default_rng(1).standard_normal((heads, L)) * np.exp(-np.arange(L) / (L / 8))
    hs = kernel_spectrum_pairs(plan, k, cupy)
    y = cupy.full((rows, L), 0xFFFF, dtype=cupy.uint16)
    ex = PairExecutor(plan)
    pre, post = (g if on else None for on in gates)
    ms = time_ms(lambda: ex(x, hs, y, batch=batch, channels=heads, pre_gate=pre, post_gate=post))[0]
    floor = plan.io_bytes(rows) / bw * 1e3
    sel = np.r_[0:2 * min(heads, 64)]
    sel = np.r_[sel, sel + heads]           # both rows of each pair
    f64 = lambda a: cupy.asnumpy(arrays.bits16_to_float(a[sel], "bfloat16", cupy)).astype(np.float64)
    xr = f64(x)
    gpre, gpost = (f64(g) if on else 1.0 for on in gates)
    if mode == "circular":
        ref = np.fft.irfft(np.fft.rfft(xr * gpre) * np.fft.rfft(k[sel % heads]), n=L)
    else:
        ref = ss.fftconvolve(xr * gpre, k[sel % heads], axes=-1)[:, :L]
    ref = ref * gpost
    out = f64(y)
    written = not bool(cupy.isnan(arrays.bits16_to_float(y, "bfloat16", cupy)).any())
    return dict(L=L, io="bfloat16", precision=plan.precision, rows=rows, circular=mode == "circular",
                gated=gated, gates=list(gates), min_blocks=plan.min_blocks, ms=ms, floor_ms=floor, x_floor=ms / floor,
                rel_err=rel_error(out, ref), target=3e-3, written=written, plan=plan.describe())


def auto(L, io, bw, rows, *, terms=3, batch=64):
    """causal_conv's own choice for this row (precision "auto"): the row-pair plan where it
    serves (bf16 rows, an even batch), else the fused plans at the dtype's auto precision."""
    from fftconv_cupy.api import _row_pairs
    from fftconv_cupy.plan.support import IO16_AUTO
    heads = heads_for(rows, batch)
    io16 = None if io == "float32" else io
    pairs = _row_pairs(L, L, mode="causal", io16=io16, precision="auto", order=None,
                       limits={"clusters": True}, batch=rows // heads)
    if pairs is not None:
        return pairs_run(bw, L, mode="causal", batch=rows // heads, heads=heads) | {"precision": "auto"}
    return one(L, io, IO16_AUTO.get(io, "fp32"), bw, rows, terms=terms, heads=heads) | {"precision": "auto"}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", default="1K,4K,16K,64K,1M,4M")
    ap.add_argument("--ios", default=",".join(IOS))
    ap.add_argument("--precisions", default=",".join(PRECISIONS),
                    help="compute precisions, and 'auto': what causal_conv picks (row pairs where they serve)")
    ap.add_argument("--terms", type=int, default=3, help="products per tensor-core stage (1 or 3)")
    ap.add_argument("--extras", action="store_true",
                    help="also: gated vs ungated (16-bit), circular bf16 B=64 H=768 N=4096")
    ap.add_argument("--circular", action="store_true",
                    help="only circular bf16 B=64 H=768 N=4096: the fp32 plan and the row pairs")
    ap.add_argument("--causal-pairs", action="store_true",
                    help="only causal bf16 rows (--pair-lengths; rows as the sweep's): row pairs, "
                         "gated and not, against the fp32 plan")
    ap.add_argument("--pair-lengths", default="2048", help="with --causal-pairs")
    ap.add_argument("--circular-sizes", default="4096",
                    help="with --circular or --extras: circular bf16 sizes N (B=64, H=768)")
    ap.add_argument("--batch", type=int, default=64,
                    help="batch B of the (B, H, L) rows, H = rows / B (DESIGN's sweep: 64; runs "
                         "before 2026-12-04's session 20 used 8: 8x the kernel spectra)")
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    import cupy
    bw = copy_bandwidth()
    print(f"{device_name()}  copy bandwidth {bw / 1e12:.2f} TB/s", flush=True)
    results = []
    if a.causal_pairs:
        a.circular = True               # no sweep
    for L in [parse_len(v) for v in a.pair_lengths.split(",")] if a.causal_pairs else []:
        rows = rows_for(L)
        heads = heads_for(rows, a.batch)
        for gated in (False, True):
            base = one(L, "bfloat16", "fp32", bw, rows, gated=gated, heads=heads)
            results.append(base)
            print(f"causal bf16 L={L} rows={rows} {'gated  ' if gated else 'ungated'} fp32 plan: "
                  f"{base['ms']:8.3f} ms  x{base['x_floor']:5.2f} floor  err {base['rel_err']:.1e}", flush=True)
            for gates in ([(False, False)] if not gated else
                          [(True, True), (True, False), (False, True)]):
                if pair_plan(L, L, mode="causal", io="bfloat16", precision="auto", gates=gates,
                             batch=a.batch) is None:
                    print(f"causal bf16 L={L} gates={gates}: no row-pair plan", flush=True)
                    continue
                r = pairs_run(bw, L, mode="causal", batch=rows // heads, heads=heads, gates=gates)
                results.append(r)
                name = {(0, 0): "ungated", (1, 1): "gated  ", (1, 0): "pre    ", (0, 1): "post   "}
                print(f"causal bf16 L={L} rows={rows} {name[gates]} row pairs: {r['ms']:8.3f} ms  "
                      f"x{r['x_floor']:5.2f} floor  err {r['rel_err']:.1e} written={r['written']}",
                      flush=True)
    for L in [] if a.circular else [parse_len(s) for s in a.lengths.split(",")]:
        rows = rows_for(L)
        for io in a.ios.split(","):
            for prec in a.precisions.split(","):
                if prec == "auto":      # what causal_conv picks: row pairs where they serve
                    r = auto(L, io, bw, rows, terms=a.terms, batch=a.batch)
                else:
                    r = one(L, io, prec, bw, rows, terms=a.terms, batch=a.batch)
                results.append(r)
                ok = "ok" if r["rel_err"] <= r["target"] and r["written"] else "FAIL"
                print(f"L={L:>8} io={io:<8} {prec:<4} tc={r.get('tc_stages', '-')} {r['ms']:8.3f} ms  "
                      f"x{r['x_floor']:5.2f} floor  err {r['rel_err']:.1e} ({ok})  {r['plan']}", flush=True)
                cupy.get_default_memory_pool().free_all_blocks()
    if a.extras and not a.circular:
        for L in (4096, 1 << 14, 1 << 20):
            for io in ("float16", "bfloat16"):
                t = {}
                for gated in (False, True):
                    r = one(L, io, "fp32", bw, rows_for(L), gated=gated, batch=a.batch)
                    results.append(r)
                    t[gated] = r["ms"]
                    print(f"L={L:>8} io={io:<8} fp32 {'gated  ' if gated else 'ungated'} {r['ms']:8.3f} ms  "
                          f"x{r['x_floor']:5.2f} floor  err {r['rel_err']:.1e}", flush=True)
                print(f"L={L:>8} io={io:<8} gated / ungated {t[True] / t[False]:.2f}", flush=True)
    for N in ([parse_len(v) for v in a.circular_sizes.split(",")]
              if a.extras or (a.circular and not a.causal_pairs) else []):
        r = pairs_run(bw, N)
        results.append(r)
        print(f"circular bf16 B=64 H=768 N={N} row pairs (fp16 mma): {r['ms']:8.3f} ms  "
              f"x{r['x_floor']:5.2f} floor  err {r['rel_err']:.1e} written={r['written']}", flush=True)
        for prec in ("fp32", "bf16"):
            r = one(N, "bfloat16", prec, bw, 64 * 768, circular=True, heads=768)
            results.append(r)
            print(f"circular bf16 B=64 H=768 N={N} {prec}: {r['ms']:8.3f} ms  x{r['x_floor']:5.2f} floor  "
                  f"err {r['rel_err']:.1e} written={r['written']}", flush=True)
            cupy.get_default_memory_pool().free_all_blocks()
    if a.out:
        with open(a.out, "w") as f:
            json.dump(dict(device=device_name(), bandwidth=bw, rows=results), f, indent=1)


if __name__ == "__main__":
    main()
