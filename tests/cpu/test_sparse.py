"""Frequency-sparse plans on the CPU: the NumPy executor skips exactly the blocks the
kernels skip (skipped outputs are NaN there), and still equals the masked dense oracle."""
import re

import numpy as np
import pytest

import fftconv_cupy as fc
from fftconv_cupy.codegen.nvrtc import compile_cubin, nvrtc_available
from fftconv_cupy.codegen.source import render_plan
from fftconv_cupy.plan import sparsity as S
from fftconv_cupy.plan.plan import make_plan
from fftconv_cupy.plan.reference import execute
from fftconv_cupy.plan.spectrum import kernel_spectrum

RNG = np.random.default_rng(7)


def masked_oracle(x, k, mask, n, real):
    if real:
        return np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(k, n) * mask, n)
    return np.fft.ifft(np.fft.fft(x, n) * np.fft.fft(k, n) * mask, n)


def rand(shape, real):
    a = RNG.standard_normal(shape)
    return a if real else a + 1j * RNG.standard_normal(shape)


CASES = [  # (L, real, layout): fused and three-pass, real and complex, several grains
    (4096, True, None), (8192, True, None), (1 << 15, True, None), (3000, True, None),
    (4096, False, None), (2048, True, "three_pass"), (2048, False, "three_pass"),
    (1 << 15, False, None), (6000, True, "three_pass"),
]


def sparse_case(L, real, layout, mask_of):
    plan = make_plan(L, L, 0, L, real=real, precision="fp64", segment=False, layout=layout)
    mask = mask_of(plan)
    sp = S.sparsify(plan, mask)
    x, k = rand((3, L), real), rand((2, L), real)
    y = execute(sp, x, kernel_spectrum(sp, k, np, mask=mask), np.arange(3) % 2)
    ref = masked_oracle(x, k[np.arange(3) % 2], mask, plan.n, real)[:, :L]
    return sp, y, ref


@pytest.mark.parametrize("L,real,layout", CASES)
@pytest.mark.parametrize("pattern", S.PATTERNS)
@pytest.mark.parametrize("density", [0.5, 0.25, 0.1])
def test_patterns_match_masked_oracle(L, real, layout, pattern, density):
    sp, y, ref = sparse_case(L, real, layout, lambda p: S.pattern_mask(p, fc.Sparsity(pattern, density)))
    assert np.isfinite(y).all()
    assert np.linalg.norm(y - ref) / np.linalg.norm(ref) < 1e-13


@pytest.mark.parametrize("L,real,layout", CASES)
def test_explicit_masks(L, real, layout):
    def aligned(p):      # two whole classes mod 16 kept, plus a few stray masked bins inside them
        f = np.arange(S.bins(p))
        m = np.isin(f % 16, (0, 1, 15))
        m[::7] = False
        return m
    sp, y, ref = sparse_case(L, real, layout, aligned)
    assert np.linalg.norm(y - ref) / np.linalg.norm(ref) < 1e-13
    sp, y, ref = sparse_case(L, real, layout, lambda p: RNG.random(S.bins(p)) < 0.3)
    assert np.linalg.norm(y - ref) / np.linalg.norm(ref) < 1e-13


def test_block_pattern_skips_and_others_do_not():
    plan = make_plan(8192, 8192, 0, 8192, real=True, precision="fp32", segment=False)
    block = S.sparsify(plan, S.pattern_mask(plan, fc.Sparsity("block", 0.25)))
    # the dense 8K row is [16x32x16]; skipping rows keep the radix-16 split, whose dense
    # form is the reference for the count (butterflies of different radices do not compare)
    assert plan.row.radices == (16, 32, 16) and S.reordered(plan).row.radices == (8, 8, 8, 16)
    assert block.sparse == S.SparseMask(8, (0, 4)) and block.row.radices == (8, 8, 8, 16)
    assert S.butterflies(block) < 0.6 * S.butterflies(S.reordered(plan))
    for pattern in ("uniform", "random"):
        sp = S.sparsify(plan, S.pattern_mask(plan, fc.Sparsity(pattern, 0.25)))
        assert sp.sparse is None, pattern       # a few bins of every class survive
    big = make_plan(1 << 20, 1 << 20, 0, 1 << 20, real=True, precision="fp32", segment=False)
    sp = S.sparsify(big, S.pattern_mask(big, fc.Sparsity("block", 0.25)))
    assert sp.layout == "three_pass" and sp.sparse.density == 0.25
    assert sp.hbm_bytes(1, 1) < big.hbm_bytes(1, 1)


