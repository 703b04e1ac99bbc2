"""fftconv-cli verify: random problems against scipy.signal.fftconvolve."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import click
import numpy as np

from ._common import config_or_usage_error, console

VERIFY_DTYPES = ("float32", "float64", "complex64", "complex128", "int32", "int64")
SCIPY_MODES = ("full", "same", "valid")


@dataclass
class Case:
    index: int
    shape1: tuple
    shape2: tuple
    dtype1: str
    dtype2: str
    mode: str
    axes: object            # None, an int or a list of ints
    out: str = ""
    precision: str = ""
    n: int = 0
    rel_err: float = float("nan")
    tol: float = float("nan")
    error: str = ""
    ok: bool = False
    extra: dict = field(default_factory=dict)


def _draw_case(rng: np.random.Generator, index: int) -> Case:
    ndim = int(rng.integers(1, 4))
    mode = str(rng.choice(SCIPY_MODES))
    r = rng.random()
    if r < 0.2:
        axes, conv = None, list(range(ndim))
    elif r < 0.8 or ndim == 1:
        ax = int(rng.integers(-ndim, ndim))
        axes, conv = ax, [ax % ndim]
    else:
        k = int(rng.integers(1, ndim + 1))
        conv = sorted(int(a) for a in rng.choice(ndim, size=k, replace=False))
        axes = [a - ndim if rng.random() < 0.3 else a for a in conv]
    long_1d = len(conv) == 1 and rng.random() < 0.1       # sometimes a three-pass plan
    cap = {1: 20000 if long_1d else 1500, 2: 48, 3: 12}[len(conv)]
    s1, s2 = [], []
    for a in range(ndim):
        if a in conv:
            s1.append(int(rng.integers(1, cap + 1)))
            s2.append(int(rng.integers(1, (cap if rng.random() < 0.5 else max(4, cap // 8)) + 1)))
        else:
            b = int(rng.integers(1, 4))
            one = rng.random()
            # 'same' crops non-convolved axes to in1 (scipy/scipy#21876): keep in1 full there
            if one < 0.25 and mode != "same":
                s1.append(1), s2.append(b)
            elif one < 0.5:
                s1.append(b), s2.append(1)
            else:
                s1.append(b), s2.append(b)
    if mode == "valid":   # one operand at least as large as the other on every convolved axis
        big, small = (s1, s2) if rng.random() < 0.7 else (s2, s1)
        for a in conv:
            if big[a] < small[a]:
                big[a], small[a] = small[a], big[a]
    d1, d2 = (str(d) for d in rng.choice(VERIFY_DTYPES, size=2))
    if rng.random() < 0.5:      # half the cases keep one dtype (else most results promote to 64 bits)
        d2 = d1
    return Case(index, tuple(s1), tuple(s2), d1, d2, mode, axes)


def _array(rng, shape, dtype):
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        return rng.integers(-50, 51, size=shape).astype(dt)
    a = rng.standard_normal(shape)
    if dt.kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dt)


def run_case(case: Case, rng) -> Case:
    import scipy.signal as ss

    from .. import fftconvolve
    from ..plan.support import tolerance
    in1 = _array(rng, case.shape1, case.dtype1)
    in2 = _array(rng, case.shape2, case.dtype2)
    try:
        expected = ss.fftconvolve(in1, in2, mode=case.mode, axes=case.axes)
        hi = np.complex128 if np.iscomplexobj(expected) else np.float64
        ref = ss.fftconvolve(in1.astype(hi), in2.astype(hi), mode=case.mode, axes=case.axes)
        y = np.asarray(fftconvolve(in1, in2, mode=case.mode, axes=case.axes))
        case.out = _short(y.dtype.name, y.shape)
        case.precision = "fp32" if y.dtype in (np.float32, np.complex64) else "fp64"
        axes = range(in1.ndim) if case.axes is None else np.atleast_1d(case.axes) % in1.ndim
        case.n = math.prod(case.shape1[a] + case.shape2[a] - 1 for a in sorted(set(axes)))
        case.tol = tolerance(case.precision, case.n)
        problems = []
        if y.shape != expected.shape:
            problems.append(f"shape {y.shape} != SciPy's {expected.shape}")
        if y.dtype != expected.dtype:
            problems.append(f"dtype {y.dtype} != SciPy's {expected.dtype}")
        if y.shape == ref.shape:
            diff = np.linalg.norm((y.astype(np.complex128) - ref).ravel())
            scale = np.linalg.norm(ref.ravel())
            case.rel_err = float(diff / scale) if scale > 0 else float(diff)
            if not case.rel_err <= case.tol:
                problems.append(f"rel. error {case.rel_err:.1e} above {case.tol:.0e}")
        case.error = "; ".join(problems)
        case.ok = not problems
    except Exception as e:   # a crash is a failed case, reported in the table
        case.error = f"{type(e).__name__}: {e}"
        case.ok = False
    return case


def _short(dtype: str, shape) -> str:
    """'complex64', (3, 4) -> 'c64[3,4]'."""
    dt = np.dtype(dtype)
    return f"{dt.kind.replace('u', 'i')}{dt.itemsize * 8}[{','.join(map(str, shape))}]"


def _executor_name() -> str:
    from ..runtime import device
    if device.gpu_available():
        try:
            from ..bench.causal import device_name
            return f"GPU ({device_name()})"
        except Exception:
            return "GPU"
    return "NumPy plan executor (no CUDA device)"


@click.command()
@click.option("--cases", type=click.IntRange(min=1), default=50, show_default=True,
              help="Number of random problems.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed.")
@click.option("--failures-only", is_flag=True, help="List only the failed cases.")
@click.pass_context
def verify(ctx, cases, seed, failures_only):
    """Compare fftconv_cupy.fftconvolve with scipy.signal.fftconvolve on random problems.

    Shapes of 1-3 dimensions, all modes, random axes, float32/64, complex64/128
    and integer inputs; tolerance from the support table (fp32 for float32 and
    complex64 results, fp64 otherwise).  Exit status 1 on any failure.
    """
    from rich.progress import Progress
    from rich.table import Table
    config_or_usage_error()
    rng = np.random.default_rng(seed)
    done = []
    with Progress(console=console(stderr=True), transient=True) as progress:
        task = progress.add_task("verify", total=cases)
        for i in range(cases):
            done.append(run_case(_draw_case(rng, i), rng))
            progress.advance(task)
    failed = [c for c in done if not c.ok]
    t = Table(title=f"verify vs scipy.signal.fftconvolve, seed {seed}, on {_executor_name()}",
              title_justify="left")
    for name, just in (("#", "right"), ("in1", "left"), ("in2", "left"), ("mode", "left"),
                       ("axes", "left"), ("out", "left"), ("rel. error", "right"),
                       ("tol", "right"), ("result", "left")):
        t.add_column(name, justify=just)
    for c in (failed if failures_only else done):
        status = "[green]PASS[/green]" if c.ok else f"[red]FAIL[/red] {c.error}"
        t.add_row(str(c.index), _short(c.dtype1, c.shape1), _short(c.dtype2, c.shape2),
                  c.mode, "None" if c.axes is None else str(c.axes), c.out,
                  "" if math.isnan(c.rel_err) else f"{c.rel_err:.1e}",
                  "" if math.isnan(c.tol) else f"{c.tol:.0e}", status)
    out = console()
    if t.row_count:
        out.print(t)
    passed = len(done) - len(failed)
    out.print(f"verify: {passed}/{len(done)} passed" + (f", {len(failed)} FAILED" if failed else ""),
              style="bold red" if failed else "bold green")
    if failed:
        ctx.exit(1)
