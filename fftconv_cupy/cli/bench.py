"""fftconv-cli bench: the convolution benchmark against its peers (CuPy, torch).

Modes: causal (outputs [0, L)) and SciPy's full / same / valid windows, with a
kernel of K samples (--kernel-len, default K = L).
"""
from __future__ import annotations

import click

from ._common import LENGTH, MODES, OutputPath, console, order_option, precision_option

NO_DEVICE = "fftconv-cli bench: no CUDA device found"

# --mode choices: every benchmarked mode
BENCH_MODE_CHOICES = tuple(dict.fromkeys((*MODES, "circular")))


def _dtype_for(dtype, precision):
    """The benchmark's real dtype: the kernels read and write the precision's own I/O type."""
    from ..plan.support import PRECISIONS
    if dtype is None:
        return PRECISIONS[precision].io_real if precision != "auto" else "float32"
    if precision != "auto" and PRECISIONS[precision].io_real != dtype:
        raise click.BadParameter(
            f"--precision {precision} reads and writes {PRECISIONS[precision].io_real} data; "
            f"the benchmark does not convert, so use --dtype {PRECISIONS[precision].io_real} "
            f"(or --precision auto)", param_hint="--precision")
    return dtype


def _check_plans(lengths, kernel_len, mode, dtype, precision, order, layout):
    from ..bench.causal import bench_plan
    from ..errors import UnsupportedPlanError
    for L in lengths:
        K = L if kernel_len is None else kernel_len
        try:
            bench_plan(L, K, mode, dtype=dtype, precision=precision, order=order, layout=layout)
        except (UnsupportedPlanError, ValueError) as e:
            if order is not None and "order" in str(e):
                hint = "--order"
            elif kernel_len is not None and ("kernel" in str(e) or kernel_len > L):
                hint = "--kernel-len"
            else:
                hint = "--len"
            raise click.BadParameter(f"no {mode} plan for L={L}, K={K}: {e}",
                                     param_hint=hint) from None


@click.command()
@click.option("--len", "length", type=LENGTH, default=None,
              help="Signal length L (default 1M; 64K, 1M: K = 1024, M = 1024**2).")
@click.option("--sweep", is_flag=True, help="Every power of two from 128 to 4M instead of one length.")
@click.option("--kernel-len", "kernel_len", type=LENGTH, default=None,
              help="Kernel length K (default: K = L; 4096, 64K, 1M).")
@click.option("--mode", type=click.Choice(BENCH_MODE_CHOICES), default="causal", show_default=True,
              help="Outputs of the linear convolution (length L+K-1): causal [0, L); SciPy's "
                   "full [0, L+K-1), same [(K-1)//2, (K-1)//2+L), valid [K-1, L). "
                   "circular: the size-L circular convolution (K <= L).")
@click.option("--dtype", type=click.Choice(("float32", "float64")), default=None,
              help="Data type (default float32, or the --precision's own type).")
@precision_option
@order_option
@click.option("--layout", type=click.Choice(("fused", "three_pass")), default=None,
              help="Force a plan layout.")
@click.option("--rows", type=click.IntRange(min=1), default=None,
              help="Signal rows (default: from max(L, K), about 1 GiB of signal at L >= 64K).")
@click.option("--repeat", type=click.IntRange(min=1), default=20, show_default=True,
              help="Timed calls per implementation (after 3 warm-up calls).")
@click.option("--peers/--no-peers", default=True, show_default=True,
              help="Also time cupyx.scipy.signal.fftconvolve, cupy rfft-mul-irfft and, when torch "
                   "is importable, torch.fft rfft-mul-irfft.")
@click.option("--json", "json_path", type=OutputPath(), default=None,
              help="Write every measurement to this JSON file.")
@click.option("--csv", "csv_path", type=OutputPath(), default=None,
              help="Write every measurement to this CSV file.")
@click.option("--plot", "plot_path", type=OutputPath(), default=None,
              help="Plot time / floor vs L to this PNG (needs matplotlib).")
