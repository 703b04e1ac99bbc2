"""The CPU matrix, on the device: generated kernels vs the float64 oracle.

Outputs are poisoned with NaN before each launch (every element must be
written) and inputs are fresh random data on every run.
"""
import numpy as np
import pytest
import scipy.signal as ss

import fftconv_cupy as fc
from fftconv_cupy.plan.plan import make_plan
from fftconv_cupy.plan.spectrum import kernel_spectrum
from fftconv_cupy.plan.support import rel_error, tolerance

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")

RNG = np.random.default_rng()


def rel(y, ref):
    y = np.asarray(y, dtype=np.complex128)
    return np.linalg.norm(y - ref) / np.linalg.norm(ref)


def rand(shape, complex_):
    a = RNG.standard_normal(shape)
    return a + 1j * RNG.standard_normal(shape) if complex_ else a


def executor_case(lx, lk, start, length, real, precision, layout, rows=5, channels=1, segment=None,
                  tweak=None):
    """Run one plan (tweak(plan): a variant of it) on random rows; (error vs SciPy, plan)."""
    from fftconv_cupy.runtime.executor import GPUExecutor
    plan = make_plan(lx, lk, start, length, real=real, precision=precision, layout=layout,
                     segment=segment)
    if tweak is not None:
        plan = tweak(plan)
    prec = plan.prec
    io = prec.real_dtype if real else prec.complex_dtype
    x = rand((rows, lx), not real).astype(io)
    k = rand((channels, lk), not real).astype(io)
    hs = kernel_spectrum(plan, cupy.asarray(k), cupy)
    xg = cupy.asarray(x)
    y = cupy.full((rows, length), np.nan, dtype=io)
    GPUExecutor(plan)(xg, hs, y, batch=rows // channels, channels=channels)
    ch = np.arange(rows) % channels
    full = ss.fftconvolve(x.astype(np.complex128 if not real else np.float64), k[ch], axes=-1)
    ref = full[:, start:start + length]
    out = cupy.asnumpy(y)
    assert not np.isnan(out).any(), "unwritten outputs"
    assert np.array_equal(cupy.asnumpy(xg), x), "input modified"
    return rel_error(out, ref, full), plan


LENGTHS = [1, 2, 3, 7, 16, 64, 100, 127, 128, 257, 512, 1000, 1024, 4096, 8191, 8192, 12345, 16384,
           32768, 65536, 100003, 1 << 18]


@pytest.mark.parametrize("precision", ["fp32", "fp64"])
@pytest.mark.parametrize("real", [True, False])
@pytest.mark.parametrize("n", LENGTHS)
def test_causal_and_full(n, real, precision):
    lk = max(1, n // 3)
    for start, length in [(0, n), (0, n + lk - 1), ((lk - 1) // 2, n)]:
        err, plan = executor_case(n, lk, start, length, real, precision, None, rows=3, channels=3)
        assert err <= tolerance(precision, plan.n), (plan.describe(), err)


@pytest.mark.parametrize("layout", ["three_pass", "cluster"])
@pytest.mark.parametrize("precision", ["fp32", "fp64"])
@pytest.mark.parametrize("real", [True, False])
@pytest.mark.parametrize("n", [64, 777, 4096, 20000, 1 << 15, 100003])
def test_layout_forced(n, real, precision, layout):
    try:
        err, plan = executor_case(n, n, 0, n, real, precision, layout, rows=4, channels=2)
    except fc.UnsupportedPlanError:
        pytest.skip(f"no {layout} plan for n={n}")
    assert plan.layout == layout
    assert err <= tolerance(precision, plan.n), (plan.describe(), err)


@pytest.mark.parametrize("precision", ["fp32", "fp64"])
@pytest.mark.parametrize("real", [True, False])
@pytest.mark.parametrize("n,k", [(1000, 7), (70001, 33), (100000, 1000), (1 << 20, 4096)])
def test_overlap_save(n, k, real, precision):
    for start, length in [(0, n), (0, n + k - 1), ((k - 1) // 2, n), (k - 1, n - k + 1)]:
        err, plan = executor_case(n, k, start, length, real, precision, None, rows=2, channels=2,
                                  segment=True)
        assert plan.seg is not None
        assert err <= tolerance(precision, plan.n), (plan.describe(), err)


@pytest.mark.parametrize("direct", [False, True])
@pytest.mark.parametrize("case", [(4096, 4096, 0, 4096, True, "fp32", None),
                                  (777, 300, 5, 777, False, "fp64", None),
                                  (100000, 1000, 499, 100000, True, "fp32", True),
                                  (1 << 16, 1 << 16, 0, 1 << 16, True, "fp32", False)])
def test_direct_and_staged_rows(case, direct):
    """Plan.direct_rows against the rows staged through shared memory, same problems."""
    from dataclasses import replace
    lx, lk, start, length, real, precision, segment = case
    err, plan = executor_case(lx, lk, start, length, real, precision, None, rows=4, channels=2,
                              segment=segment, tweak=lambda p: replace(p, row_direct=direct))
    assert plan.direct_rows == direct
    assert err <= tolerance(precision, plan.n), (plan.describe(), err)


@pytest.mark.parametrize("n, row, col", [(8192, None, None), (1 << 16, None, None),
                                          (1 << 21, None, None),
                                          (878080, None, None),
                                          (1024, (32, 32), None), (16384, (32, 16, 32), None),
                                          (1 << 21, None, (16, 32))])
def test_radix32(n, row, col):
    """Radix-32 stages on the device: the planner's (fp32 8K rows, 64K / 1M / 2M columns;
    4M in test_long_fp32) and explicit ones."""
    from dataclasses import replace
    from fftconv_cupy.plan.plan import _threads_for

    def tweak(p):
        if row:
            p = replace(p, row=replace(p.row, radices=row, threads=_threads_for(n, 32)), regs_row=128)
        if col:
            p = replace(p, col=replace(p.col, radices=col, threads=_threads_for(p.b, 32)), regs_col=96)
        return p
    err, plan = executor_case(n, n, 0, n, True, "fp32", None, rows=2, channels=1, tweak=tweak)
    assert 32 in plan.row.radices + (plan.col.radices if plan.col else ())
    assert err <= tolerance("fp32", plan.n), (plan.describe(), err)


@pytest.mark.parametrize("n", [1 << 20, 1 << 22])
def test_long_fp32(n):
    err, plan = executor_case(n, n, 0, n, True, "fp32", None, rows=2, channels=1)
    assert err <= tolerance("fp32", plan.n), (plan.describe(), err)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128", "int16", "float16"])
def test_api_matches_scipy(mode, dtype):
    a = (RNG.standard_normal((4, 3, 300)) * 10).astype(dtype)
    b = (RNG.standard_normal((1, 3, 41)) * 10).astype(dtype)
    ref = ss.fftconvolve(a, b, mode=mode, axes=-1)
    y = fc.fftconvolve(cupy.asarray(a), cupy.asarray(b), mode=mode, axes=-1)
    assert isinstance(y, cupy.ndarray)
    assert y.shape == ref.shape and y.dtype == ref.dtype
    prec = "fp32" if ref.dtype in (np.float32, np.complex64) else "fp64"
    assert rel(cupy.asnumpy(y), ref) <= tolerance(prec, 1024)


def test_numpy_in_numpy_out_and_axes():
    a = RNG.standard_normal((50, 6))
    b = RNG.standard_normal((9, 6))
    y = fc.fftconvolve(a, b, axes=0)
    assert isinstance(y, np.ndarray)
    assert rel(y, ss.fftconvolve(a, b, axes=0)) < 1e-13


def test_correlate_and_nd():
    a = RNG.standard_normal((20, 30)) + 1j * RNG.standard_normal((20, 30))
    b = RNG.standard_normal((5, 7))
    for mode in ("full", "same", "valid"):
        y = fc.correlate(cupy.asarray(a), cupy.asarray(b), mode=mode)
        assert rel(cupy.asnumpy(y), ss.correlate(a, b, mode=mode, method="fft")) < 1e-13


def test_plan_reuse():
    x = RNG.standard_normal((8, 4, 5000)).astype(np.float32)
    k = RNG.standard_normal((1, 4, 700)).astype(np.float32)
    conv = fc.FFTConv(x.shape, cupy.asarray(k), mode="same")
    for _ in range(2):
        x = RNG.standard_normal(x.shape).astype(np.float32)
        y = conv(cupy.asarray(x))
        assert rel(cupy.asnumpy(y), ss.fftconvolve(x, k, mode="same", axes=-1)) < 1e-6


@pytest.mark.parametrize("mode", ["full", "same", "valid", "causal", "circular"])
@pytest.mark.parametrize("dtype", ["float32", "complex64", "float64"])
def test_plan_call_direct_path(mode, dtype):
    """A C-contiguous CuPy signal of the plan's dtype goes straight to the kernel: the same
    values as the general path (a strided view of the same data), SciPy's shape and dtype."""
    cplx = dtype.startswith("complex")
    big = rand((3, 4, 2 * 3000), cplx).astype(dtype)
    x = np.ascontiguousarray(big[..., ::2])
    k = rand((4, 500), cplx).astype(dtype)
    conv = fc.FFTConv(x.shape, cupy.asarray(k)[None], mode=mode)
    assert conv._direct
    xd = cupy.asarray(x)
    before = xd.copy()
    y = conv(xd)
    y_general = conv(cupy.asarray(big)[..., ::2])       # not contiguous: the general path
    assert cupy.array_equal(xd, before)
    assert y.dtype == dtype and y.flags.c_contiguous and cupy.array_equal(y, y_general)
    if mode in ("causal", "circular"):
        n = 3000 if mode == "circular" else 3500
        ref = np.fft.ifft(np.fft.fft(x.astype(np.complex128), n) * np.fft.fft(k[None], n), n)[..., :3000]
        ref = ref if cplx else ref.real
    else:
        ref = ss.fftconvolve(x.astype(np.complex128 if cplx else np.float64), k[None], mode=mode, axes=-1)
    assert y.shape == ref.shape
    assert rel(cupy.asnumpy(y), ref) < (1e-6 if dtype != "float64" else 1e-13)


def test_torch_zero_copy():
    torch = pytest.importorskip("torch")
    x = torch.randn(2, 3, 1000, device="cuda")
    k = torch.randn(1, 3, 100, device="cuda")
    y = fc.fftconvolve(x, k, axes=-1)
    assert isinstance(y, torch.Tensor) and y.is_cuda
    ref = ss.fftconvolve(x.cpu().double().numpy(), k.cpu().double().numpy(), axes=-1)
    assert rel(y.cpu().numpy(), ref) < 1e-6


@pytest.mark.parametrize("L,K", [(4096, 4096), (1 << 15, 1 << 15), (100000, 1000)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_causal_conv_gated(L, K, dtype):
    u = RNG.standard_normal((2, 3, L)).astype(dtype)
    k = RNG.standard_normal((3, K)).astype(dtype)
    g1 = RNG.standard_normal(u.shape).astype(dtype)
    g2 = RNG.standard_normal(u.shape).astype(dtype)
    y = fc.causal_conv(cupy.asarray(u), cupy.asarray(k), pre_gate=cupy.asarray(g1),
                       post_gate=cupy.asarray(g2))
    full = ss.fftconvolve(g1.astype(np.float64) * u, k[None].astype(np.float64), axes=-1)
    ref = full[..., :L] * g2
    prec = "fp32" if dtype == "float32" else "fp64"
    assert isinstance(y, cupy.ndarray) and y.dtype == dtype
    assert rel_error(cupy.asnumpy(y), ref, full * 1.0) <= tolerance(prec, 2 * L)


@pytest.mark.parametrize("L", [4096, 3000, 1 << 16])
def test_circular_gpu(L):
    x = RNG.standard_normal((4, L)).astype(np.float32)
    k = RNG.standard_normal((1, 100)).astype(np.float32)
    conv = fc.FFTConv(x.shape, cupy.asarray(k), mode="circular")
    kp = np.zeros(L)
    kp[:100] = k[0]
    ref = np.fft.irfft(np.fft.rfft(x.astype(np.float64)) * np.fft.rfft(kp), L)
    assert rel_error(cupy.asnumpy(conv(cupy.asarray(x))), ref) <= tolerance("fp32", L)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_broadcast_swap_on_gpu(mode):
    """The longer operand becomes the signal when the kernel spans the batch."""
    a = RNG.standard_normal((1, 64)).astype(np.float32)
    b = RNG.standard_normal((32, 4096)).astype(np.float32)
    y = cupy.asnumpy(fc.fftconvolve(cupy.asarray(a), cupy.asarray(b), mode=mode, axes=-1))
    ref = ss.fftconvolve(np.broadcast_to(a, (32, 64)).astype(np.float64), b.astype(np.float64),
                         mode=mode, axes=-1)
    assert y.shape == ref.shape
    assert rel(y, ref) <= tolerance("fp32", 8192)


def test_edge_shapes_on_the_device():
    for u, k in [((0, 50), (0, 7)), ((2, 0, 50), (0, 7))]:
        y = fc.causal_conv(cupy.zeros(u, np.float32), cupy.zeros(k, np.float32))
        assert isinstance(y, cupy.ndarray) and y.shape == u
    a, b = cupy.asarray(RNG.standard_normal((5, 6))), cupy.asarray(RNG.standard_normal((3, 4)))
    y = fc.fftconvolve(a, b)            # two convolved axes: cuFFT, a result of its own
    y[0, 0] = 1.0
    assert rel(cupy.asnumpy(fc.fftconvolve(a, b)), ss.fftconvolve(cupy.asnumpy(a), cupy.asnumpy(b))) < 1e-13
    x = cupy.asarray(RNG.standard_normal(1000) + 1j * RNG.standard_normal(1000))
    kk = cupy.asarray(RNG.standard_normal(37) + 1j)
    conv = fc.FFTConv(x.shape, kk, sparsity=fc.Sparsity("uniform", 1.0))
    ref = ss.fftconvolve(cupy.asnumpy(x), cupy.asnumpy(kk))
    assert conv.mask.all() and rel(cupy.asnumpy(conv(x)), ref) < 1e-13
