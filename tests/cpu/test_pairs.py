"""Row pairs on tensor cores (plan/pairs.py): planning, tables, the NumPy executor, the source."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import fftconv_cupy as fc
from fftconv_cupy.codegen.nvrtc import compile_cubin, nvrtc_available
from fftconv_cupy.codegen.source import render_pairs
from fftconv_cupy.plan import pairs as P

ml_dtypes = pytest.importorskip("ml_dtypes")


@pytest.mark.parametrize("args, served", [
    ((4096, 4096, "circular", "bfloat16", "auto"), 4096),
    ((4096, 100, "circular", "bfloat16", "fp16"), 4096),
    ((8192, 8192, "circular", "bfloat16", "auto"), 8192),
    ((4096, 4096, "causal", "bfloat16", "auto"), 8192),       # 8191 outputs: split rows
    ((8192, 8192, "causal", "bfloat16", "auto"), 16384),      # 16383 outputs: four parts
    ((16384, 16384, "circular", "bfloat16", "auto"), 16384),
    ((16384, 16384, "causal", "bfloat16", "auto"), 32768),    # 32767 outputs: eight parts
    ((10000, 9000, "causal", "bfloat16", "auto"), 32768),
    ((16384, 16385, "causal", "bfloat16", "auto"), False),    # K > L
    ((16392, 16392, "causal", "bfloat16", "auto"), False),    # 32783 outputs: no size fits
    ((32768, 32768, "circular", "bfloat16", "auto"), False),  # 128 row registers a lane
    ((5000, 4000, "causal", "bfloat16", "auto"), 16384),
    ((2048, 2048, "causal", "bfloat16", "auto"), 4096),
    ((3000, 1000, "causal", "bfloat16", "auto"), 4096),       # 3999 <= 4096
    ((3000, 1200, "causal", "bfloat16", "auto"), 8192),       # 4199 > 4096
    ((1024, 1024, "causal", "bfloat16", "auto"), False),      # two rows per part need a batch of 4
    ((2044, 2044, "causal", "bfloat16", "auto"), False),      # rows not whole 16-byte pieces
    ((2048, 2048, "causal", "float16", "auto"), False),
    ((4096, 4096, "circular", "float16", "auto"), False),     # fp16 I/O misses 5e-4 so
    ((4096, 4096, "circular", "bfloat16", "fp32"), False),
    ((4096, 4096, "circular", "bfloat16", "bf16"), False),
    ((2048, 2048, "circular", "bfloat16", "auto"), False),
])
def test_pair_plan_serves_what_the_support_table_lists(args, served):
    L, K, mode, io, precision = args
    plan = P.pair_plan(L, K, mode=mode, io=io, precision=precision)
    assert (plan and plan.n) == (served or None)
    if plan is not None:
        assert plan.as_dict()["factors"] == [16, 16, 16] + [plan.n // 4096] * (plan.n > 4096)
        assert plan.len_x == plan.out_len == L and plan.as_dict()["mode"] == mode
        assert plan.as_dict()["threads"] == min(plan.n // 32, 256)   # 16384: 8 points a lane


def _conv(shape, **kw):
    rng = np.random.default_rng(1)
    H, L = shape[-2], shape[-1]
    k = (rng.standard_normal((H, L)) * np.exp(-np.arange(L) / 300))[None]
    return fc.FFTConv(shape, k, mode="circular", dtype="bfloat16", **kw), k


def test_fftconv_picks_row_pairs_for_an_even_batch_only():
    assert _conv((2, 3, 4096))[0].plan.layout == "row_pairs"
    assert _conv((3, 3, 4096))[0].plan.layout != "row_pairs"          # odd batch
    assert _conv((2, 3, 4096), precision="fp32")[0].plan.layout != "row_pairs"
    assert _conv((2, 3, 4096), order=4)[0].plan.layout != "row_pairs"


@pytest.mark.parametrize("kw", [dict(mode="full"), dict(dtype="float16")])
def test_fftconv_keeps_other_problems_off_row_pairs(kw):
    k = np.ones((1, 3, 4096))
    args = dict(mode="circular", dtype="bfloat16") | kw
    assert fc.FFTConv((2, 3, 4096), k, **args).plan.layout != "row_pairs"


def test_row_pairs_need_the_rows_along_the_last_axis():
    k = np.ones((4096, 1, 1))
    conv = fc.FFTConv((4096, 3, 2), k, mode="circular", dtype="bfloat16", axes=0)
    assert conv.plan.layout != "row_pairs"


def test_numpy_executor_of_row_pairs_matches_the_oracle():
    conv, k = _conv((4, 3, 4096))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 4096)).astype(ml_dtypes.bfloat16)
    y = conv(x)
    assert y.dtype == x.dtype and y.shape == x.shape
    ref = np.fft.irfft(np.fft.rfft(x.astype(np.float64)) * np.fft.rfft(k), n=4096)
    err = np.linalg.norm(y.astype(np.float64) - ref) / np.linalg.norm(ref)
    assert err < 3e-3                      # bf16 output rounding (1.65e-3) and fp16 spectrum


def test_spectrum_round_trips_through_its_packing():
    plan = P.pair_plan(4096, 4096, mode="circular", io="bfloat16", precision="auto")
    rng = np.random.default_rng(3)
    k = rng.standard_normal((2, 4096)) * [[1e-3], [1e4]]
    hs = P.kernel_spectrum_pairs(plan, k, np)
    assert hs.dtype == np.uint32 and hs.size == 2 * (4096 + 1)
    Kf, ks = P.unpack_spectrum(plan, hs, 2)
    want, want_ks = P.fragment_spectrum(np.fft.fft(k, axis=-1))
    np.testing.assert_array_equal(ks, want_ks)
    np.testing.assert_allclose(Kf, want, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("mode, L", [("circular", 4096), ("causal", 4096), ("circular", 8192),
                                     ("causal", 8192)])
def test_gathered_spectrum_is_the_packing_pipeline_bit_for_bit(mode, L):
    # kernel_spectrum_pairs gathers the words in one pass; the staged pipeline it replaces
    # (fragment order, fp16 pairs, quads, tables per block j) is the definition
    plan = P.pair_plan(L, L, mode=mode, io="bfloat16", precision="auto")
    rng = np.random.default_rng(L)
    k = rng.standard_normal((3, L)) * [[1e-3], [1.0], [1e4]]
    K = np.fft.fft(k, n=plan.n, axis=-1)
    if plan.split > 1:
        K = P.split_spectrum(K)
    Kf, ks = P.fragment_spectrum(K)
    words = P.quads(P.half_pairs(Kf))
    if plan.split > 1:
        words = np.moveaxis(words, 1, 2)
    want = np.concatenate([words.reshape(3, plan.spectrum_words).ravel(), ks.view(np.uint32)])
    np.testing.assert_array_equal(P.kernel_spectrum_pairs(plan, k, np), want)


def test_row_pair_source_renders_deterministically():
    plan = P.pair_plan(4096, 4096, mode="circular", io="bfloat16", precision="auto")
    a, b = render_pairs(plan), render_pairs(plan)
    assert a.code == b.code and a.entries == ("fftconv_pairs",)
    assert "__launch_bounds__(128, 4)" in a.code and "#pragma unroll 2" in a.code
    assert a.signatures == ("PPPPPPPiiPP",)


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC cannot be loaded")
def test_row_pair_source_compiles_to_sm90():
    from fftconv_cupy.codegen.nvrtc import DEFAULT_OPTIONS
    from fftconv_cupy.codegen.render import include_dir
    plan = P.pair_plan(4096, 4096, mode="circular", io="bfloat16", precision="auto")
    src = render_pairs(plan)
    cubin = compile_cubin(src.code, name="pairs.cu", options=(*DEFAULT_OPTIONS, "-I" + include_dir()),
                          arch="sm_90")
    assert len(cubin) > 1000


def test_numpy_executor_keeps_a_nan_row_to_itself():
    conv, k = _conv((2, 3, 4096))
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4096)).astype(np.float32)
    x[0, 1, 7] = np.nan                     # row (0, 1); its partner is row (1, 1)
    y = conv(x.astype(ml_dtypes.bfloat16)).astype(np.float64)
    assert np.isnan(y[0, 1]).all()
    xf = x.astype(ml_dtypes.bfloat16).astype(np.float64)
    ref = np.fft.irfft(np.fft.rfft(xf[1, 1]) * np.fft.rfft(k[0, 1]), n=4096)
    assert np.linalg.norm(y[1, 1] - ref) / np.linalg.norm(ref) < 3e-3


def _bf16(v):
    return v.astype(np.float32).astype(ml_dtypes.bfloat16).astype(np.float64)


def test_each_row_of_a_pair_is_scaled_on_its_own():
    # the kernel's roundings, emulated: a row 1e-4 the size of its partner keeps the bf16
    # target only with its own scale (one shared scale: what the prototype kernel did)
    rng = np.random.default_rng(7)
    x1 = _bf16(rng.standard_normal(4096))
    x2 = _bf16(1e-4 * rng.standard_normal(4096))
    k = rng.standard_normal(4096) * np.exp(-np.arange(4096) / 300)
    Kf, ks = P.fragment_spectrum(np.fft.fft(k)[None])
    ref2 = np.fft.irfft(np.fft.rfft(x2) * np.fft.rfft(k), n=4096)

    def err2(per_row):
        _, y2 = P.emulate_pair(x1, x2, P._r16(Kf[0]), float(ks[0]), per_row=per_row)
        return np.linalg.norm(_bf16(y2) - ref2) / np.linalg.norm(ref2)
    assert err2(per_row=True) < 3e-3
    assert err2(per_row=False) > 3e-2


def test_emulating_executor_meets_the_bf16_target_row_by_row():
    conv, k = _conv((2, 3, 4096))
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 4096)) * np.array([1.0, 1e-3])[:, None, None]
    xb = x.astype(ml_dtypes.bfloat16)
    rows = xb.astype(np.float64).reshape(6, 4096)
    y = P.execute_pairs(conv.plan, rows, conv.spectrum, 3, emulate=True)
    ref = np.fft.irfft(np.fft.rfft(rows) * np.fft.rfft(np.tile(k[0], (2, 1))), n=4096)
    err = np.linalg.norm(_bf16(y) - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() < 3e-3, err


# --- causal rows and gates ------------------------------------------------------------

def _causal_oracle(u, k, pre=None, post=None):
    """float64 first L samples of the linear convolution, on the bf16-rounded operands."""
    L = u.shape[-1]
    x = u.astype(np.float64) * (1 if pre is None else pre.astype(np.float64))
    n = 2 * L
    y = np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(np.asarray(k, np.float64), n), n)[..., :L]
    return y if post is None else y * post.astype(np.float64)


@pytest.mark.parametrize("L, K", [(2048, 2048), (2048, 64), (1536, 1536), (3000, 1000)])
@pytest.mark.parametrize("gated", [(False, False), (True, True), (True, False), (False, True)])
def test_causal_conv_numpy_executor_of_row_pairs_matches_the_oracle(L, K, gated):
    rng = np.random.default_rng(L + K)
    B, H = 2, 3
    u = rng.standard_normal((B, H, L)).astype(ml_dtypes.bfloat16)
    k = rng.standard_normal((H, K)) / np.sqrt(K)
    pre, post = (rng.uniform(-2, 2, (B, H, L)).astype(ml_dtypes.bfloat16) if g else None
                 for g in gated)
    plan = fc.api._row_pairs(L, K, mode="causal", io16="bfloat16", precision="auto", order=None,
                             limits={"clusters": True}, batch=B, gates=gated)
    assert plan is not None and plan.len_x == L and (plan.gate_pre, plan.gate_post) == gated
    y = fc.causal_conv(u, k, pre_gate=pre, post_gate=post)
    assert y.dtype == u.dtype and y.shape == u.shape
    ref = _causal_oracle(u, k[None], pre, post)
    err = np.linalg.norm(y.astype(np.float64) - ref) / np.linalg.norm(ref)
    assert err < 2.5e-3                    # bf16 output rounding (1.7e-3) and fp16 spectrum


def test_causal_row_pairs_emulated_meet_the_bf16_target_gated():
    # the kernel's roundings: the gated rows (fp32 products) scaled row by row, zero padding
    plan = P.pair_plan(2048, 2048, mode="causal", io="bfloat16", precision="auto",
                       gates=(True, True))
    rng = np.random.default_rng(11)
    H = 2
    x = _bf16(rng.standard_normal((4, 2048)) * np.array([[1.0], [1e-3], [1e2], [1.0]]))
    pre, post = (_bf16(rng.uniform(-2, 2, (4, 2048))) for _ in range(2))
    k = rng.standard_normal((H, 2048)) / 45
    hs = P.kernel_spectrum_pairs(plan, k, np)
    y = P.execute_pairs(plan, x, hs, H, emulate=True, pre_gate=pre, post_gate=post)
    ref = _causal_oracle(x, np.tile(k, (2, 1)), pre, post)
    err = np.linalg.norm(_bf16(y) - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() < 3e-3, err


def test_causal_numpy_executor_keeps_a_nan_row_to_itself():
    rng = np.random.default_rng(12)
    u = rng.standard_normal((2, 2, 2048)).astype(np.float32)
    u[1, 0, 5] = np.inf                     # pairs with row (0, 0)
    ub = u.astype(ml_dtypes.bfloat16)
    k = rng.standard_normal((2, 100))
    y = fc.causal_conv(ub, k).astype(np.float64)
    assert np.isnan(y[1, 0]).all()
    ref = _causal_oracle(ub[0, 0], k[0])
    assert np.linalg.norm(y[0, 0] - ref) / np.linalg.norm(ref) < 3e-3


def test_fftconv_causal_rows_take_row_pairs_where_they_fit():
    k = np.ones((1, 3, 2048))
    assert fc.FFTConv((2, 3, 2048), k, mode="causal", dtype="bfloat16").plan.layout == "row_pairs"
    assert fc.FFTConv((2, 3, 2048), k, mode="full", dtype="bfloat16").plan.layout != "row_pairs"
    assert fc.FFTConv((1, 3, 2048), k, mode="causal", dtype="bfloat16").plan.layout != "row_pairs"


def test_gated_row_pairs_stay_within_static_shared_memory():
    # each gate keeps its pair's two rows in shared memory
    plan = P.pair_plan(4000, 1, mode="causal", io="bfloat16", precision="auto", gates=(True, True))
    assert plan is not None and plan.smem_bytes <= P.SMEM_NO_OPT_IN
    assert plan.as_dict()["shared_memory_bytes"] == P.SMEM_BYTES + 2 * 2 * 4000 * 2
    assert P.pair_plan(4096, 1, mode="causal", io="bfloat16", precision="auto",
                       gates=(True, True)) is None
    assert P.pair_plan(4096, 1, mode="causal", io="bfloat16", precision="auto",
                       gates=(True, False)) is not None


def test_row_pair_executor_refuses_gates_the_plan_was_not_made_for():
    from fftconv_cupy.runtime.pairs import PairExecutor
    plan = P.pair_plan(2048, 2048, mode="causal", io="bfloat16", precision="auto")
    ex = PairExecutor.__new__(PairExecutor)
    ex.plan = plan
    with pytest.raises(ValueError, match="gates given do not match"):
        ex(None, None, None, batch=2, channels=1, pre_gate=np.zeros(1))


@pytest.mark.parametrize("gates", [(False, False), (True, False), (False, True), (True, True)])
def test_causal_row_pair_source(gates):
    plan = P.pair_plan(1536, 1536, mode="causal", io="bfloat16", precision="auto", gates=gates)
    code = render_pairs(plan).code
    assert "constexpr int L = 1536;" in code and "if (off >= L)" in code
    # gates reach shared memory by cp.async: pre one pair ahead, post at the pair's start
    assert ("fetch_gates(gpre, p + gridDim.x, pre_s)" in code) == gates[0]
    assert ("fetch_gates(gpost, p, post_s)" in code) == gates[1]
    assert "__ldg(reinterpret_cast<const u32*>" not in code      # no fragment-order global reads
    assert render_pairs(plan).signatures == ("PPPPPPPiiPP",)
    circ = render_pairs(P.pair_plan(4096, 4096, mode="circular", io="bfloat16", precision="auto")).code
    assert "if (off >= L)" not in circ and "8 * v >= L" not in circ
    # rows of at most n / 2: stage 1 over the nonzero half (m16n8k8), half the last product
    assert "left_k8<1>(yv" in code and "right<-1, Cplx, 1>(yv" in code
    assert "left<1>(yv" in circ and "right<-1, Cplx, 2>(yv" in circ
    longer = render_pairs(P.pair_plan(3000, 1000, mode="causal", io="bfloat16", precision="auto")).code
    assert "left<1>(yv" in longer and "if (off >= L)" in longer


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC cannot be loaded")
@pytest.mark.parametrize("gates", [(False, False), (True, True)])
def test_causal_row_pair_source_compiles_to_sm90(gates):
    from fftconv_cupy.codegen.nvrtc import DEFAULT_OPTIONS
    from fftconv_cupy.codegen.render import include_dir
    plan = P.pair_plan(2048, 2048, mode="causal", io="bfloat16", precision="auto", gates=gates)
    cubin = compile_cubin(render_pairs(plan).code, name="pairs.cu",
                          options=(*DEFAULT_OPTIONS, "-I" + include_dir()), arch="sm_90")
    assert len(cubin) > 1000


GOLDEN_PAIRS = {
    "row_pairs_circular_bf16_4096": dict(len_x=4096, len_k=4096, mode="circular"),
    "row_pairs_causal_bf16_1536_gated": dict(len_x=1536, len_k=1536, mode="causal", gates=(True, True)),
    "row_pairs_causal_bf16_512x4_gated": dict(len_x=512, len_k=512, mode="causal", gates=(True, True),
                                              batch=8),
    "row_pairs_causal_bf16_4096_split": dict(len_x=4096, len_k=4096, mode="causal"),
    "row_pairs_causal_bf16_4096_split_gated": dict(len_x=4096, len_k=4096, mode="causal",
                                                   gates=(True, True)),
    "row_pairs_circular_bf16_16384_split4": dict(len_x=16384, len_k=16384, mode="circular"),
    "row_pairs_causal_bf16_16384_split8": dict(len_x=16384, len_k=16384, mode="causal"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_PAIRS))
def test_row_pair_golden(name):
    import os
    from pathlib import Path
    args = dict(GOLDEN_PAIRS[name])
    plan = P.pair_plan(args.pop("len_x"), args.pop("len_k"), io="bfloat16", precision="auto", **args)
    code = render_pairs(plan).code
    path = Path(__file__).resolve().parents[1] / "golden" / f"{name}.cu"
    if os.environ.get("FFTCONV_CUPY_UPDATE_GOLDEN") == "1":
        path.write_text(code)
    assert path.exists(), f"missing golden file {path}; run with FFTCONV_CUPY_UPDATE_GOLDEN=1"
    assert code == path.read_text(), f"{name}: rendered source differs from {path}"


def test_fftconv_causal_row_pairs_match_causal_conv_and_the_oracle():
    rng = np.random.default_rng(13)
    B, H, L, K = 2, 3, 2048, 700
    k = rng.standard_normal((1, H, K)) / 26
    conv = fc.FFTConv((B, H, L), k, mode="causal", dtype="bfloat16")
    assert conv.plan.layout == "row_pairs" and conv.plan.len_x == L
    u = rng.standard_normal((B, H, L)).astype(ml_dtypes.bfloat16)
    y = conv(u)
    assert y.dtype == u.dtype and y.shape == u.shape
    np.testing.assert_array_equal(y.view(np.uint16), fc.causal_conv(u, k[0]).view(np.uint16))
    ref = _causal_oracle(u, k)
    assert np.linalg.norm(y.astype(np.float64) - ref) / np.linalg.norm(ref) < 2.5e-3


def test_an_empty_batch_keeps_off_row_pairs():
    assert fc.api._row_pairs(2048, 2048, mode="causal", io16="bfloat16", precision="auto",
                             order=None, limits={"clusters": True}, batch=0) is None
    u = np.zeros((0, 3, 2048), dtype=ml_dtypes.bfloat16)
    y = fc.causal_conv(u, np.ones((3, 10)))
    assert y.shape == u.shape and y.dtype == u.dtype


def test_bf16_finiteness_of_gated_products_matches_rounding():
    v = np.array([1.0, 3.38e38, 3.396e38, 3.4e38, np.inf, np.nan, -3.4e38, -1e-45], np.float32)
    want = np.isfinite(v.astype(ml_dtypes.bfloat16).astype(np.float32))
    np.testing.assert_array_equal(P._bf16_finite(v), want)


def test_a_large_value_under_a_zero_gate_stays_finite_in_the_numpy_executor():
    rng = np.random.default_rng(14)
    u = rng.standard_normal((2, 1, 2048)).astype(np.float32)
    u[0, 0, 1] = 2.0 ** 121
    g = np.ones_like(u)
    g[0, 0, 1] = 0
    ub, gb = u.astype(ml_dtypes.bfloat16), g.astype(ml_dtypes.bfloat16)
    k = rng.standard_normal((1, 300)) / 17
    y = fc.causal_conv(ub, k, pre_gate=gb).astype(np.float64)
    ref = _causal_oracle(ub, k, gb)
    assert np.isfinite(y).all()
    assert np.linalg.norm(y - ref) / np.linalg.norm(ref) < 3e-3


# --- several causal rows per part of a transform (segments) ----------------------------

@pytest.mark.parametrize("L, batch, segments", [
    (1024, 4, 2), (1024, 8, 2), (1000, 4, 2), (520, 4, 2), (1024, 2, None), (1024, 6, None),
    (512, 8, 4), (264, 16, 4), (512, 4, None), (256, 16, None), (2048, 2, 1), (1032, 2, 1),
])
def test_short_causal_rows_share_a_transform(L, batch, segments):
    plan = P.pair_plan(L, L, mode="causal", io="bfloat16", precision="auto", batch=batch)
    assert (plan and plan.segments) == segments
    if plan is not None:
        assert plan.rows_per_block == 2 * segments and plan.segment_len == 4096 // segments
        assert plan.as_dict()["rows_per_block"] == 2 * segments


def test_segments_are_for_causal_rows_that_fit_them():
    with pytest.raises(ValueError, match="segments need causal rows of at most 1024"):
        P.PairPlan(n=4096, radices=(16, 16, 16), len_k=8, io="bfloat16", mode="causal",
                   length=1032, segments=2)
    with pytest.raises(ValueError, match="segments must be one of"):
        P.PairPlan(n=4096, radices=(16, 16, 16), len_k=8, io="bfloat16", mode="causal",
                   length=128, segments=16)


def _fragments(words, kregs):
    """uint32 fp16 pairs per lane (32, kregs) -> complex values at A-fragment (row, col)."""
    def val(v):
        lo = (v & 0xFFFF).astype(np.uint16).view(np.float16).astype(np.float64)
        hi = (v >> 16).astype(np.uint16).view(np.float16).astype(np.float64)
        return np.stack([lo, hi], axis=-1)
    return val(words[:, :kregs]) + 1j * val(words[:, kregs:])


@pytest.mark.parametrize("segments", [2, 4])
def test_permuted_lane_constants_compute_stage_1_and_the_last_product_of_the_nonzero_rows(segments):
    # the m16n8k8 product A B over rows kk of B = F over the nonzero rows a(kk), and the
    # last product's n-block 0 = columns a(nn) of the dense product, read from the table
    # the kernel reads, in its fragment layout
    table = P.lane_constants(4096, segments)
    assert table.shape == (8, 32, 4)
    a = P.segment_rows(segments)
    assert sorted(a) == [v for v in range(16) if v % (16 // segments) < 8 // segments]
    F = np.exp(-2j * np.pi * np.outer(np.arange(16), np.arange(16)) / 16) / 4
    lane = np.arange(32)
    g, q = lane >> 2, lane & 3
    A = np.zeros((16, 8), complex)
    fa = _fragments(table[6], 2)                   # (32, 2 regs, 2 e)
    for k in range(2):
        for e in range(2):
            A[g + 8 * k, 2 * q + e] = fa[:, k, e]
    np.testing.assert_allclose(A, F[:, a], atol=1e-3)
    B = np.zeros((16, 8), complex)
    gb = _fragments(table[7], 2)
    for hh in range(2):
        for e in range(2):
            B[2 * q + 8 * hh + e, g] = gb[:, hh, e]
    np.testing.assert_allclose(B, F[:, a], atol=1e-3)
    np.testing.assert_array_equal(table[:6], P.lane_constants(4096))


@pytest.mark.parametrize("L, K, B", [(1024, 1024, 4), (1000, 37, 4), (512, 512, 8), (264, 200, 8)])
@pytest.mark.parametrize("gated", [(False, False), (True, True)])
def test_causal_conv_numpy_executor_of_segments_matches_the_oracle(L, K, B, gated):
    rng = np.random.default_rng(L + K + B)
    H = 3
    u = rng.standard_normal((B, H, L)).astype(ml_dtypes.bfloat16)
    k = rng.standard_normal((H, K)) / np.sqrt(K)
    pre, post = (rng.uniform(-2, 2, (B, H, L)).astype(ml_dtypes.bfloat16) if g else None
                 for g in gated)
    plan = fc.api._row_pairs(L, K, mode="causal", io16="bfloat16", precision="auto", order=None,
                             limits={"clusters": True}, batch=B, gates=gated)
    assert plan is not None and plan.segments > 1
    y = fc.causal_conv(u, k, pre_gate=pre, post_gate=post)
    assert y.dtype == u.dtype and y.shape == u.shape
    ref = _causal_oracle(u, k[None], pre, post)
    err = np.linalg.norm(y.astype(np.float64) - ref, axis=-1) / np.linalg.norm(ref, axis=-1)
    assert err.max() < 2.5e-3, err


@pytest.mark.parametrize("L, S", [(1024, 2), (512, 4)])
def test_segments_emulated_keep_each_row_to_its_own_scale(L, S):
    # rows of one part 1e-4 apart in size: each segment's own scale keeps the small ones
    # at the bf16 target under the kernel's fp16 roundings
    plan = P.pair_plan(L, L, mode="causal", io="bfloat16", precision="auto", batch=2 * S)
    assert plan.segments == S
    rng = np.random.default_rng(15)
    sizes = np.array([1.0, 1e-4, 1e2, 1e-2, 3.0, 1e-3, 1.0, 1e3])[:2 * S, None]
    x = _bf16(rng.standard_normal((2 * S, L)) * sizes)
    k = rng.standard_normal((1, L)) / np.sqrt(L)
    hs = P.kernel_spectrum_pairs(plan, k, np)
    y = P.execute_pairs(plan, x, hs, 1, emulate=True)
    ref = _causal_oracle(x, k)
    err = np.linalg.norm(_bf16(y) - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() < 3e-3, err


def test_numpy_executor_keeps_a_nan_row_of_a_segment_to_itself():
    rng = np.random.default_rng(16)
    u = rng.standard_normal((8, 2, 512)).astype(np.float32)
    u[2, 1, 5] = np.nan                     # the third row of channel 1's block
    ub = u.astype(ml_dtypes.bfloat16)
    k = rng.standard_normal((2, 100)) / 10
    y = fc.causal_conv(ub, k).astype(np.float64)
    assert np.isnan(y[2, 1]).all() and np.isfinite(np.delete(y, 2, axis=0)).all()
    ref = _causal_oracle(ub, k)
    keep = np.ones(8, bool)
    keep[2] = False
    assert np.linalg.norm(y[keep] - ref[keep]) / np.linalg.norm(ref[keep]) < 3e-3


@pytest.mark.parametrize("L, S", [(1024, 2), (512, 4)])
def test_segment_source(L, S):
    plan = P.pair_plan(L, L, mode="causal", io="bfloat16", precision="auto", batch=8,
                       gates=(True, True))
    code = render_pairs(plan).code
    assert f"__shared__ unsigned red[{8 * S}];" in code
    assert f"pre_s[{2 * S}][L]" in code and f"post_s[{2 * S}][L]" in code
    assert "left_k8<1>(yv, fpr, fpi, fpni, br, bi)" in code
    assert "right<-1, Cplx, 1>(yv, ar, aim, gpr, gpi, gpni)" in code
    assert f"const int s = v / {4096 // (16 * S)}" in code
    # the block-size hint where it measured faster: gated segments and single rows, not
    # ungated segments
    hint = "__builtin_assume(threadIdx.x < 128)"
    assert hint in code
    assert hint not in render_pairs(P.pair_plan(L, L, mode="causal", io="bfloat16",
                                                precision="auto", batch=8)).code
    single = render_pairs(P.pair_plan(2048, 2048, mode="causal", io="bfloat16",
                                      precision="auto")).code
    assert hint in single
    # row loads from the lane's first element: ungated single rows only (measured)
    rebased = "const int d = 256 * (ai & 1)"
    assert rebased in single and rebased not in code
    assert rebased not in render_pairs(P.pair_plan(L, L, mode="causal", io="bfloat16",
                                                   precision="auto", batch=8)).code


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC cannot be loaded")
@pytest.mark.parametrize("L, gates", [(1024, (False, False)), (512, (True, True)), (1000, (True, False))])
def test_segment_source_compiles_to_sm90(L, gates):
    from fftconv_cupy.codegen.nvrtc import DEFAULT_OPTIONS
    from fftconv_cupy.codegen.render import include_dir
    plan = P.pair_plan(L, L, mode="causal", io="bfloat16", precision="auto", gates=gates, batch=8)
    cubin = compile_cubin(render_pairs(plan).code, name="pairs.cu",
                          options=(*DEFAULT_OPTIONS, "-I" + include_dir()), arch="sm_90")
    assert len(cubin) > 1000


def test_fftconv_causal_takes_segments_for_a_batch_of_their_multiple():
    k = np.ones((1, 3, 1024))
    assert fc.FFTConv((4, 3, 1024), k, mode="causal", dtype="bfloat16").plan.segments == 2
    assert fc.FFTConv((2, 3, 1024), k, mode="causal", dtype="bfloat16").plan.layout != "row_pairs"


def test_row_pair_executor_refuses_a_batch_its_blocks_do_not_divide():
    from fftconv_cupy.runtime.pairs import PairExecutor
    plan = P.pair_plan(512, 512, mode="causal", io="bfloat16", precision="auto", batch=8)
    ex = PairExecutor.__new__(PairExecutor)
    ex.plan = plan
    with pytest.raises(ValueError, match="multiple of 8, got 4"):
        ex(None, None, None, batch=4, channels=1)


# --- split rows: n = 8192 as two 4096-point transforms (decimation in time) ------------

def test_split_spectrum_mixes_to_the_8192_point_convolution():
    # P, Q, R take the even / odd transforms of a row to the spectra of its even / odd outputs
    rng = np.random.default_rng(20)
    z = rng.standard_normal(8192) + 1j * rng.standard_normal(8192)
    K = np.fft.fft(rng.standard_normal(8192))
    Pm, Qm, Rm = P.split_spectrum(K[None])[0]
    E, O = np.fft.fft(z[0::2]), np.fft.fft(z[1::2])
    y = np.fft.ifft(np.fft.fft(z) * K)
    np.testing.assert_allclose(np.fft.ifft(Pm * E + Qm * O), y[0::2], atol=1e-9)
    np.testing.assert_allclose(np.fft.ifft(Rm * E + Pm * O), y[1::2], atol=1e-9)


def test_split_spectrum_round_trips_through_its_packing():
    plan = P.pair_plan(4096, 4096, mode="causal", io="bfloat16", precision="auto")
    assert plan.split == 2 and plan.spectrum_words == 3 * 4096
    rng = np.random.default_rng(21)
    k = rng.standard_normal((2, 4096)) * [[1e-3], [1e4]]
    hs = P.kernel_spectrum_pairs(plan, k, np)
    assert hs.dtype == np.uint32 and hs.size == 2 * (3 * 4096 + 1)
    Kf, ks = P.unpack_spectrum(plan, hs, 2)
    want, want_ks = P.fragment_spectrum(P.split_spectrum(np.fft.fft(k, n=8192, axis=-1)))
    assert Kf.shape == (2, 3, 16, 4, 32, 2)
    np.testing.assert_array_equal(ks, want_ks)
    np.testing.assert_allclose(Kf, want, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("mode, L, K", [("causal", 4096, 4096), ("causal", 3000, 1200),
                                        ("circular", 8192, 8192), ("circular", 8192, 100)])
@pytest.mark.parametrize("emulate", [False, True])
def test_split_rows_meet_the_bf16_target_row_by_row(mode, L, K, emulate):
    # float64 flow (fp16 spectrum) and the kernel's roundings emulated; rows of different
    # sizes share blocks (each keeps its own scale)
    plan = P.pair_plan(L, K, mode=mode, io="bfloat16", precision="auto")
    assert plan.n == 8192 and plan.split == 2
    rng = np.random.default_rng(L + K)
    H = 2
    x = _bf16(rng.standard_normal((4, L)) * np.array([[1.0], [1e-3], [1e2], [1.0]]))
    k = rng.standard_normal((H, K)) / np.sqrt(K)
    hs = P.kernel_spectrum_pairs(plan, k, np)
    y = P.execute_pairs(plan, x, hs, H, emulate=emulate)
    kk = np.tile(k, (2, 1))
    if mode == "causal":
        ref = _causal_oracle(x, kk)
    else:
        ref = np.fft.irfft(np.fft.rfft(x) * np.fft.rfft(kk, L), L)
    err = np.linalg.norm(_bf16(y) - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() < (3e-3 if emulate else 2e-3), err
    if not emulate:                        # before the output rounding: the fp16 spectrum only
        assert (np.linalg.norm(y - ref, axis=1) / np.linalg.norm(ref, axis=1)).max() < 5e-4


def test_causal_conv_of_4096_takes_split_row_pairs():
    rng = np.random.default_rng(22)
    B, H, L = 2, 2, 4096
    u = rng.standard_normal((B, H, L)).astype(ml_dtypes.bfloat16)
    k = rng.standard_normal((H, L)) / 64
    conv = fc.FFTConv((B, H, L), k[None], mode="causal", dtype="bfloat16")
    assert conv.plan.layout == "row_pairs" and conv.plan.n == 8192
    y = conv(u)
    np.testing.assert_array_equal(y.view(np.uint16), fc.causal_conv(u, k).view(np.uint16))
    ref = _causal_oracle(u, k[None])
    assert np.linalg.norm(y.astype(np.float64) - ref) / np.linalg.norm(ref) < 2.5e-3


def test_split_rows_take_gates_when_causal_and_no_segments():
    plan = P.pair_plan(4096, 4096, mode="causal", io="bfloat16", precision="auto",
                       gates=(True, True))
    assert plan.n == 8192 and plan.smem_bytes == 2 * 16384 + 64      # the gates stay in registers
    with pytest.raises(ValueError, match="one row per part, gated if causal"):
        P.PairPlan(n=8192, radices=(16, 16, 16, 2), len_k=8, io="bfloat16", gate_pre=True)
    with pytest.raises(ValueError, match="one row per part"):
        P.PairPlan(n=8192, radices=(16, 16, 16, 2), len_k=8, io="bfloat16", mode="causal",
                   length=2048, segments=2)
    with pytest.raises(ValueError, match="row pairs compute sizes"):
        P.PairPlan(n=2048, radices=(16, 16, 8), len_k=8, io="bfloat16")


@pytest.mark.parametrize("gates", [(True, True), (True, False), (False, True)])
def test_gated_split_rows_meet_the_bf16_target_emulated(gates):
    plan = P.pair_plan(4096, 4096, mode="causal", io="bfloat16", precision="auto", gates=gates)
    rng = np.random.default_rng(23)
    H = 2
    x = _bf16(rng.standard_normal((4, 4096)) * np.array([[1.0], [1e-3], [1e2], [1.0]]))
    pre, post = (_bf16(rng.uniform(-2, 2, (4, 4096))) if g else None for g in gates)
    k = rng.standard_normal((H, 4096)) / 64
    hs = P.kernel_spectrum_pairs(plan, k, np)
    y = P.execute_pairs(plan, x, hs, H, emulate=True, pre_gate=pre, post_gate=post)
    ref = _causal_oracle(x, np.tile(k, (2, 1)), pre, post)
    err = np.linalg.norm(_bf16(y) - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() < 3e-3, err


def test_gated_split_row_source():
    plan = P.pair_plan(4096, 4096, mode="causal", io="bfloat16", precision="auto", gates=(True, True))
    code = render_pairs(plan).code
    assert "load_gates(p + gridDim.x)" in code and "gpo1[nb][r] = __ldg" in code
    assert "pre_s" not in code and "cp_async" not in code       # no shared-memory gate rows


def test_split_row_source():
    plan = P.pair_plan(4096, 4096, mode="causal", io="bfloat16", precision="auto")
    code = render_pairs(plan).code
    assert "__launch_bounds__(256, 2)" in code and "smem[32768]" in code
    assert "mix_table<2>(dr, di, sp + jb * 192, lane)" in code
    assert "left_k8<1>(yv" in code and "right<-1, Cplx, 1>(yv" in code
    assert render_pairs(plan).signatures == ("PPPPPPPiiPP",)
    circ = render_pairs(P.pair_plan(8192, 8192, mode="circular", io="bfloat16", precision="auto")).code
    assert "left<1>(yv" in circ and "right<-1, Cplx, 2>(yv" in circ and "8 * v >= L" not in circ


def test_four_part_split_row_source():
    # n = 16384: 256 threads of 8 points a lane (two tiles and two stage-3 blocks per warp),
    # the 64 KB exchange buffer in dynamic shared memory (static shared memory stops at 48 KB)
    plan = P.pair_plan(8192, 8192, mode="causal", io="bfloat16", precision="auto")
    assert (plan.n, plan.split, plan.threads, plan.min_blocks) == (16384, 4, 256, 2)
    assert plan.dynamic_smem == 65536 and plan.spectrum_words == 7 * 4096
    code = render_pairs(plan).code
    assert "__launch_bounds__(256, 2)" in code and "extern __shared__" in code
    assert "mix_table<4>(dr, di, sp + jb * 448, lane)" in code
    assert "const int c = 2 * w + (t >> 2);" in code and "const uint4*>(x1 + d)" in code
    wide = render_pairs(replace(plan, lane_points=4, min_blocks=1)).code   # 16 warps of 4 points
    assert "__launch_bounds__(512, 1)" in wide and "const int c = w;" in wide
    with pytest.raises(ValueError, match="lane_points"):
        replace(P.pair_plan(4096, 4096, mode="causal", io="bfloat16", precision="auto"), lane_points=8)
    small = render_pairs(P.pair_plan(4096, 4096, mode="causal", io="bfloat16", precision="auto"))
    assert "extern __shared__" not in small.code


def test_four_part_split_rows_take_gates_in_registers():
    plan = P.pair_plan(8192, 8192, mode="causal", io="bfloat16", precision="auto",
                       gates=(True, True))
    assert plan.n == 16384 and plan.smem_bytes - plan.dynamic_smem <= 48 * 1024
    assert plan.min_blocks == 1          # one block an SM: no spills (measured faster)
    circular = P.pair_plan(16384, 16384, mode="circular", io="bfloat16", precision="auto")
    assert (circular.threads, circular.min_blocks) == (256, 1)
    assert P.pair_plan(16384, 16384, mode="circular", io="bfloat16", precision="auto",
                       gates=(True, False)) is None


def test_split_spectrum_of_four_parts_mixes_to_the_16384_point_convolution():
    # G_e' = sum_e W[e - e'] E_e gives the parts e' = 0..3 of the 16384-point circular
    # convolution from the 4096-point transforms E_e of the parts
    rng = np.random.default_rng(24)
    z = rng.standard_normal(16384) + 1j * rng.standard_normal(16384)
    K = np.fft.fft(rng.standard_normal(16384))
    W = P.split_spectrum(K[None])[0]
    assert W.shape == (7, 4096)
    E = [np.fft.fft(z[e::4]) for e in range(4)]
    y = np.fft.ifft(np.fft.fft(z) * K)
    for e2 in range(4):
        G = sum(W[(e - e2) % 7] * E[e] for e in range(4))
        np.testing.assert_allclose(np.fft.ifft(G), y[e2::4], atol=1e-9 * np.abs(y).max())


@pytest.mark.parametrize("mode, L, K", [("causal", 8192, 8192), ("causal", 5000, 4000),
                                        ("circular", 16384, 16384)])
@pytest.mark.parametrize("emulate", [False, True])
def test_four_part_split_rows_meet_the_bf16_target_row_by_row(mode, L, K, emulate):
    plan = P.pair_plan(L, K, mode=mode, io="bfloat16", precision="auto")
    assert plan.n == 16384 and plan.split == 4
    rng = np.random.default_rng(L + K + 1)
    H = 2
    x = _bf16(rng.standard_normal((4, L)) * np.array([[1.0], [1e-3], [1e2], [1.0]]))
    k = rng.standard_normal((H, K)) / 64
    hs = P.kernel_spectrum_pairs(plan, k, np)
    y = P.execute_pairs(plan, x, hs, H, emulate=emulate)
    kk = np.tile(k, (2, 1))
    if mode == "causal":
        ref = _causal_oracle(x, kk)
    else:
        ref = np.fft.irfft(np.fft.rfft(x) * np.fft.rfft(kk, L), L)
    err = np.linalg.norm(_bf16(y) - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() < (3e-3 if emulate else 2e-3), err
    if not emulate:
        assert (np.linalg.norm(y - ref, axis=1) / np.linalg.norm(ref, axis=1)).max() < 5e-4


@pytest.mark.parametrize("gates", [(True, True), (False, True)])
def test_gated_four_part_split_rows_meet_the_bf16_target_emulated(gates):
    plan = P.pair_plan(8192, 6000, mode="causal", io="bfloat16", precision="auto", gates=gates)
    assert plan.n == 16384
    rng = np.random.default_rng(25)
    H = 2
    x = _bf16(rng.standard_normal((4, 8192)) * np.array([[1.0], [1e-3], [1e2], [1.0]]))
    pre, post = (_bf16(rng.uniform(-2, 2, (4, 8192))) if g else None for g in gates)
    k = rng.standard_normal((H, 6000)) / 64
    hs = P.kernel_spectrum_pairs(plan, k, np)
    y = P.execute_pairs(plan, x, hs, H, emulate=True, pre_gate=pre, post_gate=post)
    ref = _causal_oracle(x, np.tile(k, (2, 1)), pre, post)
    err = np.linalg.norm(_bf16(y) - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() < 3e-3, err


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC cannot be loaded")
@pytest.mark.parametrize("mode, L, gates", [("causal", 4096, (False, False)),
                                            ("circular", 8192, (False, False)),
                                            ("causal", 8192, (False, False)),
                                            ("causal", 8192, (True, True)),
                                            ("circular", 16384, (False, False)),
                                            ("causal", 16384, (False, False)),
                                            ("causal", 16384, (True, False))])
def test_split_row_source_compiles_to_sm90(mode, L, gates):
    from fftconv_cupy.codegen.nvrtc import DEFAULT_OPTIONS
    from fftconv_cupy.codegen.render import include_dir
    plan = P.pair_plan(L, L, mode=mode, io="bfloat16", precision="auto", gates=gates)
    cubin = compile_cubin(render_pairs(plan).code, name="pairs.cu",
                          options=(*DEFAULT_OPTIONS, "-I" + include_dir()), arch="sm_90")
    assert len(cubin) > 1000


# --- eight parts: n = 32768 (causal rows of 8193-16384) ------------------------------

def test_eight_part_split_row_source():
    # 256 threads of 16 points a lane (two 16-byte loads), one block an SM: the 128 KB
    # exchange buffer; fifteen mixing tables per stage-3 block
    plan = P.pair_plan(16384, 16384, mode="causal", io="bfloat16", precision="auto")
    assert (plan.n, plan.split, plan.threads, plan.min_blocks, plan.lane_points) == (32768, 8, 256, 1, 16)
    assert plan.dynamic_smem == 131072 and plan.spectrum_words == 15 * 4096
    assert plan.smem_bytes <= 227 * 1024 and plan.smem_bytes - plan.dynamic_smem <= 48 * 1024
    code = render_pairs(plan).code
    assert "__launch_bounds__(256, 1)" in code and "extern __shared__" in code
    assert "mix_table<8>(dr, di, sp + jb * 960, lane)" in code
    assert "const int c = 2 * w + (t >> 3);" in code and "ldg_x8(x1 + d)" in code
    assert "u32x8 raw1[4][2]" in code and "8 * v >= L" in code
    assert "mix_table<8>(" in code
    # a looping grid; with early loads the next pair's rows load before stage 3
    assert plan.grid_per_sm == 1 and not plan.early_loads
    assert code.count("load_pair(p + gridDim.x, raw1, raw2)") == 1
    assert code.index("load_pair(p + gridDim.x") > code.index("mix_table<8>(")
    early = render_pairs(replace(plan, early_loads=True)).code
    assert early.count("load_pair(p + gridDim.x, raw1, raw2)") == 1
    assert early.index("load_pair(p + gridDim.x") < early.index("mix_table<8>(")
    post = P.pair_plan(16384, 16384, mode="causal", io="bfloat16", precision="auto",
                       gates=(False, True))
    assert post.grid_per_sm == 1 and post.early_loads      # measured 3 % faster post-gated
    with pytest.raises(ValueError, match="lane_points"):
        replace(plan, lane_points=4)
    wide = render_pairs(replace(plan, lane_points=8)).code     # 16 warps of 8 points (measured slower)
    assert "__launch_bounds__(512, 1)" in wide and "const int c = w;" in wide
    assert "(256 * a + 16 * b + w)" in wide
    gated = P.pair_plan(12000, 9000, mode="causal", io="bfloat16", precision="auto",
                        gates=(True, False))
    gated_code = render_pairs(gated).code
    assert gated.n == 32768 and "ldg_x8(g1 + off)" in gated_code
    assert "mix_table<8, true>(" in gated_code        # lean tables: the gates need the registers
    # both gates: the fp32 plan (measured faster than eight parts with both gates in registers)
    assert P.pair_plan(12000, 9000, mode="causal", io="bfloat16", precision="auto",
                       gates=(True, True)) is None
    # gated rows past half of 16384 take 32768 (their 16384-point kernel would hold both
    # rows' values and gates in registers); ungated ones keep 16384
    assert P.pair_plan(10000, 6000, mode="causal", io="bfloat16", precision="auto",
                       gates=(False, True)).n == 32768
    assert P.pair_plan(10000, 6000, mode="causal", io="bfloat16", precision="auto").n == 16384


def test_split_spectrum_of_eight_parts_mixes_to_the_32768_point_convolution():
    rng = np.random.default_rng(26)
    z = rng.standard_normal(32768) + 1j * rng.standard_normal(32768)
    K = np.fft.fft(rng.standard_normal(32768))
    W = P.split_spectrum(K[None])[0]
    assert W.shape == (15, 4096)
    E = [np.fft.fft(z[e::8]) for e in range(8)]
    y = np.fft.ifft(np.fft.fft(z) * K)
    for e2 in range(8):
        G = sum(W[(e - e2) % 15] * E[e] for e in range(8))
        np.testing.assert_allclose(np.fft.ifft(G), y[e2::8], atol=1e-9 * np.abs(y).max())


@pytest.mark.parametrize("L, K", [(16384, 16384), (10000, 9000)])
@pytest.mark.parametrize("emulate", [False, True])
def test_eight_part_split_rows_meet_the_bf16_target_row_by_row(L, K, emulate):
    plan = P.pair_plan(L, K, mode="causal", io="bfloat16", precision="auto")
    assert plan.n == 32768 and plan.split == 8
    rng = np.random.default_rng(L + K + 2)
    H = 2
    x = _bf16(rng.standard_normal((4, L)) * np.array([[1.0], [1e-3], [1e2], [1.0]]))
    k = rng.standard_normal((H, K)) / 64
    hs = P.kernel_spectrum_pairs(plan, k, np)
    y = P.execute_pairs(plan, x, hs, H, emulate=emulate)
    ref = _causal_oracle(x, np.tile(k, (2, 1)))
    err = np.linalg.norm(_bf16(y) - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() < (3e-3 if emulate else 2e-3), err
    if not emulate:
        assert (np.linalg.norm(y - ref, axis=1) / np.linalg.norm(ref, axis=1)).max() < 5e-4


@pytest.mark.parametrize("gates", [(True, False), (False, True)])
def test_gated_eight_part_split_rows_meet_the_bf16_target_emulated(gates):
    plan = P.pair_plan(12000, 9000, mode="causal", io="bfloat16", precision="auto", gates=gates)
    assert plan.n == 32768
    rng = np.random.default_rng(27)
    H = 2
    x = _bf16(rng.standard_normal((4, 12000)) * np.array([[1.0], [1e-3], [1e2], [1.0]]))
    pre, post = (_bf16(rng.uniform(-2, 2, (4, 12000))) if g else None for g in gates)
    k = rng.standard_normal((H, 9000)) / 64
    hs = P.kernel_spectrum_pairs(plan, k, np)
    y = P.execute_pairs(plan, x, hs, H, emulate=True, pre_gate=pre, post_gate=post)
    ref = _causal_oracle(x, np.tile(k, (2, 1)), pre, post)
    err = np.linalg.norm(_bf16(y) - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert err.max() < 3e-3, err


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC cannot be loaded")
def test_eight_part_rows_of_16_warps_compile_to_sm90():
    from fftconv_cupy.codegen.nvrtc import DEFAULT_OPTIONS
    from fftconv_cupy.codegen.render import include_dir
    plan = P.pair_plan(16384, 16384, mode="causal", io="bfloat16", precision="auto")
    cubin = compile_cubin(render_pairs(replace(plan, lane_points=8)).code, name="pairs.cu",
                          options=(*DEFAULT_OPTIONS, "-I" + include_dir()), arch="sm_90")
    assert len(cubin) > 1000
