"""Frequency-sparse plans on the device vs the float64 masked oracle (outputs NaN-poisoned)."""
import numpy as np
import pytest

import fftconv_cupy as fc
from fftconv_cupy.plan import sparsity as S
from fftconv_cupy.plan.plan import make_plan
from fftconv_cupy.plan.spectrum import kernel_spectrum
from fftconv_cupy.plan.support import tolerance

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")

RNG = np.random.default_rng()


def masked_oracle(x, k, mask, n, real):
    if real:
        return np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(k, n) * mask, n)
    return np.fft.ifft(np.fft.fft(x, n) * np.fft.fft(k, n) * mask, n)


@pytest.mark.parametrize("precision", ["fp32", "fp64"])
@pytest.mark.parametrize("real", [True, False])
@pytest.mark.parametrize("pattern,density", [("block", 0.25), ("block", 0.5), ("block", 0.1),
                                             ("uniform", 0.25), ("random", 0.25)])
@pytest.mark.parametrize("L,layout", [(4096, None), (8192, None), (16384, None), (1 << 15, None),
                                      (1 << 18, None), (2048, "three_pass"), (6000, "three_pass"),
                                      (3000, None)])
def test_sparse_executor(L, layout, pattern, density, real, precision):
    from fftconv_cupy.runtime.executor import GPUExecutor
    plan = make_plan(L, L, 0, L, real=real, precision=precision, segment=False, layout=layout)
    mask = S.pattern_mask(plan, fc.Sparsity(pattern, density))
    sp = S.sparsify(plan, mask)
    rows, channels = 6, 3
    io = sp.prec.real_dtype if real else sp.prec.complex_dtype
    x = RNG.standard_normal((rows, L))
    k = RNG.standard_normal((channels, L))
    if not real:
        x = x + 1j * RNG.standard_normal((rows, L))
        k = k + 1j * RNG.standard_normal((channels, L))
    x, k = x.astype(io), k.astype(io)
    hs = kernel_spectrum(sp, cupy.asarray(k), cupy, mask=mask)
    y = cupy.full((rows, L), np.nan, dtype=io)
    GPUExecutor(sp)(cupy.asarray(x), hs, y, batch=rows // channels, channels=channels)
    out = cupy.asnumpy(y)
    assert not np.isnan(out).any(), "unwritten outputs"
    ref = masked_oracle(x.astype(np.complex128 if not real else np.float64),
                        k[np.arange(rows) % channels], mask, sp.n, real)[:, :L]
    err = np.linalg.norm(out - ref) / np.linalg.norm(ref)
    assert err <= tolerance(precision, sp.n), (sp.describe(), err)


@pytest.mark.parametrize("mode", ["causal", "same", "circular"])
def test_fftconv_sparse_gpu_matches_cpu(mode):
    x = RNG.standard_normal((4, 2, 8192)).astype(np.float32)
    k = RNG.standard_normal((1, 2, 8192)).astype(np.float32)
    conv = fc.FFTConv(x.shape, cupy.asarray(k), mode=mode, sparsity=fc.Sparsity("block", 0.25))
    assert conv.plan.sparse is not None
    y = cupy.asnumpy(conv(cupy.asarray(x)))
    ref = fc.FFTConv(x.shape, k.astype(np.float64), mode=mode, dtype=np.float64,
                     sparsity=conv.mask)(x.astype(np.float64))
    assert np.linalg.norm(y - ref) / np.linalg.norm(ref) < 1e-6
