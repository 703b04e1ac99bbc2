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


# --- causal rows (causal_conv) and gates ------------------------------------------------

def _causal_oracle(u, k, pre=None, post=None):
    f = lambda t: t.float().cpu().numpy().astype(np.float64)
    x = f(u) * (1 if pre is None else f(pre))
    L, n = u.shape[-1], 2 * u.shape[-1]
    y = np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(f(k), n), n)[..., :L]
    return y if post is None else y * f(post)


def _pairs_taken(monkeypatch):
    from fftconv_cupy import api
    seen = []
    orig = api._row_pairs
    def spy(*a, **kw):
        plan = orig(*a, **kw)
        seen.append(plan)
        return plan
    monkeypatch.setattr(api, "_row_pairs", spy)
    return seen


@pytest.mark.parametrize("L, K", [(2048, 2048), (2048, 37), (1536, 1536), (3000, 1000)])
@pytest.mark.parametrize("gated", [(False, False), (True, True), (True, False), (False, True)])
def test_causal_conv_row_pairs_torch_bf16(monkeypatch, L, K, gated):
    seen = _pairs_taken(monkeypatch)
    B, H = 4, 5
    torch.manual_seed(L + K)
    u = torch.randn(B, H, L, device="cuda").to(torch.bfloat16)
    k = torch.randn(H, K, device="cuda") / K ** 0.5
    pre, post = ((torch.rand(B, H, L, device="cuda") * 4 - 2).to(torch.bfloat16) if g else None
                 for g in gated)
    y = fc.causal_conv(u, k, pre_gate=pre, post_gate=post)
    assert seen and seen[-1] is not None and seen[-1].len_x == L
    assert y.dtype == torch.bfloat16 and y.shape == u.shape and y.is_cuda
    yf = y.float().cpu().numpy()
    assert not np.isnan(yf).any()
    assert rel_error(yf, _causal_oracle(u, k, pre, post)) <= 3e-3


def test_causal_row_pairs_match_the_fp32_plan_and_keep_nans_to_their_row():
    B, H, L = 2, 3, 2048
    u = torch.randn(B, H, L, device="cuda")
    u[0] *= 1e-4                         # rows (0, h) pair with (1, h)
    u[1, 2, 100] = float("inf")
    u = u.to(torch.bfloat16)
    k = torch.randn(H, L, device="cuda") / 45
    g = (torch.rand(B, H, L, device="cuda") + 0.5).to(torch.bfloat16)
    y = fc.causal_conv(u, k, pre_gate=g, post_gate=g).float().cpu().numpy()
    ref = fc.causal_conv(u, k, pre_gate=g, post_gate=g, precision="fp32").float().cpu().numpy()
    assert np.isnan(y[1, 2]).all()
    for b in range(B):
        for h in range(H):
            if (b, h) != (1, 2):
                assert rel_error(y[b, h], ref[b, h]) <= 3e-3, (b, h)


def test_causal_row_pairs_read_shifted_gates_correctly():
    B, H, L = 2, 2, 2048
    u = torch.randn(B, H, L, device="cuda").to(torch.bfloat16)
    k = torch.randn(H, 300, device="cuda") / 17
    big = (torch.rand(B * H * L + 1, device="cuda") + 0.5).to(torch.bfloat16)
    g = big[1:].view(B, H, L)            # 2 bytes past an aligned start
    assert g.data_ptr() % 16
    y = fc.causal_conv(u, k, pre_gate=g, post_gate=g).float().cpu().numpy()
    assert rel_error(y, _causal_oracle(u, k, g, g)) <= 3e-3