@pytest.mark.parametrize("L, order, density", [(8192, None, 0.25), (8192, 3, 0.25),
                                               (1 << 16, None, 0.25), (1 << 21, None, 0.25)])
def test_fp32_radix32_plans_sparse(L, order, density):
    """fp32 plans with radix-32 stages: fused rows are narrowed to radix 16 (the order and
    rows per block follow what runs), three-pass radix-32 columns skip as they are; the
    executor equals the masked oracle (fp32 bound) where it is small enough to run here."""
    plan = make_plan(L, L, 0, L, real=True, precision="fp32", segment=False, order=order)
    assert 32 in plan.row.radices + (plan.col.radices if plan.col else ())
    mask = S.pattern_mask(plan, fc.Sparsity("block", density))
    sp = S.sparsify(plan, mask)
    assert sp.sparse is not None and sp.order == len(sp.row.radices) + (
        len(sp.col.radices) if sp.col else 0)
    if sp.layout == "fused":
        assert max(sp.row.radices) <= 16 and sp.groups * sp.row.threads <= 256
    else:
        assert sp.col == plan.col
    if L <= 1 << 16:
        x, k = rand((2, L), True), rand((2, L), True)
        y = execute(sp, x, kernel_spectrum(sp, k, np, mask=mask), np.arange(2))
        ref = masked_oracle(x, k, mask, plan.n, True)[:, :L]
        assert np.linalg.norm(y - ref) / np.linalg.norm(ref) < 1e-6


def test_sparse_beats_the_dense_plan_that_runs():
    """A mask that skips little: the narrowed radix-16 row would do more work than the dense
    radix-32 row, so the dense plan runs."""
    plan = make_plan(8192, 8192, 0, 8192, real=True, precision="fp32", segment=False)
    sp = S.sparsify(plan, S.pattern_mask(plan, fc.Sparsity("block", 0.875)))
    assert sp is plan and sp.sparse is None
    assert S.sparsify(plan, S.pattern_mask(plan, fc.Sparsity("block", 0.25))).sparse is not None


def test_sparse_fft_size():
    assert S.fft_size(8095, True) == 8192 and S.fft_size(5000, True) == 5120
    assert S.fft_size(9000, False) == 10240 and S.fft_size(7, False) == 7
    assert S.fft_size(7, True) == 8 and S.fft_size(1, True) == 2


def test_block_classes_are_symmetric():
    for p in (2, 4, 8, 16, 32, 128):
        for count in range(1, p + 1):
            c = S.block_classes(p, count)
            assert len(c) == count and set(c) == {(-v) % p for v in c}


