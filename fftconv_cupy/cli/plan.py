"""fftconv-cli plan / render: the plan the library would choose, and its CUDA."""
from __future__ import annotations

import re
import time

import click

from ._common import (OutputPath, build_plan, config_or_usage_error, console, echo_json, fmt_bytes,
                      fmt_count, fmt_seconds, plan_options)

_ARCH_RE = re.compile(r"sm_(\d+)[af]?")


def plan_report(plan, problem: dict, rows: int, channels: int, bandwidth_tbs: float) -> dict:
    bw = bandwidth_tbs * 1e12
    hbm = plan.hbm_bytes(rows, channels)
    io = plan.io_bytes(rows)
    flops = plan.flops(rows)
    d = plan.as_dict()
    d.update(vec_in=plan.vec_in, vec_out=plan.vec_out, min_blocks=list(plan.min_blocks))
    return {
        "problem": dict(problem, rows=rows, channels=channels),
        "describe": plan.describe(),
        "plan": d,
        "cost": {
            "rows": rows, "channels": channels, "flops": flops, "io_bytes": io, "hbm_bytes": hbm,
            "flops_per_byte": flops / hbm, "bandwidth_tbs": bandwidth_tbs,
            "floor_s": hbm / bw, "io_floor_s": io / bw,
        },
    }


@click.command("plan")
@plan_options
@click.option("--rows", type=click.IntRange(min=1), default=1, show_default=True,
              help="Signal rows (batch x channels) the costs are for.")
@click.option("--channels", type=click.IntRange(min=1), default=1, show_default=True,
              help="Distinct kernels (spectra read from memory).")