def _run_pairs(L, K, gates, *, B, H, grid_per_sm=0, guard=0, seed=3):
    """PairExecutor on random bf16 rows (outputs poisoned, `guard` poisoned elements past
    them): (outputs, guard band, inputs)."""
    from dataclasses import replace
    from fftconv_cupy.plan.pairs import kernel_spectrum_pairs, pair_plan
    from fftconv_cupy.runtime import arrays
    from fftconv_cupy.runtime.pairs import PairExecutor
    plan = replace(pair_plan(L, K, mode="causal", io="bfloat16", precision="auto", gates=gates,
                             batch=B), grid_per_sm=grid_per_sm)
    cupy.random.seed(seed)
    bf = lambda a: arrays.float_to_bits16(a, "bfloat16", cupy)
    x = bf(cupy.random.standard_normal((B * H, L), dtype=cupy.float32))
    g = bf(cupy.random.uniform(0.5, 1.5, (B * H, L), dtype=cupy.float32))
    k = np.random.default_rng(seed).standard_normal((H, K)) / K ** 0.5
    hs = kernel_spectrum_pairs(plan, k, cupy)
    big = cupy.full(B * H * L + guard, 0xFFFF, dtype=cupy.uint16)
    y = big[:B * H * L].reshape(B * H, L)
    pre, post = (g if on else None for on in gates)
    PairExecutor(plan)(x, hs, y, batch=B, channels=H, pre_gate=pre, post_gate=post)
    return y, big[B * H * L:], (x, g, k)


def _rows_and_oracle(L, K, gates, *, B, H):
    """`_run_pairs` with a guard band of 4096 poisoned elements past the outputs (checked
    untouched): (outputs, float64 causal oracle on the rounded rows and gates)."""
    from fftconv_cupy.runtime import arrays
    y, band, (x, g, k) = _run_pairs(L, K, gates, B=B, H=H, guard=4096)
    assert (band == 0xFFFF).all()
    f64 = lambda a: cupy.asnumpy(arrays.bits16_to_float(a, "bfloat16", cupy)).astype(np.float64)
    xr, gr = f64(x), f64(g)
    pre = gr if gates[0] else 1.0
    n = 2 * L
    ref = np.fft.irfft(np.fft.rfft(xr * pre, n) * np.fft.rfft(k[np.arange(B * H) % H], n), n)[:, :L]
    return f64(y), ref * (gr if gates[1] else 1.0)


@pytest.mark.parametrize("L, gates", [(2048, (False, False)), (2048, (True, True)),
                                      (3000, (True, False)), (3000, (False, True))])
def test_looping_grid_gives_the_same_bits(L, gates):
    # a grid of one block per SM runs 3-4 pairs per block, fetching the next pair's
    # pre-gate one pair ahead; one block per pair is the default
    K = min(L, 4096 - L + 1)
    a, _, _ = _run_pairs(L, K, gates, B=8, H=100)
    b, _, _ = _run_pairs(L, K, gates, B=8, H=100, grid_per_sm=1)
    assert (a != 0xFFFF).all()
    assert (a == b).all()


@pytest.mark.parametrize("L, K, gates", [(1032, 1032, (True, True)), (1544, 700, (False, False)),
                                         (3000, 1000, (True, True)), (4088, 9, (True, True))])
def test_causal_row_pairs_write_their_rows_only(L, K, gates):
    # the smallest row served, rows not a multiple of 16, the largest gated row (static
    # shared memory near its limit): every output written, nothing past them, within bf16
    yf, ref = _rows_and_oracle(L, K, gates, B=2, H=3)
    assert rel_error(yf, ref) <= 3e-3


def test_a_large_value_under_a_zero_gate_leaves_both_rows_finite():
    # gated before scaled: 2^121 under a zero gate must not overflow into Inf * 0
    B, H, L = 2, 1, 2048
    u = torch.randn(B, H, L, device="cuda")
    u[0, 0, 1] = 2.0 ** 121
    g = torch.ones(B, H, L, device="cuda")
    g[0, 0, 1] = 0
    u, g = u.to(torch.bfloat16), g.to(torch.bfloat16)
    k = torch.randn(H, 300, device="cuda") / 17
    y = fc.causal_conv(u, k, pre_gate=g).float().cpu().numpy()
    assert np.isfinite(y).all()
    assert rel_error(y, _causal_oracle(u, k, g)) <= 3e-3


