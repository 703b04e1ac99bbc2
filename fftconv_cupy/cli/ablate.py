"""fftconv-cli ablate: ablations of the plan's design choices on the causal workload.

    fftconv-cli ablate order --len 1M --orders 2,3,4,5    Monarch order (radix stages) vs time
    fftconv-cli ablate sparsity --len 1M --patterns uniform,block,random --density 0.5,0.25,0.1
                                                           frequency-sparse plans vs dense
"""
from __future__ import annotations

import click

from ._common import LENGTH, OutputPath, console, precision_option
from .bench import _dtype_for

NO_DEVICE = "fftconv-cli ablate: no CUDA device found"


class OrderList(click.ParamType):
    """Comma-separated Monarch orders: 2,3,4,5 (each within the support table's orders)."""
    name = "P,P,..."

    def convert(self, value, param, ctx):
        from ..plan.support import ORDERS
        if isinstance(value, (list, tuple)):
            items = [str(v) for v in value]
        else:
            items = [s.strip() for s in str(value).split(",")]
        if not items or any(not s for s in items):
            self.fail(f"{value!r} is not a list of orders: use integers separated by commas "
                      "(2,3,4,5)", param, ctx)
        out = []
        for s in items:
            if not s.isdigit():
                self.fail(f"{s!r} is not an order: use integers separated by commas (2,3,4,5)",
                          param, ctx)
            p = int(s)
            if p not in ORDERS:
                self.fail(f"order {p} is outside {min(ORDERS)}..{max(ORDERS)}", param, ctx)
            if p not in out:
                out.append(p)
        return out


ORDER_LIST = OrderList()


def _check_matplotlib(plot_path):
    if plot_path:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise click.UsageError("--plot needs matplotlib: pip install 'fftconv-cupy[plot]'") from None


@click.group()
def ablate():
    """Ablations on the causal workload (x: rows x L, k: H x L, outputs [0, L))."""


def _check_orders(length, orders, dtype, precision) -> dict:
    """The plans of the orders (sm_90 default shared memory); usage error when none is admitted."""
    from ..bench import ablate as ab
    plans = ab.order_plans(length, orders, dtype=dtype, precision=precision)
    if all(isinstance(p, str) for p in plans.values()):
        msgs = list(dict.fromkeys(plans.values()))
        hint = "--orders" if all("order" in m for m in msgs) else "--len"
        raise click.BadParameter(f"no order in {','.join(map(str, orders))} is admitted for "
                                 f"L={length:,}: " + "; ".join(msgs), param_hint=hint)
    return plans


@ablate.command("order")
@click.option("--len", "length", type=LENGTH, required=True,
              help="Signal length L (K = L; 64K, 1M: K = 1024, M = 1024**2).")
@click.option("--orders", type=ORDER_LIST, required=True,
              help="Monarch orders to compare, comma-separated (2,3,4,5). An order the size does "
                   "not admit is reported with the planner's message.")
@click.option("--dtype", type=click.Choice(("float32", "float64")), default=None,
              help="Data type (default float32, or the --precision's own type).")
@precision_option
@click.option("--rows", type=click.IntRange(min=1), default=None,
              help="Signal rows (default: from L, about 1 GiB of signal at L >= 64K).")
@click.option("--repeat", type=click.IntRange(min=1), default=20, show_default=True,
              help="Timed calls per order and for cupyx (after 3 warm-up calls).")
@click.option("--json", "json_path", type=OutputPath(), default=None,
              help="Write the configuration, GPU, stated peak and every row to this JSON file.")
@click.option("--plot", "plot_path", type=OutputPath(), default=None,
              help="Bars of time and FLOP utilization per order, to this PNG (needs matplotlib).")
