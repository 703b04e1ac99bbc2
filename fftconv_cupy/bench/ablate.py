"""The Monarch-order ablation (``fftconv-cli ablate order``).

The causal workload of ``fftconv-cli bench``: x (rows, L), k (H, L), y = the first L
outputs of the linear convolution (K = L, FFT size 2L).  For each requested order p
the plan is ``make_plan(L, L, 0, L, real=True, precision=..., order=p,
smem_limit=<device opt-in smem>)``; an order the size does not admit becomes a row
carrying the planner's message.  Each admitted plan is measured by the benchmark's
``run_length`` (CUDA events, median of `repeat` calls after 3 warm-up calls, output
poisoned with NaN and checked to be fully written, float64 cuFFT reference on a few
rows, memory as pool growth plus the preallocated output; the kernel spectrum is
computed beforehand).  The first measured order also times the peers, and
``cupyx.scipy.signal.fftconvolve`` (full mode, sliced to [0, L)) is the baseline.

FLOP utilization = plan.flops(rows) / time / peak, with the peak stated:
SM count x FP32 lanes per SM (128; 64 FP64 lanes for fp64) x 2 (an FMA) x SM clock.

Nothing here imports CuPy at module level: the CLI imports this module on
machines without a GPU (to plan the orders and validate options).
"""
from __future__ import annotations

import re

import numpy as np

from .causal import OURS, PEER_CUPYX, batch_heads, rows_for

BASELINE = PEER_CUPYX
# FP32 / FP64 lanes per SM (sm_90: 128 FP32 cores, 64 FP64 cores per SM)
LANES = {"fp32": 128, "fp64": 64}


def precision_of(dtype="float32", precision="auto") -> str:
    """The arithmetic the plans use ('fp32' / 'fp64'); ValueError when it does not read `dtype`."""
    from ..api import _precision_for
    from ..plan.support import PRECISIONS
    dt = np.dtype(dtype)
    prec = _precision_for(dt, precision)
    if prec not in LANES:
        raise ValueError(f"the order ablation measures against the CUDA-core peak: precision "
                         f"{prec!r} is not one of {sorted(LANES)}")
    if PRECISIONS[prec].real_dtype != dt:
        raise ValueError(f"precision {prec!r} computes on {PRECISIONS[prec].io_real} data, "
                         f"not {dt.name}")
    return prec


def peak_flops(precision: str, sm_count: int, clock_khz: float) -> float:
    """SM count x lanes x 2 flops (one FMA) x SM clock: the device's peak in FLOP/s."""
    return float(sm_count) * LANES[precision] * 2 * float(clock_khz) * 1e3


def device_peak(precision: str = "fp32", device: int | None = None) -> dict:
    """The stated peak of the current (or given) device for `precision`, and its inputs."""
    import cupy
    attrs = cupy.cuda.Device(device).attributes
    sm, clock = int(attrs["MultiProcessorCount"]), int(attrs["ClockRate"])     # ClockRate: kHz
    return {"precision": precision, "sm_count": sm, "clock_khz": clock, "lanes": LANES[precision],
            "flops": peak_flops(precision, sm, clock)}


def describe_peak(peak: dict) -> str:
    """'66.9 TFLOP/s fp32 (132 SMs x 128 lanes x 2 x 1.980 GHz)'."""
    return (f"{peak['flops'] / 1e12:.1f} TFLOP/s {peak['precision']} ({peak['sm_count']} SMs x "
            f"{peak['lanes']} lanes x 2 x {peak['clock_khz'] / 1e6:.3f} GHz)")


def factors(plan) -> str:
    """The factorization as plan.describe() writes it: '16x16 | 16x16x16' (columns | rows)."""
    m = re.search(r"\[([^\]]*)\]", plan.describe())
    return m.group(1) if m else ""


def order_plans(length: int, orders, *, dtype="float32", precision="auto", smem_limit=None,
                clusters=True) -> dict:
    """order -> the causal plan of that Monarch order, or the planner's message (no GPU needed)."""
    from ..errors import UnsupportedPlanError
    from ..plan.plan import make_plan
    from ..plan.support import DEFAULT_SMEM_BYTES
    prec = precision_of(dtype, precision)
    out = {}
    for p in orders:
        try:
            out[p] = make_plan(length, length, 0, length, real=True, precision=prec, order=p,
                               smem_limit=smem_limit or DEFAULT_SMEM_BYTES, clusters=clusters)
        except (UnsupportedPlanError, ValueError) as e:
            out[p] = str(e)
    return out


def error_row(length, order, rows, dtype, precision, message, *, inadmissible) -> dict:
    """A row for an order that did not run: not admitted by the planner, or failed measuring."""
    return {"impl": OURS, "order": order, "length": length, "rows": rows, "dtype": np.dtype(dtype).name,
            "precision": precision, "error": message, "inadmissible": bool(inadmissible)}


def derive(rows: list[dict], peak: float) -> list[dict]:
    """Add speedup / memory saving vs the baseline row and FLOP utilization to measured rows.

    speedup = baseline ms / ms, memory_saving = baseline MB / MB (None without a baseline),
    flop_util = flops / (ms * 1e-3) / peak, achieved_flops = flops / (ms * 1e-3).
    """
    base = next((r for r in rows if r.get("impl") == BASELINE and "error" not in r), None)
    for r in rows:
        if r.get("impl") != OURS or "error" in r:
            continue
        achieved = r["flops"] / (r["ms"] * 1e-3)
        r["achieved_flops"] = achieved
        r["flop_util"] = achieved / peak
        r["speedup"] = base["ms"] / r["ms"] if base else None
        r["memory_saving"] = base["peak_mb"] / r["peak_mb"] if base and r["peak_mb"] > 0 else None
    return rows