def test_fftconv_causal_row_pairs_on_the_device():
    B, H, L = 4, 3, 2048
    k = torch.randn(1, H, 900, device="cuda") / 30
    conv = fc.FFTConv((B, H, L), k, mode="causal", dtype=torch.bfloat16)
    assert conv.plan.layout == "row_pairs"
    u = torch.randn(B, H, L, device="cuda").to(torch.bfloat16)
    y = conv(u)
    assert torch.equal(y.view(torch.int16), fc.causal_conv(u, k[0]).view(torch.int16))
    assert rel_error(y.float().cpu().numpy(), _causal_oracle(u, k[0])) <= 3e-3


def test_a_nan_pre_gate_stays_in_its_row():
    # the row's gated values are non-finite: it is left out of its pair (outputs NaN)
    B, H, L = 2, 3, 2048
    u = torch.randn(B, H, L, device="cuda").to(torch.bfloat16)
    k = torch.randn(H, 500, device="cuda") / 22
    g = (torch.rand(B, H, L, device="cuda") + 0.5)
    g[0, 1, 1000] = float("nan")          # row (0, 1) pairs with (1, 1)
    g = g.to(torch.bfloat16)
    y = fc.causal_conv(u, k, pre_gate=g).float().cpu().numpy()
    assert np.isnan(y[0, 1]).all()          # as an FFT convolution of that row gives
    ref = _causal_oracle(u, k, g)
    for b in range(B):
        for h in range(H):
            if (b, h) != (0, 1):
                assert rel_error(y[b, h], ref[b, h]) <= 3e-3, (b, h)


# --- several causal rows per part of a transform (segments) ----------------------------

@pytest.mark.parametrize("L, K, B, S", [(1024, 1024, 4, 2), (1000, 37, 8, 2), (512, 512, 8, 4),
                                        (264, 200, 16, 4)])
@pytest.mark.parametrize("gated", [(False, False), (True, True), (True, False), (False, True)])
def test_causal_conv_segments_torch_bf16(monkeypatch, L, K, B, S, gated):
    seen = _pairs_taken(monkeypatch)
    H = 5
    torch.manual_seed(L + K + B)
    u = torch.randn(B, H, L, device="cuda").to(torch.bfloat16)
    k = torch.randn(H, K, device="cuda") / K ** 0.5
    pre, post = ((torch.rand(B, H, L, device="cuda") * 4 - 2).to(torch.bfloat16) if g else None
                 for g in gated)
    y = fc.causal_conv(u, k, pre_gate=pre, post_gate=post)
    assert seen and seen[-1] is not None and seen[-1].segments == S
    assert y.dtype == torch.bfloat16 and y.shape == u.shape and y.is_cuda
    yf = y.float().cpu().numpy()
    assert not np.isnan(yf).any()
    ref = _causal_oracle(u, k, pre, post)
    for b in range(B):                      # every row of every segment
        assert rel_error(yf[b], ref[b]) <= 3e-3, b


@pytest.mark.parametrize("L, S", [(1024, 2), (512, 4)])
def test_segments_keep_their_own_scale_and_nans(L, S):
    # rows of one block 1e-4 apart in size, an Inf in one row, a NaN gate in another
    B, H = 2 * S, 3
    u = torch.randn(B, H, L, device="cuda")
    u[1::2] *= 1e-4
    u[S - 1, 2, 100] = float("inf")
    u = u.to(torch.bfloat16)
    k = torch.randn(H, L, device="cuda") / L ** 0.5
    g = torch.rand(B, H, L, device="cuda") + 0.5
    g[B - 1, 0, 7] = float("nan")
    g = g.to(torch.bfloat16)
    y = fc.causal_conv(u, k, pre_gate=g, post_gate=g).float().cpu().numpy()
    ref = fc.causal_conv(u, k, pre_gate=g, post_gate=g, precision="fp32").float().cpu().numpy()
    bad = {(S - 1, 2), (B - 1, 0)}
    for b in range(B):
        for h in range(H):
            if (b, h) in bad:
                assert np.isnan(y[b, h]).all(), (b, h)
            else:
                assert rel_error(y[b, h], ref[b, h]) <= 3e-3, (b, h)