@click.pass_context
def order_cmd(ctx, length, orders, dtype, precision, rows, repeat, json_path, plot_path):
    """Time the causal convolution at each Monarch order (number of radix stages).

    Per order: factors, passes, median ms (p10–p90), speedup and memory saving vs
    cupyx.scipy.signal.fftconvolve (timed once in the same run), peak MB, FLOP
    utilization against the stated peak (SMs x 128 FP32 lanes x 2 x SM clock; 64 lanes
    for fp64), and the rel. L2 error against a float64 cuFFT convolution.
    """
    from ..bench import ablate as ab
    from ..bench import causal
    dtype = _dtype_for(dtype, precision)
    try:
        prec = ab.precision_of(dtype, precision)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--precision") from None
    _check_matplotlib(plot_path)
    _check_orders(length, orders, dtype, precision)

    from ..runtime import device
    if not device.gpu_available():
        click.echo(NO_DEVICE, err=True)
        ctx.exit(2)

    from ..plan.support import tolerance
    err_console = console(stderr=True)
    gpu = causal.device_name()
    peak = ab.device_peak(prec)
    with err_console.status(f"ablate order L={length:,}") as status:
        def on_step(text):
            status.update(f"ablate order L={length:,}: {text}")
        try:
            measured = ab.run_orders(length, orders, dtype=dtype, precision=precision, rows=rows,
                                     repeat=repeat, peak=peak, on_step=on_step)
        except Exception as e:
            raise click.ClickException(f"L={length}: {type(e).__name__}: {e}") from None
    ran = [r for r in measured if r["impl"] == causal.OURS and "error" not in r]
    if not ran:
        msgs = "; ".join(f"order {r['order']}: {r['error']}" for r in measured if "error" in r)
        if all(r.get("inadmissible") for r in measured if r["impl"] == causal.OURS):
            raise click.UsageError(f"no order is admitted for L={length:,} on {gpu}: {msgs}")
        raise click.ClickException(msgs)

    tol = tolerance(prec, causal.fft_size(length, length))
    used_rows = ran[0]["rows"]
    title = (f"Monarch order ablation: causal L={length:,} (K = L), {used_rows:,} rows, {dtype} "
             f"({prec}) on {gpu}; peak {ab.describe_peak(peak)}")
    _print_table(measured, title, tol)
    text, ok = _summary(measured, tol)
    console().print(text, style=None if ok else "bold red")

    if json_path:
        from ..bench import report
        report.write_json(json_path, {
            "gpu": gpu, "peak": peak,
            "config": {"workload": "causal", "length": length, "kernel_len": length,
                       "orders": orders, "dtype": dtype, "precision": prec, "rows": rows,
                       "repeat": repeat},
            "tolerance": tol, "rows": measured, "summary": text, "ok": ok})
    if plot_path:
        ab.plot(plot_path, measured, title=f"Monarch order, causal L={length:,}, {dtype}, {gpu}")
    if not ok:
        ctx.exit(1)


def _summary(measured, tol) -> tuple[str, bool]:
    """One line: the fastest order against cupyx, and what failed; (text, ok)."""
    from ..bench.causal import OURS
    ours = [r for r in measured if r["impl"] == OURS and "error" not in r]
    failed = [r for r in measured if "error" in r and not r.get("inadmissible")]
    best = min(ours, key=lambda r: r["ms"])
    parts = [f"fastest: order {best['order']} ({best['factors']}, {best['ms']:.3f} ms"]
    if best.get("speedup") is not None:
        parts[0] += f", {best['speedup']:.2f}x faster than cupyx"
    if best.get("memory_saving") is not None:
        parts[0] += f", {best['memory_saving']:.2f}x less memory"
    parts[0] += f", {100 * best['flop_util']:.1f}% of peak FLOP/s)"
    bad = [r for r in ours if not (r["rel_err"] <= tol)]
    if bad:
        parts.append(f"FAIL: rel. error above {tol:.0e} at order "
                     + ",".join(str(r["order"]) for r in bad))
    else:
        parts.append(f"rel. error {max(r['rel_err'] for r in ours):.1e} <= {tol:.0e}")
    if failed:
        parts.append("FAILED: " + ", ".join(
            "cupyx" if r["order"] is None else f"order {r['order']}" for r in failed))
    return "ablation: " + "; ".join(parts), not bad and not failed