@click.pass_context
def bench(ctx, length, sweep, kernel_len, mode, dtype, precision, order, layout, rows, repeat, peers,
          json_path, csv_path, plot_path):
    """Time one window of the convolution x * k (x: rows x L, k: one K-sample row per channel).

    causal: y = (x * k)[:L]; full, same, valid: SciPy's windows; circular: the size-L
    circular convolution (cupyx has none, so the cuFFT and torch peers only).
    """
    from ..bench import causal, report
    if mode not in causal.BENCH_MODES:
        raise click.BadParameter(f"mode {mode!r} is not benchmarked; use one of "
                                 + ", ".join(causal.BENCH_MODES), param_hint="--mode")
    if sweep and length is not None:
        raise click.UsageError("--len and --sweep are exclusive: --sweep runs 128..4M")
    lengths = list(causal.SWEEP_LENGTHS) if sweep else [length or (1 << 20)]
    dtype = _dtype_for(dtype, precision)
    if plot_path:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise click.UsageError("--plot needs matplotlib: pip install 'fftconv-cupy[plot]'") from None
    _check_plans(lengths, kernel_len, mode, dtype, precision, order, layout)

    def klen(L):
        return L if kernel_len is None else kernel_len

    from ..runtime import device
    if not device.gpu_available():
        click.echo(NO_DEVICE, err=True)
        ctx.exit(2)

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..api import _precision_for
    from ..plan.support import tolerance
    err_console = console(stderr=True)
    with err_console.status("measuring device copy bandwidth"):
        bw = causal.copy_bandwidth()
    gpu = causal.device_name()
    measured, failed, errors = [], [], {}
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err_console, transient=True) as progress:
        task = progress.add_task("bench", total=len(lengths))
        for L in lengths:
            def on_impl(name, L=L):
                progress.update(task, description=f"{mode} L={L:>8} K={klen(L)} {report.short_name(name)}")
            try:
                measured.extend(causal.run_length(L, bw, dtype=dtype, precision=precision,
                                                  peers=peers, order=order, layout=layout,
                                                  repeat=repeat, rows=rows, on_impl=on_impl,
                                                  mode=mode, klen=klen(L)))
            except Exception as e:  # a failed length is reported and the sweep goes on; exit status 1
                failed.append(L)
                errors[L] = f"{type(e).__name__}: {e}"
            progress.advance(task)
    if not measured:
        raise click.ClickException("; ".join(f"L={L}: {m}" for L, m in errors.items()))

    prec = _precision_for(dtype, precision)
    tol = max(tolerance(prec, causal.fft_size(L, klen(L))) for L in lengths)
    text, ok = report.verdict(measured, tol, failed)
    title = report.problem_title(mode, kernel_len)
    _print_table(measured, errors, gpu, bw, dtype, prec, tol, title)
    console().print(text, style=None if ok else "bold red")

    dict_rows = causal.as_dicts(measured) + [
        {"mode": mode, "length": L, "kernel_len": klen(L), "dtype": dtype, "error": m}
        for L, m in errors.items()]
    if json_path:
        # kernel_len: K of every length (null in a sweep without --kernel-len: K = L at each)
        config_k = kernel_len if kernel_len is not None else (None if sweep else lengths[0])
        report.write_json(json_path, {
            "gpu": gpu, "copy_bandwidth": bw,
            "config": {"mode": mode, "lengths": lengths, "kernel_len": config_k, "dtype": dtype,
                       "precision": prec, "order": order, "layout": layout, "rows": rows,
                       "repeat": repeat, "peers": peers},
            "implementations": report.implementations(measured),
            "tolerance": tol, "rows": dict_rows, "verdict": text, "ok": ok})
    if csv_path:
        report.write_csv(csv_path, dict_rows)
    if plot_path:
        report.plot(plot_path, measured, title=f"{title}, {dtype}, {gpu}")
    if not ok:
        ctx.exit(1)


def _print_table(measured, errors, gpu, bw, dtype, prec, tol, title="causal convolution, K = L"):
    from rich.table import Table

    from ..bench import report
    impls = report.implementations(measured)
    peers = [i for i in impls if i != report.OURS]
    ups = report.speedups(measured)
    t = Table(title=f"{title}, {dtype} ({prec}) on {gpu}, copy {bw / 1e12:.2f} TB/s",
              title_justify="left")
    t.add_column("L", justify="right")
    t.add_column("K", justify="right")
    t.add_column("outputs", justify="right")
    t.add_column("rows", justify="right")
    t.add_column("implementation")
    t.add_column("median ms (p10–p90)", justify="right")
    t.add_column("GB/s", justify="right")
    t.add_column("× floor", justify="right")
    for p in peers:
        t.add_column(f"vs {report.short_name(p)}", justify="right")
    t.add_column("rel. error", justify="right")
    t.add_column("peak MB", justify="right")
    first = True
    for L, d in report.by_length(measured).items():
        if not first:
            t.add_section()
        first = False
        for i, (impl, r) in enumerate(d.items()):
            sp = ups[(L, impl)]
            cells = [f"{L:,}" if i == 0 else "", f"{r.kernel_len:,}" if i == 0 else "",
                     f"{r.out_len:,}" if i == 0 else "", f"{r.rows:,}" if i == 0 else "",
                     report.short_name(impl) if impl != report.OURS else f"[bold]{impl}[/bold]",
                     f"{r.ms:.3f} ({r.p10:.3f}–{r.p90:.3f})", f"{r.gbps:,.0f}", f"{r.ratio:.2f}"]
            for p in peers:
                cells.append("—" if p == impl or p not in sp else f"{sp[p]:.2f}×")
            err = f"{r.rel_err:.1e}"
            if impl == report.OURS and not (r.rel_err <= tol):
                err = f"[red]{err}[/red]"
            cells += [err, f"{r.peak_mb:,.1f}"]
            t.add_row(*cells)
    out = console()
    out.print(t)
    for L, m in errors.items():
        out.print(f"[red]L={L:,}: FAILED {m}[/red]")

