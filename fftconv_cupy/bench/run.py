"""python -m benchmarks.run [--lengths 4096,1M] [--mode causal] [--kernel-len K] [--dtypes float32]
                          [--no-peers] [--layout L] [--out bench.json]

The plain-text driver of the sweep (scripts/gpu-check calls it): one line per
implementation and length as it goes, a short table last.  --mode picks the
outputs (causal [0, L), or SciPy's full / same / valid windows), --kernel-len
the kernel length K (default K = L).  Exit status 1 when a length failed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from .causal import (BENCH_MODES, OURS, PEER_CUPYX, PEER_RFFT, PEER_TORCH, as_dicts, copy_bandwidth,
                     device_name, parse_len, run_length)

DEFAULT_LENGTHS = "128,512,1K,4K,8K,16K,32K,64K,128K,256K,512K,1M,2M,4M"


def _lengths(text: str) -> list[int]:
    try:
        return [parse_len(s) for s in text.split(",") if s.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _length(text: str) -> int:
    try:
        return parse_len(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def short_table(name: str, bw: float, rows: list[dict], title: str = "") -> str:
    lines = [f"{name}, copy {bw / 1e12:.2f} TB/s" + (f", {title}" if title else ""),
             f"{'L':>8} {'K':>8} {'ours ms':>9} {'xfloor':>7} {'cupyx':>8} {'rfft':>8} {'torch':>8} {'vs cupyx':>8} "
             f"{'err':>8} {'MB ours':>8} {'MB cupyx':>8}"]
    by = {}
    for r in rows:
        if "impl" in r:
            by.setdefault((r["dtype"], r["length"], r.get("kernel_len", r["length"])), {})[r["impl"]] = r
    nan = float("nan")
    for (dt, L, K), d in by.items():
        o = d.get(OURS)
        c = d.get(PEER_CUPYX)
        f = d.get(PEER_RFFT)
        t = d.get(PEER_TORCH)
        if o is None:
            continue
        lines.append(f"{L:>8} {K:>8} {o['ms']:9.3f} {o['ratio']:7.2f} {c['ms'] if c else nan:8.2f} "
                     f"{f['ms'] if f else nan:8.2f} {t['ms'] if t else nan:8.2f} "
                     f"{(c['ms'] / o['ms']) if c else nan:8.1f} {o['rel_err']:8.1e} "
                     f"{o['peak_mb']:8.0f} {c['peak_mb'] if c else nan:8.0f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run",
                                 description="Depthwise convolution sweep (needs a CUDA device).")
    ap.add_argument("--lengths", type=_lengths, default=DEFAULT_LENGTHS,
                    help="comma-separated lengths, K = 1024, M = 1024**2 (default: %(default)s)")
    ap.add_argument("--mode", choices=BENCH_MODES, default="causal",
                    help="outputs: causal [0, L), or SciPy's full / same / valid window (default: causal)")
    ap.add_argument("--kernel-len", type=_length, default=None,
                    help="kernel length K, e.g. 4096, 64K (default: K = L)")
    ap.add_argument("--dtypes", default="float32", help="comma-separated: float32,float64")
    ap.add_argument("--no-peers", action="store_true", help="time fftconv_cupy only")
    ap.add_argument("--layout", default=None, help="force a plan layout: fused | three_pass")
    ap.add_argument("--out", default=None, help="write every measurement to this JSON file")
    args = ap.parse_args(argv)
    name = device_name()
    bw = copy_bandwidth()
    print(f"# {name}: device copy bandwidth {bw / 1e12:.2f} TB/s", flush=True)
    rows = []

    def save():         # after every length: a sweep cut short still leaves its measurements
        if args.out:
            with open(args.out, "w") as f:
                json.dump({"gpu": name, "copy_bandwidth": bw,
                           "config": {"mode": args.mode, "kernel_len": args.kernel_len}, "rows": rows},
                          f, indent=1)

    for dt in args.dtypes.split(","):
        for L in args.lengths:
            t = time.time()
            try:
                res = run_length(L, bw, dtype=dt, peers=not args.no_peers, layout=args.layout,
                                 mode=args.mode, klen=args.kernel_len)
            except Exception as e:  # report and go on to the next length; exit status says it failed
                print(f"L={L} {dt}: FAILED {type(e).__name__}: {e}", flush=True)
                rows.append({"mode": args.mode, "length": L,
                             "kernel_len": L if args.kernel_len is None else args.kernel_len,
                             "dtype": dt, "error": f"{type(e).__name__}: {e}"})
                continue
            for r in res:
                print(f"L={L:>8} K={r.kernel_len:>8} {r.impl:34s} {r.ms:9.3f} ms  x{r.ratio:6.2f} floor  err {r.rel_err:.2e} "
                      f"peak {r.peak_mb:8.1f} MB  {r.plan}", flush=True)
            rows.extend(as_dicts(res))
            save()
            print(f"   ({time.time() - t:.1f} s)", flush=True)
    save()
    failed = any("error" in r for r in rows)
    # short table last
    ktext = "K = L" if args.kernel_len is None else f"K = {args.kernel_len}"
    print("\n" + short_table(name, bw, rows, f"{args.mode}, {ktext}"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
