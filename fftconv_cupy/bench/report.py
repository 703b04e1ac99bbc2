"""Writers and the one-line verdict for ``fftconv-cli bench`` (no CuPy, no rich here)."""
from __future__ import annotations

import csv
import json
import math
from collections import defaultdict

from .causal import OURS, Row, geomean

SHORT = {OURS: "ours", "cupyx.scipy.signal.fftconvolve": "cupyx", "cupy rfft-mul-irfft": "cupy rfft",
         "torch.fft rfft-mul-irfft": "torch.fft"}

CSV_FIELDS = ("impl", "mode", "length", "kernel_len", "out_len", "rows", "dtype", "ms", "p10", "p90",
              "floor_ms", "ratio", "gbps", "rel_err", "peak_mb", "plan")


def short_name(impl: str) -> str:
    return SHORT.get(impl, impl)


def implementations(rows: list[Row]) -> list[str]:
    """Implementation names in the order they first appear (ours first)."""
    return list(dict.fromkeys(r.impl for r in rows))


def by_length(rows: list[Row]) -> dict[int, dict[str, Row]]:
    out: dict[int, dict[str, Row]] = defaultdict(dict)
    for r in rows:
        out[r.length][r.impl] = r
    return dict(out)


def speedups(rows: list[Row]) -> dict[tuple[int, str], dict[str, float]]:
    """(length, impl) -> {peer: peer ms / impl ms} for every other implementation at that length."""
    out = {}
    for L, d in by_length(rows).items():
        for impl, r in d.items():
            out[(L, impl)] = {p: q.ms / r.ms for p, q in d.items() if p != impl}
    return out


def write_json(path, payload: dict) -> None:
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)


def write_csv(path, dict_rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in dict_rows:
            w.writerow({k: r.get(k, "") for k in CSV_FIELDS})


def plot(path, rows: list[Row], title: str = "") -> None:
    """Time / floor vs L, one line per implementation, log-x."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    for impl in implementations(rows):
        pts = sorted((r.length, r.ratio) for r in rows if r.impl == impl)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=impl)
    ax.set_xscale("log", base=2)
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="copy floor")
    ax.set_xlabel("L (signal samples per row)")
    ax.set_ylabel("time / floor")
    ax.set_ylim(bottom=0)
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def problem_title(mode: str, kernel_len: int | None) -> str:
    """'causal convolution, K = L' / 'same convolution, K = 4K' (for titles)."""
    return f"{mode} convolution, K = " + ("L" if kernel_len is None else _fmt_len(kernel_len))


def _fmt_len(L: int) -> str:
    for unit, size in (("M", 1 << 20), ("K", 1024)):
        if L >= size and L % size == 0:
            return f"{L // size}{unit}"
    return str(L)


def verdict(rows: list[Row], tolerance: float, failed: list[int] = ()) -> tuple[str, bool]:
    """One line summing up ours against the peers and the floor; (text, ok).

    ok is False when a length failed or ours missed the accuracy target.
    """
    ours = [r for r in rows if r.impl == OURS]
    if not ours:
        return "verdict: nothing was measured", False
    bad_err = [r for r in ours if not (r.rel_err <= tolerance)]
    ups = speedups(rows)
    parts = []
    single = len(ours) == 1
    for peer in [i for i in implementations(rows) if i != OURS]:
        vals = [ups[(r.length, OURS)][peer] for r in ours if peer in ups[(r.length, OURS)]]
        if not vals:
            continue
        g = geomean(vals)
        word = "faster" if g >= 1 else "slower"
        factor = g if g >= 1 else 1 / g
        text = f"{factor:.2f}x {word} than {short_name(peer)}"
        slower = [r.length for r in ours if ups[(r.length, OURS)].get(peer, math.inf) < 1]
        if not single and g >= 1 and slower:
            text += f" (slower at L={','.join(_fmt_len(L) for L in slower)})"
        parts.append(text)
    worst = max(ours, key=lambda r: r.ratio)
    if single:
        parts.append(f"{worst.ratio:.2f}x the copy floor")
    else:
        parts.append(f"{geomean(r.ratio for r in ours):.2f}x the copy floor "
                     f"(worst {worst.ratio:.2f}x at L={_fmt_len(worst.length)})")
    max_err = max(r.rel_err for r in ours)
    scope = "" if single else f"geomean over {len(ours)} lengths: "
    line = "fftconv_cupy " + scope + ", ".join(parts)
    ok = not bad_err and not failed
    if bad_err:
        line += (f"; FAIL: rel. error {max_err:.1e} above {tolerance:.0e} at L="
                 + ",".join(_fmt_len(r.length) for r in bad_err))
    else:
        line += f"; rel. error {max_err:.1e} <= {tolerance:.0e}"
    if failed:
        line += "; FAILED at L=" + ",".join(_fmt_len(L) for L in failed)
        ok = False
    return "verdict: " + line, ok