def _print_table(measured, title, tol):
    from rich.table import Table

    from ..bench.ablate import BASELINE
    from ..bench.report import short_name
    t = Table(title=title, title_justify="left")
    t.add_column("order", justify="right")
    t.add_column("factors")
    t.add_column("passes", justify="right")
    t.add_column("median ms (p10–p90)", justify="right")
    t.add_column("vs cupyx", justify="right")
    t.add_column("peak MB", justify="right")
    t.add_column("memory saving", justify="right")
    t.add_column("FLOP util.", justify="right")
    t.add_column("rel. error", justify="right")

    def ratio(v):
        return "—" if v is None else f"{v:.2f}×"
    for r in measured:
        if r["impl"] == BASELINE:
            continue
        if "error" in r:
            word = "not admitted" if r.get("inadmissible") else "FAILED"
            t.add_row(str(r["order"]), f"[red]{word}: {r['error']}[/red]", *["—"] * 7)
            continue
        err = f"{r['rel_err']:.1e}"
        if not (r["rel_err"] <= tol):
            err = f"[red]{err}[/red]"
        t.add_row(str(r["order"]), r["factors"], str(r["passes"]),
                  f"{r['ms']:.3f} ({r['p10']:.3f}–{r['p90']:.3f})", ratio(r.get("speedup")),
                  f"{r['peak_mb']:,.1f}", ratio(r.get("memory_saving")),
                  f"{100 * r['flop_util']:.1f}%", err)
    base = next((r for r in measured if r["impl"] == BASELINE), None)
    if base is not None:
        t.add_section()
        name = short_name(BASELINE)
        if "error" in base:
            t.add_row("", f"[red]{name}: FAILED {base['error']}[/red]", *["—"] * 7)
        else:
            t.add_row("", f"{name} (baseline)", "—",
                      f"{base['ms']:.3f} ({base['p10']:.3f}–{base['p90']:.3f})", "1.00×",
                      f"{base['peak_mb']:,.1f}", "1.00×", "—", f"{base['rel_err']:.1e}")
    console().print(t)


class CommaList(click.ParamType):
    """Comma-separated values converted by `item` (a callable raising ValueError)."""

    def __init__(self, name, item, what):
        self.name, self.item, self.what = name, item, what

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        out = []
        for s in str(value).split(","):
            try:
                v = self.item(s.strip())
            except ValueError as e:
                self.fail(f"{s.strip()!r}: {e} ({self.what})", param, ctx)
            if v not in out:
                out.append(v)
        return out


def _pattern(s):
    from ..plan.sparsity import PATTERNS
    if s not in PATTERNS:
        raise ValueError(f"not one of {', '.join(PATTERNS)}")
    return s


def _density(s):
    d = float(s)
    if not 0 < d <= 1:
        raise ValueError("outside (0, 1]")
    return d


def _length(s):
    from ..bench.causal import parse_len
    return parse_len(s)


@ablate.command("sparsity")
@click.option("--len", "lengths", type=CommaList("N,N,...", _length, "lengths: 8K,64K,1M"),
              required=True, help="Signal lengths L, comma-separated (K = L; 8K,64K,1M).")
@click.option("--patterns", type=CommaList("P,P,...", _pattern, "uniform, block, random"),
              default="uniform,block,random", show_default=True,
              help="Sparsity patterns: uniform (lowest frequencies), block (classes of the "
                   "decomposition), random.")
@click.option("--density", "densities", type=CommaList("D,D,...", _density, "fractions in (0, 1]"),
              default="0.5,0.25,0.1", show_default=True,
              help="Fractions of the spectrum kept, comma-separated.")
@click.option("--rows", type=click.IntRange(min=1), default=None,
              help="Timed signal rows (default: from L, at most 4096).")
@click.option("--repeat", type=click.IntRange(min=1), default=20, show_default=True,
              help="Timed calls per plan (after 3 warm-up calls).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random masks and data.")
@click.option("--json", "json_path", type=OutputPath(), default=None,
              help="Write the configuration, GPU and every row to this JSON file.")