@click.option("--bandwidth", type=click.FloatRange(min=0, min_open=True), default=3.0,
              show_default=True, metavar="TB/s", help="Assumed memory bandwidth for the floor.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan_cmd(length, kernel_len, dtype, precision, order, mode, layout, rows, channels, bandwidth,
             as_json):
    """Show the plan chosen for one 1-D convolution: layout, factors, launch shape, costs."""
    config_or_usage_error()
    if rows % channels:
        raise click.BadParameter(f"--rows {rows} is not a multiple of --channels {channels}",
                                 param_hint="--rows")
    plan, problem = build_plan(length, kernel_len, dtype, precision, order, mode, layout)
    rep = plan_report(plan, problem, rows, channels, bandwidth)
    if as_json:
        echo_json(rep)
        return
    from rich.table import Table
    p, c = rep["problem"], rep["cost"]
    t = Table(title=rep["describe"], title_justify="left", show_header=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("problem", f"L={p['len']:,} K={p['kernel_len']:,} mode={p['mode']} {p['dtype']} "
                         f"-> {p['precision']} ({'real' if p['real'] else 'complex'})")
    t.add_row("outputs", f"[{p['out_start']:,}, {p['out_start'] + p['out_len']:,}) "
                         f"of the full convolution ({p['out_len']:,} per row)")
    t.add_row("FFT size", f"n={plan.n:,}, complex transform m={plan.m:,}")
    t.add_row("layout", f"{plan.layout} ({plan.passes} pass{'es' if plan.passes > 1 else ''})")
    if plan.col is None:
        t.add_row("factors", " x ".join(map(str, plan.row.radices)))
    else:
        t.add_row("factors", f"b={plan.b:,} [{' x '.join(map(str, plan.col.radices))}] "
                             f"x a={plan.a:,} [{' x '.join(map(str, plan.row.radices))}]")
    t.add_row("order", str(plan.order))
    if plan.prec.mma:
        tfs = [plan.row] + ([plan.col] if plan.col is not None else [])
        tc = sum(sum(plan.tc_stages(tf)) for tf in tfs)
        t.add_row("tensor cores", f"{tc} of {sum(len(tf.radices) for tf in tfs)} stages per direction "
                                  f"({plan.prec.unit}, {plan.mma_terms} products)")
    rt, rs = plan.row_block
    rb, cb = plan.min_blocks
    kind = "fused" if plan.layout == "fused" else "row (middle pass)"
    middle = ", product between stages in registers" if plan.fused_middle or plan.middle_rows else ""
    ends = ", first/last stage on global memory" if plan.direct_rows else ""
    t.add_row(f"{kind} kernel", f"{rt} threads, {fmt_bytes(rs)} shared memory, "
                                f"{plan.groups if plan.layout == 'fused' else 2} rows/block, "
                                f">= {rb} blocks/SM{middle}{ends}")
    if plan.col is not None:
        ct, cs = plan.col_block
        direct = ", first/last stage on global memory" if plan.direct_columns else ""
        t.add_row("column kernels", f"{ct} threads, {fmt_bytes(cs)} shared memory, "
                                    f"{plan.groups} columns/block, >= {cb} blocks/SM{direct}")
    tables = plan.stage_tables
    if tables:
        powers = sum(len(plan.table_exponents(r, ns)) < r for r, ns in tables)
        size = sum(ns * plan.table_width(r, ns) for r, ns in tables) * plan.elem_bytes
        t.add_row("twiddle tables", f"{len(tables)} stage tables, {fmt_bytes(size)} in all; {powers} of "
                  f"them powers of two only (above {fmt_bytes(plan.full_table_bytes)})")
    cost = plan.row_bank_cost
    t.add_row("shared-memory banks", f"row stride {plan.row_stride}, stage accesses "
              + ("not modelled" if cost is None else f"{cost:.2f}x the conflict-free wavefronts (model)"))
    t.add_row("vector width", f"in {plan.vec_in}, out {plan.vec_out}")
    t.add_row("smem limit", f"{fmt_bytes(p['smem_limit'])} ({p['smem_limit_source']})")
    t.add_row(f"FLOPs ({rows:,} row{'s' if rows > 1 else ''})", fmt_count(c["flops"], "FLOP"))
    t.add_row("I/O bytes (x + y)", fmt_bytes(c["io_bytes"]))
    t.add_row("HBM bytes", f"{fmt_bytes(c['hbm_bytes'])} ({c['flops_per_byte']:.2f} FLOP/B)")
    t.add_row(f"floor @ {bandwidth:g} TB/s", f"{fmt_seconds(c['floor_s'])} "
                                              f"(I/O only: {fmt_seconds(c['io_floor_s'])})")
    console().print(t)


def _check_arch(ctx, param, value):
    m = _ARCH_RE.fullmatch(value)
    if not m:
        raise click.BadParameter(f"{value!r} does not look like sm_90 (sm_<major><minor>)")
    from ..codegen.nvrtc import supported_archs
    archs = supported_archs()
    if archs and int(m.group(1)) not in archs:
        raise click.BadParameter(f"NVRTC cannot target {value}; it supports "
                                 + ", ".join(f"sm_{a}" for a in archs))
    return value


@click.command()
@plan_options
@click.option("-o", "--output", type=OutputPath(), default=None,
              help="Write the CUDA source to FILE instead of printing it.")
@click.option("--compile", "do_compile", is_flag=True,
              help="Also compile the source with NVRTC and report cubin size and compile time.")
@click.option("--arch", default="sm_90", show_default=True, callback=_check_arch,
              help="Target of --compile.")
@click.option("--cubin", type=OutputPath(), default=None,
              help="With --compile: write the cubin to FILE.")
def render(length, kernel_len, dtype, precision, order, mode, layout, output, do_compile, arch,
           cubin):
    """Print (or write) the generated CUDA for a plan; optionally compile it."""
    from ..codegen.source import render_plan
    config_or_usage_error()             # the renderer reads the environment's knobs
    if cubin and not do_compile:
        raise click.UsageError("--cubin needs --compile")
    if do_compile:
        from ..codegen.nvrtc import nvrtc_available
        if not nvrtc_available():
            raise click.UsageError("--compile needs NVRTC, which cannot be loaded here: install "
                                   "the nvidia-cuda-nvrtc wheel or a CUDA toolkit")
    plan, _ = build_plan(length, kernel_len, dtype, precision, order, mode, layout)
    src = render_plan(plan)
    if output:
        with open(output, "w") as f:
            f.write(src.code)
        click.echo(f"wrote {output} ({len(src.code.splitlines())} lines, entries: "
                   f"{', '.join(src.entries)}) for {plan.describe()}")
    else:
        click.echo(src.code, nl=not src.code.endswith("\n"))
    if do_compile:
        from ..codegen.nvrtc import compile_cubin
        from ..errors import FFTConvCompileError
        t0 = time.perf_counter()
        try:
            blob = compile_cubin(src.code, arch=arch, options=src.options, plan=src.plan)
        except FFTConvCompileError as e:
            raise click.ClickException(str(e)) from None
        dt = time.perf_counter() - t0
        if cubin:
            with open(cubin, "wb") as f:
                f.write(blob)
        # with the source on stdout, keep stdout pure CUDA
        click.echo(f"compiled for {arch}: cubin {len(blob):,} bytes in {dt:.2f} s"
                   + (f", written to {cubin}" if cubin else ""), err=not output)
