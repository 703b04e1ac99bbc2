"""The public API on NumPy inputs without a GPU: the NumPy executor of the same plans."""
import numpy as np
import pytest
import scipy.signal as ss

import fftconv_cupy as fc
from fftconv_cupy.plan.spec import conv_spec, scipy_same_truncates
from fftconv_cupy.plan.support import rel_error
from fftconv_cupy.runtime import device

RNG = np.random.default_rng()


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch):
    monkeypatch.setattr("fftconv_cupy.api.gpu_available", lambda: False)


def rel(y, ref):
    y, ref = np.asarray(y, dtype=np.complex128), np.asarray(ref, dtype=np.complex128)
    return np.linalg.norm(y - ref) / max(np.linalg.norm(ref), 1e-300)


CASES = [
    ((100,), (17,), None),
    ((4, 3, 50), (1, 3, 20), -1),
    ((5, 60), (5, 70), 1),
    ((6, 40), (1, 40), 1),
    ((30, 6), (7, 1), 0),
    ((2, 7, 33), (2, 1, 9), 2),          # kernel broadcast in a middle axis: materialized
    ((1, 33), (4, 9), 1),                # signal broadcast: operands swap roles
    ((1, 3), (4, 40), 1),                # ... and the longer operand becomes the signal
    ((12, 13), (5, 4), None),            # two convolved axes
    ((1,), (1,), None),
    ((3,), (5,), None),
]


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128", "complex64", "int32", "float16", "bool"])
@pytest.mark.parametrize("s1,s2,axes", CASES)
def test_matches_scipy(s1, s2, axes, dtype, mode):
    a = (RNG.standard_normal(s1) * 3).astype(dtype)
    b = (RNG.standard_normal(s2) * 3).astype(dtype)
    try:
        ref = ss.fftconvolve(a, b, mode=mode, axes=axes)
    except ValueError as e:
        with pytest.raises(ValueError, match=str(e).replace("(", r"\(").replace(")", r"\)")):
            fc.fftconvolve(a, b, mode=mode, axes=axes)
        return
    y = fc.fftconvolve(a, b, mode=mode, axes=axes)
    assert isinstance(y, np.ndarray)
    spec = conv_spec(a.shape, a.dtype, b.shape, b.dtype, mode, axes)
    if scipy_same_truncates(spec):
        # documented difference (scipy#21876): SciPy keeps only the centre entry of broadcast axes
        assert y.shape == spec.out_shape
        y = y[tuple(slice((n - 1) // 2, (n - 1) // 2 + m) if n != m else slice(None)
                    for n, m in zip(y.shape, ref.shape))]
    assert y.shape == ref.shape and y.dtype == ref.dtype
    tol = 1e-6 if ref.dtype in (np.float32, np.complex64) else 1e-13
    # the project's metric (support.rel_error): a window whose exact values cancel to 0
    # (int32 [0 0 -2] * [0 0 0 3 3], valid) is measured against the full convolution's scale
    full = ss.fftconvolve(a, b, mode="full", axes=axes)
    if full.shape != ref.shape and ref.size:
        assert rel_error(y, ref, full) <= tol
    else:
        assert rel(y, ref) <= tol


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_correlate(mode):
    a = RNG.standard_normal((3, 40)) + 1j * RNG.standard_normal((3, 40))
    b = RNG.standard_normal((3, 11)) + 1j * RNG.standard_normal((3, 11))
    assert rel(fc.correlate(a, b, mode=mode), ss.correlate(a, b, mode=mode, method="fft")) < 1e-13


def test_correlate_bools_exact():
    # bool results are rounded counts != 0, as SciPy's default (direct) method gives them:
    # the transform's round-off must not turn the zeros of sparse inputs into True
    a, b = RNG.random(1000) < 0.05, RNG.random(50) < 0.05
    for mode in ("full", "same", "valid"):
        got = fc.correlate(a, b, mode=mode)
        assert got.dtype == np.bool_ and np.array_equal(got, ss.correlate(a, b, mode=mode))


def test_fftconv_empty_batch_message():
    with pytest.raises(ValueError, match="non-empty signal and kernel"):
        fc.FFTConv((0, 100), np.ones(5))


def test_inputs_not_modified():
    a = RNG.standard_normal((4, 100))
    b = RNG.standard_normal((1, 30))
    a0, b0 = a.copy(), b.copy()
    fc.fftconvolve(a, b, axes=-1)
    fc.correlate(a, b)
    assert np.array_equal(a, a0) and np.array_equal(b, b0)


def test_non_contiguous_views():
    a = RNG.standard_normal((8, 200))[::2, ::3]
    b = RNG.standard_normal((30, 4)).T[:, ::2]
    ref = ss.fftconvolve(a, b[:1], axes=-1)
    assert rel(fc.fftconvolve(a, b[:1], axes=-1), ref) < 1e-13


def test_fftconv_plan_object():
    x = RNG.standard_normal((2, 3, 500))
    k = RNG.standard_normal((1, 3, 64))
    conv = fc.FFTConv(x.shape, k, mode="same", axes=-1)
    assert rel(conv(x), ss.fftconvolve(x, k, mode="same", axes=-1)) < 1e-13
    with pytest.raises(ValueError, match="made for shape"):
        conv(x[:1])


@pytest.mark.parametrize("bad,exc,msg", [
    (dict(mode="circular"), ValueError, "acceptable mode flags"),
    (dict(axes=5), ValueError, "axes exceeds dimensionality of input"),
    (dict(precision="fp8"), ValueError, "precision must be"),
])
def test_errors(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        fc.fftconvolve(np.ones((3, 8)), np.ones((3, 2)), **bad)


def test_scipy_error_messages():
    for a, b in [(np.ones((2, 3)), np.ones(3)), (np.ones((2, 3)), np.ones((3, 3)))]:
        try:
            ss.fftconvolve(a, b, axes=1)
        except ValueError as e:
            with pytest.raises(ValueError) as ours:
                fc.fftconvolve(a, b, axes=1)
            assert str(ours.value) == str(e)


def test_trivial_cases():
    assert fc.fftconvolve(np.array(2.0), np.array(3.0)) == 6.0
    e = fc.fftconvolve(np.ones((0, 3)), np.ones((2, 3)))
    assert e.shape == ss.fftconvolve(np.ones((0, 3)), np.ones((2, 3))).shape


def test_gpu_probe_is_cached():
    assert device.gpu_available() in (True, False)


@pytest.mark.parametrize("shape,K", [((2, 3, 1000), 200), ((4, 64), 64), ((1, 5, 100000), 1000)])
@pytest.mark.parametrize("gated", [False, True])
def test_causal_conv(shape, K, gated):
    u = RNG.standard_normal(shape).astype(np.float32)
    k = RNG.standard_normal((shape[-2], K)).astype(np.float32)
    g1 = RNG.standard_normal(shape).astype(np.float32) if gated else None
    g2 = RNG.standard_normal(shape).astype(np.float32) if gated else None
    y = fc.causal_conv(u, k, pre_gate=g1, post_gate=g2)
    uu = u.astype(np.float64) * (g1 if gated else 1)
    ref = ss.fftconvolve(uu, k.astype(np.float64)[None] if u.ndim == 3 else k.astype(np.float64),
                         axes=-1)[..., :shape[-1]] * (g2 if gated else 1)
    assert y.dtype == np.float32 and y.shape == u.shape
    assert rel(y, ref) < 1e-6


def test_causal_conv_errors():
    u = np.ones((2, 3, 10))
    with pytest.raises(ValueError, match="channels"):
        fc.causal_conv(u, np.ones((4, 5)))
    with pytest.raises(ValueError, match="kernel length"):
        fc.causal_conv(u, np.ones((3, 11)))
    with pytest.raises(ValueError, match="pre_gate must have"):
        fc.causal_conv(u, np.ones((3, 5)), pre_gate=np.ones((3, 10)))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., H, L\)"):
        fc.causal_conv(np.ones(10), np.ones(3))


@pytest.mark.parametrize("L,K", [(64, 10), (4096, 4096), (3000, 7)])
def test_circular(L, K):
    x = RNG.standard_normal((3, L))
    k = RNG.standard_normal((1, K))
    conv = fc.FFTConv(x.shape, k, mode="circular")
    kp = np.zeros(L)
    kp[:K] = k[0]
    ref = np.fft.irfft(np.fft.rfft(x) * np.fft.rfft(kp), L)
    y = conv(x)
    assert y.shape == x.shape
    assert rel(y, ref) < 1e-13


def test_circular_needs_smooth_size():
    with pytest.raises(fc.UnsupportedPlanError, match="cannot be padded"):
        fc.FFTConv((2, 2 * 11 * 13), np.ones((1, 5)), mode="circular")


def test_complex_gate_on_real_data_raises():
    u = np.ones((2, 3, 16))
    with pytest.raises(TypeError, match="pre_gate is complex"):
        fc.causal_conv(u, np.ones((3, 4)), pre_gate=u + 1j)


def test_fftconv_signal_dtype_must_match():
    conv = fc.FFTConv((2, 64), np.ones((1, 5), dtype=np.float32))
    with pytest.raises(TypeError, match="made for float32 signals"):
        conv(np.ones((2, 64)))


def test_overlap_save_fits_smaller_shared_memory():
    from fftconv_cupy.plan.plan import make_plan, padded
    for K in (5000, 9000, 20000):
        plan = make_plan(1 << 20, K, 0, 1 << 20, real=True, precision="fp32", smem_limit=99 * 1024)
        assert plan.row_block[1] <= 99 * 1024


@pytest.mark.parametrize("shapes", [((5, 6), (3, 4)), ((1,), (1,)), ((4, 1), (1, 3))], ids=str)
def test_results_are_writeable_like_scipy(shapes):
    # several convolved axes, or none (a product): broadcast views are not handed back
    a, b = np.random.rand(*shapes[0]), np.random.rand(*shapes[1])
    for f in (fc.fftconvolve, fc.correlate):
        y = f(a, b)
        assert y.flags.writeable
        y[(0,) * y.ndim] = 1.0


def test_causal_conv_without_channels():
    for u, k in [((0, 50), (0, 7)), ((2, 0, 50), (0, 7)), ((0, 50), (7,))]:
        assert fc.causal_conv(np.zeros(u), np.zeros(k)).shape == u
    assert fc.causal_conv(np.zeros((0, 50), np.float16), np.zeros((0, 7))).dtype == np.float16


def test_dense_uniform_sparsity_keeps_every_bin():
    k = np.ones(37) + 1j
    x = np.random.rand(1000) + 0j
    for kk, xx in ((k, x), (k.real, x.real)):
        conv = fc.FFTConv(xx.shape, kk, sparsity=fc.Sparsity("uniform", 1.0))
        assert conv.mask.all()
        assert rel_error(conv(xx), ss.fftconvolve(xx, kk)) < 1e-13


def test_fftconv_shapes_and_axes_like_scipy():
    conv = fc.FFTConv(100, np.ones(5))                    # a bare int is a 1-D shape
    assert conv(np.ones(100)).shape == (104,)
    with pytest.raises(ValueError, match="axes exceeds dimensionality of input"):
        fc.FFTConv((4, 100), np.ones(5), axes=2)
    with pytest.raises(ValueError, match="axes must be a scalar or iterable of integers"):
        fc.FFTConv((4, 100), np.ones(5), axes=1.5)