@click.option("--plot", "plot_path", type=OutputPath(), default=None,
              help="Speedup and SNR vs dense per pattern and density, to this PNG.")
@click.pass_context
def sparsity_cmd(ctx, lengths, patterns, densities, rows, repeat, seed, json_path, plot_path):
    """Frequency-sparse causal convolutions against the dense plan of the same size.

    Per length, pattern and density: the fraction of spectrum bins kept, what the
    generated kernel skips (kept classes / grain, or nothing), median ms and speedup
    vs dense, the SNR (dB) and rel. L2 difference of the sparse output from the dense
    one on synthesized chirps, 1/f noise, speech-like and radar-like signals (what
    the mask throws away), the error against the float64 masked oracle (that the
    kernel is right), and device memory.
    """
    from ..bench import causal
    from ..bench import sparsity as sb
    _check_matplotlib(plot_path)
    from ..runtime import device
    if not device.gpu_available():
        click.echo(NO_DEVICE, err=True)
        ctx.exit(2)
    from ..plan.support import tolerance
    gpu = causal.device_name()
    with console(stderr=True).status("ablate sparsity") as status:
        try:
            measured = sb.run_sparsity(lengths, patterns, densities, rows=rows, repeat=repeat,
                                       seed=seed, on_step=lambda t: status.update(f"ablate sparsity {t}"))
        except Exception as e:
            raise click.ClickException(f"{type(e).__name__}: {e}") from None
    tol = tolerance("fp32", 0)
    _print_sparsity(measured, f"Frequency-sparse causal convolution (K = L, float32) on {gpu}", tol)
    bad = [r for r in measured if r.get("oracle_err", 0.0) > tol]
    text = (f"sparsity: {sum(r['pattern'] != 'dense' for r in measured)} plans; "
            + (f"FAIL: error vs the masked oracle above {tol:.0e} for "
               + ", ".join(f"L={r['length']} {r['pattern']} {r['density']:g}" for r in bad)
               if bad else f"error vs the masked oracle <= {tol:.0e} everywhere"))
    console().print(text, style="bold red" if bad else None)
    if json_path:
        from ..bench import report
        report.write_json(json_path, {
            "gpu": gpu, "config": {"workload": "causal", "lengths": lengths, "patterns": patterns,
                                   "densities": densities, "rows": rows, "repeat": repeat,
                                   "seed": seed, "signals": list(sb.SIGNALS)},
            "tolerance": tol, "rows": measured, "summary": text, "ok": not bad})
    if plot_path:
        sb.plot(plot_path, measured, title=f"Frequency-sparse causal convolution, {gpu}")
    if bad:
        ctx.exit(1)


def _print_sparsity(measured, title, tol):
    from rich.table import Table

    from ..bench.sparsity import SIGNALS
    t = Table(title=title, title_justify="left")
    for name in ("L", "pattern", "density", "kept", "skips", "median ms", "vs dense",
                 *[f"SNR {s} dB" for s in SIGNALS], "vs oracle", "peak MB"):
        t.add_column(name, justify="left" if name in ("pattern", "skips") else "right")
    last = None
    for r in measured:
        if last is not None and r["length"] != last:
            t.add_section()
        last = r["length"]
        if r["pattern"] == "dense":
            t.add_row(f"{r['length']:,}", "dense", "1", "1.000", "—", f"{r['ms']:.3f}", "1.00×",
                      *["—"] * len(SIGNALS), "—", f"{r['peak_mb']:,.1f}")
            continue
        err = f"{r['oracle_err']:.1e}"
        if r["oracle_err"] > tol:
            err = f"[red]{err}[/red]"
        t.add_row(f"{r['length']:,}", r["pattern"], f"{r['density']:g}", f"{r['kept']:.3f}",
                  r["sparse"] or "nothing", f"{r['ms']:.3f}", f"{r['speedup']:.2f}×",
                  *[f"{r[f'snr_{s}']:.1f}" for s in SIGNALS], err, f"{r['peak_mb']:,.1f}")
    console().print(t)