def _rendered_butterflies(code: str) -> int:
    """Butterflies per row computed by the stage calls of a rendered fused kernel."""
    p = nk = 1
    m = re.search(r"static constexpr int P = (\d+), NK = (\d+);", code)
    if m:
        p, nk = int(m.group(1)), int(m.group(2))
    total = 0
    for size, r, mode in re.findall(r"stage<T, (\d+), (\d+), \d+, \w+, -?1, \w+, Q, LO_BITS(?:, (\d))?", code):
        j = int(size) // int(r)
        total += j // p * nk if mode and int(mode) else j
    for size, r in re.findall(r"middle_real<T, (\d+), (\d+),", code):
        total += 2 * (int(size) // int(r))      # last forward and first inverse stage
    for size, r in re.findall(r"(?:first_stage_in|last_stage_out)<T, (\d+), (\d+),", code):
        total += int(size) // int(r)            # end stages on global memory (always dense)
    return total


def test_rendered_sparse_kernel_has_fewer_butterflies():
    plan = make_plan(8192, 8192, 0, 8192, real=True, precision="fp32", segment=False)
    sp = S.sparsify(plan, S.pattern_mask(plan, fc.Sparsity("block", 0.25)))
    plan = S.reordered(plan)            # the same decomposition, dense
    dense, sparse = render_plan(plan).code, render_plan(sp).code
    assert _rendered_butterflies(dense) == S.butterflies(plan)
    assert _rendered_butterflies(sparse) == S.butterflies(sp) < 0.6 * S.butterflies(plan)
    assert "struct Cls" in sparse and "struct Cls" not in dense


def test_sparsity_validation():
    with pytest.raises(ValueError, match="pattern"):
        fc.Sparsity("lowpass", 0.5)
    for d in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match="density"):
            fc.Sparsity("block", d)
    k = RNG.standard_normal(64)
    with pytest.raises(ValueError, match="rfft bins"):
        fc.FFTConv((4, 64), k, mode="causal", sparsity=np.ones(10, dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        fc.FFTConv((4, 64), k, mode="causal", sparsity=np.ones(65))
    with pytest.raises(TypeError, match="Sparsity"):
        fc.FFTConv((4, 64), k, mode="causal", sparsity="block")


@pytest.mark.parametrize("mode", ["causal", "circular", "full", "same", "valid"])
def test_fftconv_sparse_on_cpu(mode):
    L, K = 4096, 4000
    x, k = RNG.standard_normal((2, 3, L)), RNG.standard_normal((1, 3, K))
    conv = fc.FFTConv(x.shape, k, mode=mode, sparsity=fc.Sparsity("block", 0.25))
    assert conv.mask.shape == (conv.fft_size // 2 + 1,)
    # sparse plans pad to 2^a * c: a power-of-two grain to skip along
    assert conv.plan.sparse is not None
    y = conv(x)
    full = masked_oracle(x, k, conv.mask, conv.fft_size, True)
    start, length = {"causal": (0, L), "circular": (0, L), "full": (0, L + K - 1),
                     "same": ((K - 1) // 2, L), "valid": (K - 1, L - K + 1)}[mode]
    ref = full[..., start:start + length]
    assert y.shape == ref.shape
    assert np.linalg.norm(y - ref) / np.linalg.norm(ref) < 1e-13
    dense = fc.FFTConv(x.shape, k, mode=mode)(x)
    if mode == "causal":
        np.testing.assert_allclose(dense, fc.causal_conv(x, k[0]), rtol=1e-9, atol=1e-9)


def test_fftconv_sparse_keeps_skipping_layouts():
    """A dense 32K causal convolution runs on a cluster; a sparse one on three passes, which
    skip the masked work."""
    L = 1 << 15
    k = RNG.standard_normal((1, L)).astype(np.float32)
    assert fc.FFTConv((1, L), k, mode="causal").plan.layout == "cluster"
    conv = fc.FFTConv((1, L), k, mode="causal", sparsity=fc.Sparsity("block", 0.25))
    assert conv.plan.layout == "three_pass" and conv.plan.sparse is not None


SPARSE_VARIANTS = [   # fused real/complex with mode 3 zeros, three-pass with and without zero-fill
    (8192, True, None, "block", 0.25), (4096, False, None, "block", 0.1),
    (1 << 20, True, None, "block", 0.25), (1 << 15, True, None, "block", 0.25),
    (2048, False, "three_pass", "block", 0.25), (8192, True, None, "block", 0.1),
]


@pytest.mark.skipif(not nvrtc_available(), reason="NVRTC is not installed")
@pytest.mark.parametrize("L,real,layout,pattern,density", SPARSE_VARIANTS)
def test_sparse_variants_compile(L, real, layout, pattern, density):
    plan = make_plan(L, L, 0, L, real=real, precision="fp32", segment=False, layout=layout,
                     clusters=False)   # as FFTConv plans sparse convolutions
    sp = S.sparsify(plan, S.pattern_mask(plan, fc.Sparsity(pattern, density)))
    assert sp.sparse is not None
    src = render_plan(sp)
    cubin = compile_cubin(src.code, arch="sm_90", plan=sp.describe())
    assert cubin[:4] == b"\x7fELF"
