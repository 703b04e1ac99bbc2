"""The cluster of two half-rows (Plan.halves): block kb transforms row kb of the (2, a)
split.  Causal rows (the input's upper half is padding, outputs in the lower half), full
convolutions (outputs in both halves) and circular ones (signal in both halves), each
against SciPy in float64, outputs poisoned with NaN and checked written."""
import numpy as np
import pytest
import scipy.signal as ss

from fftconv_cupy.plan.plan import Plan, _halves_plan
from fftconv_cupy.plan.spectrum import kernel_spectrum
from fftconv_cupy.plan.support import DEFAULT_SMEM_BYTES, rel_error, tolerance

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")


def halves(n, len_x, len_k, out_start, out_len):
    base = dict(precision="fp32", real=True, n=n, m=n // 2, len_x=len_x, len_k=len_k,
                out_start=out_start, out_len=out_len, smem_limit=DEFAULT_SMEM_BYTES)
    plan = _halves_plan(n // 2, None, DEFAULT_SMEM_BYTES, 8, base)
    assert isinstance(plan, Plan) and plan.halves and plan.cluster == 2
    return plan


CASES = {   # name: (n, len_x, len_k, out_start, out_len)
    "causal 32K": (1 << 16, 1 << 15, 1 << 15, 0, 1 << 15),
    "causal 16K, short kernel": (1 << 15, 1 << 14, 777, 0, 1 << 14),
    "full 8K": (1 << 14, 1 << 13, 1 << 13, 0, (1 << 14) - 1),
    "circular 16K": (1 << 14, 1 << 14, 1 << 14, 0, 1 << 14),
    # the planner's own halves (fp32 rows of twice the fused limit)
    "full 16K x 32K": (1 << 16, 1 << 14, 1 << 15, 0, (3 << 14) - 1),
    "circular 64K": (1 << 16, 1 << 16, 1 << 16, 0, 1 << 16),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_halves_match_scipy(name):
    from fftconv_cupy.runtime.executor import GPUExecutor
    n, len_x, len_k, start, count = CASES[name]
    plan = halves(n, len_x, len_k, start, count)
    rows, channels = 6, 3
    rng = np.random.default_rng(n + len_k)
    x = rng.standard_normal((rows, len_x))
    k = rng.standard_normal((channels, len_k))
    hs = kernel_spectrum(plan, cupy.asarray(k), cupy)
    y = cupy.full((rows, count), cupy.nan, dtype=cupy.float32)
    GPUExecutor(plan)(cupy.asarray(x, dtype=cupy.float32), hs, y, batch=rows // channels,
                      channels=channels)
    got = cupy.asnumpy(y)
    assert not np.isnan(got).any(), "unwritten outputs"
    for r in range(rows):
        kr = k[r % channels]
        if name.startswith("circular"):
            want = np.fft.irfft(np.fft.rfft(x[r]) * np.fft.rfft(kr, n), n)
        else:
            want = ss.fftconvolve(x[r], kr)[start:start + count]
        assert rel_error(got[r], want, want) <= tolerance("fp32", n), (name, r)
