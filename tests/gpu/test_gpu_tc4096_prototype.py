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


@pytest.mark.parametrize("blocks", [None, 4])
def test_looping_grid_and_an_all_zero_pair(blocks):
    # blocks=4: each block loops over several row pairs (the pair loop, red[] and the
    # exchange buffer reused); batch rows 2, 3 of channel 0 are all zero (scale 0)
    batch, heads = 6, 5
    rng = np.random.default_rng(11)
    xf = rng.standard_normal((batch * heads, tc.N)).astype(np.float32)
    xf[2 * heads] = 0
    xf[3 * heads] = 0
    x = arrays.float_to_bits16(cupy.asarray(xf), "bfloat16", cupy)
    k = rng.standard_normal((heads, tc.N)) * np.exp(-np.arange(tc.N) / 300)
    y = cupy.full_like(x, 0xFFFF)
    tc.Circular4096(k)(x, y, blocks)
    xr = cupy.asnumpy(arrays.bits16_to_float(x, "bfloat16", cupy)).astype(np.float64)
    yr = cupy.asnumpy(arrays.bits16_to_float(y, "bfloat16", cupy)).astype(np.float64)
    assert not np.isnan(yr).any()
    assert not yr[2 * heads].any() and not yr[3 * heads].any()
    ref = np.fft.irfft(np.fft.rfft(xr) * np.fft.rfft(k[np.arange(batch * heads) % heads]), n=tc.N)
    live = np.linalg.norm(ref, axis=1) > 0
    err = np.linalg.norm(yr - ref, axis=1)[live] / np.linalg.norm(ref, axis=1)[live]
    assert err.max() <= 3e-3, err


def test_rejects_rows_it_cannot_pair():
    k = np.ones((3, tc.N))
    conv = tc.Circular4096(k)
    x = cupy.zeros((9, tc.N), dtype=cupy.uint16)              # 3 batches: odd
    with pytest.raises(ValueError):
        conv(x, cupy.empty_like(x))
    with pytest.raises(TypeError):
        conv(x[:6].astype(cupy.float32), cupy.empty((6, tc.N), cupy.float32))
