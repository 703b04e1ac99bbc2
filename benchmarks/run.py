"""python -m benchmarks.run [--lengths 4096,1M] [--no-peers] [--out bench.json]"""
from __future__ import annotations

import argparse
import json
import sys
import time

from .causal import as_dicts, copy_bandwidth, run_length


def parse_len(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 1024, "M": 1 << 20}.get(s[-1:], 1)
    return int(s[:-1] if mult > 1 else s) * mult


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", default="128,512,1K,4K,8K,16K,32K,64K,128K,256K,512K,1M,2M,4M")
    ap.add_argument("--dtypes", default="float32")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--layout", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    import cupy
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    bw = copy_bandwidth()
    print(f"# {name}: device copy bandwidth {bw / 1e12:.2f} TB/s", flush=True)
    rows = []
    for dt in args.dtypes.split(","):
        for L in map(parse_len, args.lengths.split(",")):
            t = time.time()
            try:
                res = run_length(L, bw, dtype=dt, peers=not args.no_peers, layout=args.layout)
            except Exception as e:  # report and go on to the next length; exit status says it failed
                print(f"L={L} {dt}: FAILED {type(e).__name__}: {e}", flush=True)
                rows.append({"length": L, "dtype": dt, "error": f"{type(e).__name__}: {e}"})
                continue
            for r in res:
                print(f"L={L:>8} {r.impl:34s} {r.ms:9.3f} ms  x{r.ratio:6.2f} floor  err {r.rel_err:.2e} "
                      f"peak {r.peak_mb:8.1f} MB  {r.plan}", flush=True)
            rows.extend(as_dicts(res))
            print(f"   ({time.time() - t:.1f} s)", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"gpu": name, "copy_bandwidth": bw, "rows": rows}, f, indent=1)
    # short table last
    print(f"\n{name}, copy {bw / 1e12:.2f} TB/s")
    print(f"{'L':>8} {'ours ms':>9} {'xfloor':>7} {'cupyx':>8} {'rfft':>8} {'vs cupyx':>8} {'err':>8}")
    by = {}
    for r in rows:
        if "impl" in r:
            by.setdefault((r["dtype"], r["length"]), {})[r["impl"]] = r
    failed = any("error" in r for r in rows)
    for (dt, L), d in by.items():
        o = d.get("fftconv_cupy")
        c = d.get("cupyx.scipy.signal.fftconvolve")
        f = d.get("cupy rfft-mul-irfft")
        print(f"{L:>8} {o['ms']:9.3f} {o['ratio']:7.2f} {c['ms'] if c else float('nan'):8.2f} "
              f"{f['ms'] if f else float('nan'):8.2f} {(c['ms'] / o['ms']) if c else float('nan'):8.1f} "
              f"{o['rel_err']:8.1e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
