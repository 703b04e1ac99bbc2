"""The tensor-core prototype (benchmarks/tc4096) against float64 on the device."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks import tc4096 as tc
from fftconv_cupy.runtime import arrays

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")


@pytest.mark.parametrize("scale", [1.0, 1e-6, 3e5])
def test_circular_bf16_within_the_bf16_target(scale):
    batch, heads = 4, 3
    rng = np.random.default_rng(7)
    xf = (rng.standard_normal((batch * heads, tc.N)) * scale).astype(np.float32)
    xf[1, 100:3000] = 0                           # rows with zeros keep their scale
    x = arrays.float_to_bits16(cupy.asarray(xf), "bfloat16", cupy)
    k = rng.standard_normal((heads, tc.N)) * np.exp(-np.arange(tc.N) / 300)
    y = cupy.full_like(x, 0xFFFF)
    tc.Circular4096(k)(x, y)
    xr = cupy.asnumpy(arrays.bits16_to_float(x, "bfloat16", cupy)).astype(np.float64)
    yr = cupy.asnumpy(arrays.bits16_to_float(y, "bfloat16", cupy)).astype(np.float64)
    assert not np.isnan(yr).any()
    ref = np.fft.irfft(np.fft.rfft(xr) * np.fft.rfft(k[np.arange(batch * heads) % heads]), n=tc.N)
    err = np.linalg.norm(yr - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() <= 3e-3, err
