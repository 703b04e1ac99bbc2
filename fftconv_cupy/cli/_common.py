"""Shared pieces of the CLI: parameter types, the plan options, formatting."""
from __future__ import annotations

import json

import click

from ..bench.causal import parse_len
from ..plan.support import ORDERS, PRECISIONS

MODES = ("causal", "full", "same", "valid")
DTYPES = ("float32", "float64", "complex64", "complex128")
PRECISION_CHOICES = ("auto", *PRECISIONS)
LAYOUTS = ("fused", "three_pass")


class OutputPath(click.Path):
    """A file a command writes: its directory must exist and be writable, checked before any
    work is done (a benchmark should not run for minutes and then fail to save)."""

    def __init__(self):
        super().__init__(dir_okay=False, writable=True)

    def convert(self, value, param, ctx):
        import os
        path = super().convert(value, param, ctx)
        parent = os.path.dirname(os.path.abspath(os.fspath(path)))
        if not os.path.isdir(parent):
            self.fail(f"directory {parent!r} does not exist", param, ctx)
        if not os.access(parent, os.W_OK):
            self.fail(f"directory {parent!r} is not writable", param, ctx)
        return path


class LengthType(click.ParamType):
    """A positive length: 4096, 64K, 1M (K = 1024, M = 1024**2)."""
    name = "N"

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                self.fail(f"length must be positive, got {value}", param, ctx)
            return value
        try:
            return parse_len(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


LENGTH = LengthType()


def order_option(f):
    return click.option("--order", type=click.IntRange(min(ORDERS), max(ORDERS)), default=None,
                        help="Monarch order: number of radix stages (default: the fewest).")(f)


def precision_option(f):
    return click.option("--precision", type=click.Choice(PRECISION_CHOICES), default="auto",
                        show_default=True,
                        help="Arithmetic of the kernel; auto follows the dtype.")(f)


def plan_options(f):
    """--len --kernel-len --dtype --precision --order --mode --layout (plan and render)."""
    decorators = [
        click.option("--len", "length", type=LENGTH, required=True,
                     help="Signal length L (4096, 64K, 1M; K = 1024, M = 1024**2)."),
        click.option("--kernel-len", "kernel_len", type=LENGTH, default=None,
                     help="Kernel length K (default: L)."),
        click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
                     help="Data type of signal and kernel."),
        precision_option,
        order_option,
        click.option("--mode", type=click.Choice(MODES), default="causal", show_default=True,
                     help="causal: outputs [0, L); full/same/valid: SciPy's windows."),
        click.option("--layout", type=click.Choice(LAYOUTS), default=None,
                     help="Force a layout (default: the planner's choice)."),
    ]
    for d in reversed(decorators):
        f = d(f)
    return f


def window(mode: str, length: int, kernel_len: int) -> tuple[int, int]:
    """(start, len) of the requested outputs in the full linear convolution."""
    from ..bench.causal import window as bench_window
    try:
        return bench_window(mode, length, kernel_len)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--mode") from None


def planner_limits() -> tuple[dict, str]:
    """make_plan's device keywords (shared memory per block, clusters), and where they come from."""
    from ..plan.support import DEFAULT_SMEM_BYTES
    from ..runtime import device
    if device.gpu_available():
        try:
            return device.planner_limits(), "device"
        except Exception:
            pass
    return {"smem_limit": DEFAULT_SMEM_BYTES, "clusters": True}, "sm_90 default"


def build_plan(length, kernel_len, dtype, precision, order, mode, layout=None):
    """The plan `fftconv_cupy` would choose for this problem, and a dict describing the problem."""
    import numpy as np

    from ..api import _precision_for
    from ..errors import UnsupportedPlanError
    from ..plan.plan import make_plan
    K = length if kernel_len is None else kernel_len
    start, out_len = window(mode, length, K)
    dt = np.dtype(dtype)
    try:
        prec = _precision_for(dt, precision)
    except (UnsupportedPlanError, ValueError) as e:
        raise click.BadParameter(str(e), param_hint="--precision") from None
    limits, limit_src = planner_limits()
    try:
        plan = make_plan(length, K, start, out_len, real=dt.kind != "c", precision=prec,
                     order=order, layout=layout, **limits)
    except (UnsupportedPlanError, ValueError) as e:
        raise click.UsageError(f"no plan for L={length}, K={K}, mode={mode}, {dtype}, {prec}"
                               + (f", order {order}" if order else "")
                               + (f", layout {layout}" if layout else "") + f": {e}") from None
    problem = {"len": length, "kernel_len": K, "mode": mode, "dtype": dt.name, "precision": prec,
               "real": dt.kind != "c", "out_start": start, "out_len": out_len,
               "smem_limit": limits["smem_limit"], "smem_limit_source": limit_src}
    return plan, problem


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, default=_json_default))


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def fmt_bytes(n: float) -> str:
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} TiB"


def fmt_seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1:
        return f"{s * 1e3:.3f} ms"
    return f"{s:.3f} s"


def fmt_count(n: float, unit: str) -> str:
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {prefix}{unit}"
    return f"{n:.0f} {unit}"


def cuda_version(v) -> str | None:
    """13020 -> '13.2'; None or 0 (no driver) -> None."""
    if not v:
        return None
    return f"{v // 1000}.{(v % 1000) // 10}"


def config_or_usage_error():
    from ..config import get_config
    try:
        return get_config()
    except ValueError as e:
        raise click.UsageError(f"bad environment: {e}") from None


def console(stderr: bool = False):
    """A rich Console on the current stdout/stderr (created per call: CliRunner swaps the streams)."""
    import os
    import sys

    from rich.console import Console
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not os.environ.get("COLUMNS") and not getattr(stream, "isatty", lambda: False)():
        width = 160          # piped or captured: do not squeeze tables into 80 columns
    return Console(file=stream, width=width, highlight=False, soft_wrap=False)
