"""Rows of [16x2x16] on one warp (Plan.lane_pairs): both radix-2 stages on shuffles.  Each
case against SciPy in float64 on the inputs rounded to the I/O dtype, outputs poisoned with
NaN, and against the same plan with the stages through shared memory (pair_shuffles off)."""
from dataclasses import replace

import numpy as np
import pytest
import scipy.signal as ss

from fftconv_cupy.plan.plan import make_plan
from fftconv_cupy.plan.spectrum import kernel_spectrum
from fftconv_cupy.plan.support import io_tolerance, rel_error
from fftconv_cupy.runtime import arrays

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")

RNG = np.random.default_rng()

CASES = {   # name: make_plan arguments
    "causal 512 fp32": dict(len_x=512, len_k=512, out_start=0, out_len=512, precision="fp32"),
    "causal 512 fp64": dict(len_x=512, len_k=512, out_start=0, out_len=512, precision="fp64"),
    "full 700 x 324, gated, bfloat16": dict(len_x=700, len_k=324, out_start=0, out_len=1023,
                                            precision="fp32", io="bfloat16", gates=(True, True)),
    "window, float16": dict(len_x=700, len_k=324, out_start=300, out_len=723, precision="fp32",
                            io="float16"),
    "overlap-save blocks of 512": dict(len_x=100000, len_k=200, out_start=0, out_len=100000,
                                       precision="fp32"),
}


def run(plan, x_bits, k, g1, g2, rows, channels, out_len):
    from fftconv_cupy.runtime.executor import GPUExecutor
    io = plan.io
    raw = arrays.BITS16[io] if io else plan.prec.real_dtype
    y = (cupy.full((rows, out_len), 0xFFFF, dtype=np.uint16).view(raw) if io
         else cupy.full((rows, out_len), np.nan, dtype=raw))
    kw = dict(pre_gate=cupy.asarray(g1), post_gate=cupy.asarray(g2)) if plan.gate_pre else {}
    hs = kernel_spectrum(plan, cupy.asarray(k), cupy)
    GPUExecutor(plan)(cupy.asarray(x_bits), hs, y, batch=rows // channels, channels=channels, **kw)
    out = cupy.asnumpy(y)
    return arrays.bits16_to_float(out, io).astype(np.float64) if io else out.astype(np.float64)


@pytest.mark.parametrize("name", sorted(CASES))
def test_lane_pairs_match_scipy(name):
    args = CASES[name]
    plan = make_plan(real=True, **args)
    assert plan.lane_pairs, plan.describe()
    rows, channels = 6, 3
    io, dt = plan.io, plan.prec.real_dtype
    # the row's window (an overlap-save plan's own out_len is one block's)
    len_x, len_k, start, count = (args[a] for a in ("len_x", "len_k", "out_start", "out_len"))

    def rounded(shape):
        a = RNG.standard_normal(shape).astype(dt)
        if io:
            b = arrays.float_to_bits16(a.astype(np.float32), io)
            return b, arrays.bits16_to_float(b, io).astype(np.float64)
        return a, a.astype(np.float64)

    xb, xf = rounded((rows, len_x))
    g1b, g1f = rounded((rows, len_x))
    g2b, g2f = rounded((rows, count))
    k = RNG.standard_normal((channels, len_k))
    got = run(plan, xb, k, g1b, g2b, rows, channels, count)
    shared = run(replace(plan, pair_shuffles=False), xb, k, g1b, g2b, rows, channels, count)
    assert not np.isnan(got).any(), "unwritten outputs"
    xin = xf * g1f if plan.gate_pre else xf
    full = ss.fftconvolve(xin, k[np.arange(rows) % channels], axes=-1)
    want = full[:, start:start + count] * (g2f if plan.gate_post else 1)
    tol = io_tolerance(io, plan.precision)
    assert rel_error(got, want, None if plan.gate_post else full) <= tol, name
    assert rel_error(got, shared, None) <= tol, name
