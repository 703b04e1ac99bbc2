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


def test_rows_of_a_pair_keep_their_own_accuracy_and_nans():
    # a pair's rows are scaled apart: a row 1e-4 the size of its partner keeps the target,
    # and a NaN row leaves its partner untouched
    B, H, N = 4, 3, 4096
    k = torch.randn(1, H, N, device="cuda") * torch.exp(-torch.arange(N, device="cuda") / 300)
    conv = fc.FFTConv((B, H, N), k, mode="circular", dtype=torch.bfloat16)
    assert conv.plan.layout == "row_pairs"
    u = torch.randn(B, H, N, device="cuda")
    u[1] *= 1e-4                        # rows (1, h) pair with (0, h)
    u[3, 2, 11] = float("nan")          # row (3, 2) pairs with (2, 2)
    u = u.to(torch.bfloat16)
    y = conv(u).float().cpu().numpy()
    ref = _oracle(u, k)
    assert np.isnan(y[3, 2]).all()
    for b in range(B):
        for h in range(H):
            if (b, h) != (3, 2):
                assert rel_error(y[b, h], ref[b, h]) <= 3e-3, (b, h)


def test_shifted_view_is_copied_not_misread():
    B, H, N = 2, 2, 4096
    k = torch.randn(1, H, N, device="cuda")
    conv = fc.FFTConv((B, H, N), k, mode="circular", dtype=torch.bfloat16)
    big = torch.randn(B * H * N + 3, device="cuda").to(torch.bfloat16)
    u = big[3:].view(B, H, N)           # 6 bytes past an aligned start
    assert u.data_ptr() % 16
    y = conv(u)
    assert rel_error(y.float().cpu().numpy(), _oracle(u, k)) <= 3e-3