def run_orders(length: int, orders, *, dtype="float32", precision="auto", rows=None, repeat=20,
               peak=None, on_step=None) -> list[dict]:
    """Time the causal convolution at each Monarch order, and cupyx once; a list of dicts.

    One dict per requested order, in the order given, then the cupyx baseline.
    Measured orders: impl, order, plan_order, length, rows, batch, channels, dtype,
    precision, plan (describe()), factors, layout, passes, ms, p10, p90, peak_mb,
    rel_err, flops, hbm_bytes, achieved_flops, flop_util, speedup, memory_saving.
    An order the planner does not admit: impl, order, ..., error (its message),
    inadmissible=True; one that failed while measuring: error, inadmissible=False.
    The baseline: impl=cupyx..., order=None, ms, p10, p90, peak_mb, rel_err (or error).
    When no order is admitted nothing is measured (no baseline row).

    peak: device_peak(...)'s dict or a FLOP/s number (None: read from the device);
    on_step(text) is called before each measurement (progress reporting).
    """
    from ..runtime.device import planner_limits
    from .causal import run_length

    L = int(length)
    dt = np.dtype(dtype)
    prec = precision_of(dt, precision)
    if peak is None:
        peak = device_peak(prec)
    peak_value = float(peak["flops"] if isinstance(peak, dict) else peak)
    rows = rows_for(L) if rows is None else int(rows)
    plans = order_plans(L, orders, dtype=dt, precision=precision,
                        **planner_limits())
    out = [error_row(L, p, rows, dt, prec, plan, inadmissible=True) if isinstance(plan, str) else None
           for p, plan in plans.items()]
    if all(r is not None for r in out):
        return out

    # each order is measured by the benchmark's own run_length (same data, reference, poisoned
    # output and memory accounting); the first one also times the peers, cupyx among them
    base = None
    for i, (p, plan) in enumerate(plans.items()):
        if isinstance(plan, str):
            continue
        if on_step is not None:
            on_step(f"order {p}: {factors(plan)}")
        try:
            res = run_length(L, 1.0, dtype=dt, precision=precision, peers=base is None, order=p,
                             repeat=repeat, rows=rows)
        except Exception as e:      # reported as the order's row; the CLI exits 1
            out[i] = error_row(L, p, rows, dt, prec, f"{type(e).__name__}: {e}", inadmissible=False)
            continue
        ours = res[0]
        batch, heads = batch_heads(rows)
        out[i] = {"impl": OURS, "order": p, "plan_order": plan.order, "length": L, "rows": rows,
                  "batch": batch, "channels": heads, "dtype": dt.name, "precision": prec,
                  "plan": plan.describe(), "factors": factors(plan), "layout": plan.layout,
                  "passes": plan.passes, "ms": ours.ms, "p10": ours.p10, "p90": ours.p90,
                  "peak_mb": ours.peak_mb, "rel_err": ours.rel_err,
                  "flops": float(plan.flops(rows)), "hbm_bytes": int(plan.hbm_bytes(rows, heads))}
        if base is None:
            b = next((r for r in res if r.impl == BASELINE), None)
            base = {"impl": BASELINE, "order": None, "length": L, "rows": rows, "dtype": dt.name}
            if b is None:
                base["error"] = "not run: the input is larger than the baseline is timed at"
            else:
                base.update(ms=b.ms, p10=b.p10, p90=b.p90, peak_mb=b.peak_mb, rel_err=b.rel_err)
    if base is None:
        base = {"impl": BASELINE, "order": None, "length": L, "rows": rows, "dtype": dt.name,
                "error": "not run: no order could be measured"}
    out.append(base)
    return derive(out, peak_value)


def plot(path, rows: list[dict], title: str = "") -> None:
    """Bars per measured order: time (p10–p90 whiskers, cupyx as a line) and FLOP utilization."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ours = [r for r in rows if r.get("impl") == OURS and "error" not in r]
    base = next((r for r in rows if r.get("impl") == BASELINE and "error" not in r), None)
    labels = [str(r["order"]) for r in ours]
    pos = np.arange(len(ours))
    fig, (ax_t, ax_u) = plt.subplots(1, 2, figsize=(10, 4.5))
    ms = np.array([r["ms"] for r in ours])
    yerr = np.array([[r["ms"] - r["p10"] for r in ours], [r["p90"] - r["ms"] for r in ours]])
    ax_t.bar(pos, ms, yerr=yerr, capsize=4, color="tab:blue", label="fftconv_cupy")
    if base is not None:
        ax_t.axhline(base["ms"], color="tab:red", linestyle="--", linewidth=1,
                     label=f"cupyx ({base['ms']:.2f} ms)")
    ax_t.set_ylabel("median ms (p10–p90)")
    ax_u.bar(pos, [100 * r["flop_util"] for r in ours], color="tab:green")
    ax_u.set_ylabel("FLOP utilization (% of peak)")
    for ax in (ax_t, ax_u):
        ax.set_xticks(pos, labels)
        ax.set_xlabel("Monarch order p")
        ax.set_ylim(bottom=0)
        ax.grid(True, axis="y", alpha=0.3)
    ax_t.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