@pytest.mark.parametrize("L, K, gates", [(1000, 1000, (True, True)), (520, 520, (False, False)),
                                         (264, 9, (True, True)), (512, 300, (False, True))])
def test_segments_write_their_rows_only(L, K, gates):
    yf, ref = _rows_and_oracle(L, K, gates, B=8, H=3)
    err = np.linalg.norm(yf - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() <= 3e-3, err


@pytest.mark.parametrize("L, gates", [(1024, (True, True)), (512, (False, False))])
def test_segments_on_a_looping_grid_give_the_same_bits(L, gates):
    a, _, _ = _run_pairs(L, L, gates, B=8, H=100)
    b, _, _ = _run_pairs(L, L, gates, B=8, H=100, grid_per_sm=1)
    assert (a != 0xFFFF).all()
    assert (a == b).all()


def test_row_pair_executor_refuses_operands_it_cannot_take():
    # the launch path checks inline; a refusal names the operand
    from fftconv_cupy.plan.pairs import kernel_spectrum_pairs, pair_plan
    from fftconv_cupy.runtime.pairs import PairExecutor
    B, H, L = 4, 2, 1024
    plan = pair_plan(L, L, mode="causal", io="bfloat16", precision="auto", batch=B,
                     gates=(True, False))
    ex = PairExecutor(plan)
    hs = kernel_spectrum_pairs(plan, np.ones((H, L)) / L, cupy)
    x = cupy.zeros((B * H, L), dtype=cupy.uint16)
    g = cupy.zeros_like(x)
    y = cupy.full((B * H, L), 0xFFFF, dtype=cupy.uint16)
    ex(x, hs, y, batch=B, channels=H, pre_gate=g)
    assert (y == 0).all()
    y2 = cupy.full(B * H * L + 1, 0xFFFF, dtype=cupy.uint16)
    with pytest.raises(ValueError, match="output rows must be 16-byte aligned"):
        ex(x, hs, y2[1:].reshape(B * H, L), batch=B, channels=H, pre_gate=g)
    with pytest.raises(ValueError, match="pre_gate rows must be C-contiguous 16-bit"):
        ex(x, hs, y, batch=B, channels=H, pre_gate=g[:, :L - 8])
    with pytest.raises(ValueError, match="signal rows must be C-contiguous 16-bit"):
        ex(x.astype(cupy.float32), hs, y, batch=B, channels=H, pre_gate=g)
    with pytest.raises(ValueError, match="made for another plan or channel count"):
        ex(x, hs[:-1], y, batch=B, channels=H, pre_gate=g)
    with pytest.raises(ValueError, match="multiple of 4, got 2"):
        ex(x, hs, y, batch=2, channels=2 * H, pre_gate=g)
    assert (y2 == 0xFFFF).all()


# --- split rows: n = 8192 (16384, 32768) as two (four, eight) 4096-point transforms ---

def _split_n(L, K):
    return next(n for n in (4096, 8192, 16384, 32768) if L + K - 1 <= n)


@pytest.mark.parametrize("L, K", [(4096, 4096), (4096, 37), (3000, 1200), (2056, 2056),
                                  (8192, 8192), (8192, 100), (5000, 4000),
                                  (16384, 16384), (16384, 300), (12000, 9000)])
@pytest.mark.parametrize("gated", [(False, False), (True, True), (True, False), (False, True)])
def test_causal_conv_split_rows_torch_bf16(monkeypatch, L, K, gated):
    seen = _pairs_taken(monkeypatch)
    B, H = 4, 5
    torch.manual_seed(L + K)
    u = torch.randn(B, H, L, device="cuda").to(torch.bfloat16)
    k = torch.randn(H, K, device="cuda") / K ** 0.5
    pre, post = ((torch.rand(B, H, L, device="cuda") * 4 - 2).to(torch.bfloat16) if g else None
                 for g in gated)
    y = fc.causal_conv(u, k, pre_gate=pre, post_gate=post)
    taken = seen[-1] if seen else None
    if _split_n(L, K) == 32768 and all(gated):       # both gates: the fp32 plan (faster)
        assert taken is None
    else:
        assert taken is not None and taken.n == _split_n(L, K)
    assert y.dtype == torch.bfloat16 and y.shape == u.shape and y.is_cuda
    yf = y.float().cpu().numpy()
    assert not np.isnan(yf).any()
    ref = _causal_oracle(u, k, pre, post)
    for b in range(B):
        for h in range(H):
            assert rel_error(yf[b, h], ref[b, h]) <= 3e-3, (b, h)


@pytest.mark.parametrize("L, K, gates", [(4096, 4096, (False, False)), (2056, 2056, (True, True)),
                                         (3000, 1200, (True, False)), (4088, 4088, (False, True)),
                                         (8192, 8192, (False, False)), (6000, 5000, (True, True)),
                                         (8184, 8184, (False, True)), (16384, 16384, (False, False)),
                                         (10000, 6000, (True, False)), (16376, 16376, (False, True))])
def test_split_rows_write_their_rows_only(L, K, gates):
    yf, ref = _rows_and_oracle(L, K, gates, B=2, H=3)
    err = np.linalg.norm(yf - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() <= 3e-3, err


@pytest.mark.parametrize("L, gates", [(4096, (False, False)), (8192, (False, False)),
                                      (16384, (False, False)), (4096, (True, True)),
                                      (8192, (True, True)), (16384, (True, False))])
def test_split_rows_on_a_looping_grid_give_the_same_bits(L, gates):
    a, _, _ = _run_pairs(L, L, gates, B=8, H=100)
    b, _, _ = _run_pairs(L, L, gates, B=8, H=100, grid_per_sm=1)
    assert (a != 0xFFFF).all()
    assert (a == b).all()


@pytest.mark.parametrize("N", [8192, 16384])
@pytest.mark.parametrize("scale", [1.0, 1e-5, 1e4])
def test_fftconv_circular_split_rows_torch_bf16(scale, N):
    B, H = 4, 6
    k = torch.randn(1, H, N, device="cuda") * torch.exp(-torch.arange(N, device="cuda") / 600)
    conv = fc.FFTConv((B, H, N), k, mode="circular", dtype=torch.bfloat16)
    assert conv.plan.layout == "row_pairs" and conv.plan.n == N
    u = (torch.randn(B, H, N, device="cuda") * scale).to(torch.bfloat16)
    y = conv(u).float().cpu().numpy()
    assert not np.isnan(y).any()
    ref = _oracle(u, k)
    for b in range(B):
        for h in range(H):
            assert rel_error(y[b, h], ref[b, h]) <= 3e-3, (b, h)


@pytest.mark.parametrize("L", [4096, 8192, 16384])
def test_split_rows_keep_their_own_accuracy_and_nans(L):
    B, H = 4, 3
    u = torch.randn(B, H, L, device="cuda")
    u[1] *= 1e-4                        # rows (1, h) pair with (0, h)
    u[3, 2, 4000] = float("nan")        # row (3, 2) pairs with (2, 2)
    u = u.to(torch.bfloat16)
    k = torch.randn(H, L, device="cuda") / 64
    g = torch.rand(B, H, L, device="cuda") + 0.5
    g[0, 1, 3000] = float("nan")        # row (0, 1) pairs with (1, 1): its pre-gate
    g = g.to(torch.bfloat16)
    y = fc.causal_conv(u, k, pre_gate=g, post_gate=g).float().cpu().numpy()
    ref = _causal_oracle(u, k, g, g)
    assert np.isnan(y[3, 2]).all() and np.isnan(y[0, 1]).all()
    for b in range(B):
        for h in range(H):
            if (b, h) not in ((3, 2), (0, 1)):
                assert rel_error(y[b, h], ref[b, h]) <= 3e-3, (b, h)


@pytest.mark.parametrize("L, mode", [(2048, "causal"), (512, "causal"), (4096, "causal"),
                                     (8192, "circular"), (8192, "causal"), (16384, "causal")])
def test_kernel_spectrum_on_the_device_matches_the_host_one(L, mode):
    # a one-shot causal_conv computes the spectrum where the rows are (cuFFT, not a host
    # round trip); the fp16 words may differ from NumPy's by the FFTs' last bits only
    from fftconv_cupy.plan.pairs import kernel_spectrum_pairs, pair_plan, unpack_spectrum
    plan = pair_plan(L, L, mode=mode, io="bfloat16", precision="auto", batch=8)
    k = np.random.default_rng(5).standard_normal((6, L)) / L ** 0.5
    k[2] *= 1e-6                                # each channel keeps its own scale
    dev = kernel_spectrum_pairs(plan, cupy.asarray(k, dtype=cupy.float32), cupy)
    host = kernel_spectrum_pairs(plan, k.astype(np.float32), np)
    assert isinstance(dev, cupy.ndarray) and dev.dtype == np.uint32 and dev.shape == host.shape
    Kd, ksd = unpack_spectrum(plan, cupy.asnumpy(dev), 6)
    Kh, ksh = unpack_spectrum(plan, host, 6)
    np.testing.assert_array_equal(ksd, ksh)
    diff = np.abs(Kd - Kh).reshape(6, -1).max(axis=1)
    assert (diff <= 2.0 ** -10 * np.abs(Kh).reshape(6, -1).max(axis=1)).all()   # 1 fp16 ulp


def _torch_rows(B, H, L, seed=0):
    torch = pytest.importorskip("torch")
    g = torch.Generator(device="cuda").manual_seed(seed)
    u = torch.randn(B, H, L, device="cuda", generator=g).to(torch.bfloat16)
    k = torch.randn(H, L, device="cuda", generator=g) / L ** 0.5
    return torch, u, k


@pytest.mark.parametrize("L", [2048, 4096])
def test_torch_in_torch_out_by_pointer_equals_dlpack(monkeypatch, L):
    # on the default streams a torch tensor is viewed through its pointer and the result is
    # a torch tensor written in place; the bits equal the DLPack path's, the input is kept
    from fftconv_cupy.runtime import arrays
    torch, u, k = _torch_rows(4, 6, L)
    u0, kb = u.clone(), k.to(torch.bfloat16)
    calls = []
    monkeypatch.setattr(cupy, "from_dlpack", lambda *a, _f=cupy.from_dlpack, **kw: calls.append(1) or _f(*a, **kw))
    conv = fc.FFTConv(tuple(u.shape), k[None], mode="causal", dtype=torch.bfloat16)
    y1, y2 = fc.causal_conv(u, kb), conv(u)
    assert not calls                                     # no DLPack exchange on the way in
    assert all(isinstance(y, torch.Tensor) and y.dtype == torch.bfloat16 and y.shape == u.shape
               for y in (y1, y2))
    monkeypatch.setattr(arrays, "TORCH_POINTER_VIEWS", False)
    z1, z2 = fc.causal_conv(u, kb), conv(u)
    assert calls
    assert torch.equal(y1.view(torch.int16), z1.view(torch.int16))
    assert torch.equal(y2.view(torch.int16), z2.view(torch.int16))
    assert torch.equal(u.view(torch.int16), u0.view(torch.int16))
    ref = _causal_oracle(u, kb.float())
    assert rel_error(y1.float().cpu().numpy(), ref) <= 3e-3


def test_torch_side_stream_is_ordered_through_dlpack():
    # on a torch stream of its own the tensors go through DLPack, which orders the streams:
    # rows produced on the side stream just before the call are the ones convolved
    torch, u, k = _torch_rows(4, 6, 2048, seed=1)
    want = fc.causal_conv(u, k)
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        v = torch.zeros_like(u)
        torch.cuda._sleep(2_000_000)                    # keep the side stream busy
        v.copy_(u)
        got = fc.causal_conv(v, k)
        got = got.clone()
    torch.cuda.synchronize()
    assert torch.equal(got.view(torch.int16), want.view(torch.int16))
