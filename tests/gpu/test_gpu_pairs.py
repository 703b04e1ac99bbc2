"""Row pairs on tensor cores through FFTConv (bf16 circular 4096) on the device."""
from __future__ import annotations

import numpy as np
import pytest

import fftconv_cupy as fc
from fftconv_cupy.plan.support import rel_error

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")
torch = pytest.importorskip("torch")


def _oracle(u, k):
    uf = u.float().cpu().numpy().astype(np.float64)
    return np.fft.irfft(np.fft.rfft(uf) * np.fft.rfft(k.cpu().numpy().astype(np.float64)), n=u.shape[-1])


@pytest.mark.parametrize("scale", [1.0, 1e-5, 1e4])
def test_fftconv_row_pairs_torch_bf16(scale):
    B, H, N = 4, 6, 4096
    k = torch.randn(1, H, N, device="cuda") * torch.exp(-torch.arange(N, device="cuda") / 300)
    conv = fc.FFTConv((B, H, N), k, mode="circular", dtype=torch.bfloat16)
    assert conv.plan.layout == "row_pairs"
    u = (torch.randn(B, H, N, device="cuda") * scale).to(torch.bfloat16)
    y = conv(u)
    assert y.dtype == torch.bfloat16 and y.shape == u.shape and y.is_cuda
    yf = y.float().cpu().numpy()
    assert not np.isnan(yf).any()
    assert rel_error(yf, _oracle(u, k)) <= 3e-3


def test_row_pairs_match_the_fp32_plan_within_the_bf16_target():
    B, H, N = 2, 5, 4096
    k = torch.randn(1, H, N, device="cuda") * torch.exp(-torch.arange(N, device="cuda") / 300)
    u = torch.randn(B, H, N, device="cuda").to(torch.bfloat16)
    pairs = fc.FFTConv((B, H, N), k, mode="circular", dtype=torch.bfloat16)
    fp32 = fc.FFTConv((B, H, N), k, mode="circular", dtype=torch.bfloat16, precision="fp32")
    assert pairs.plan.layout == "row_pairs" and fp32.plan.layout != "row_pairs"
    a, b = pairs(u).float().cpu().numpy(), fp32(u).float().cpu().numpy()
    assert rel_error(a, b) <= 3e-3


def test_row_pairs_same_as_the_prototype_kernel():
    # the library's kernel is the prototype's default build (benchmarks/tc4096): same bits
    from benchmarks import tc4096 as tc
    from fftconv_cupy.runtime import arrays
    B, H, N = 4, 3, 4096
    rng = np.random.default_rng(5)
    k = rng.standard_normal((H, N)) * np.exp(-np.arange(N) / 300)
    xf = cupy.asarray(rng.standard_normal((B * H, N)).astype(np.float32))
    x = arrays.float_to_bits16(xf, "bfloat16", cupy)
    y0 = cupy.full_like(x, 0xFFFF)
    tc.Circular4096(k)(x, y0)
    conv = fc.FFTConv((B, H, N), k[None], mode="circular", dtype=torch.bfloat16)
    u = torch.from_dlpack(x.reshape(B, H, N)).view(torch.bfloat16)
    y1 = cupy.from_dlpack(conv(u).view(torch.int16)).view(cupy.uint16).reshape(B * H, N)
    assert cupy.array_equal(y0, y1)
