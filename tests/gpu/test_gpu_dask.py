"""fftconv_cupy.dask on the device: CuPy chunks in, CuPy chunks out, vs the float64 oracle."""
import numpy as np
import pytest
import scipy.signal as ss

import fftconv_cupy as fc

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")
da = pytest.importorskip("dask.array")
fcd = pytest.importorskip("fftconv_cupy.dask")

RNG = np.random.default_rng()


def rel(y, ref):
    return np.linalg.norm(np.asarray(y, dtype=np.complex128) - ref) / np.linalg.norm(ref)


def on_gpu(x, chunks):
    return da.from_array(cupy.asarray(x), chunks=chunks, asarray=False)


@pytest.mark.parametrize("mode", ["full", "same", "valid", "causal"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
@pytest.mark.parametrize("chunks", [(4, 3000), (2, 700), (8, (1000, 999, 1001))], ids=str)
def test_cupy_chunks(chunks, dtype, mode):
    x = RNG.standard_normal((8, 3000))
    k = RNG.standard_normal((8, 257))
    if np.dtype(dtype).kind == "c":
        x = x + 1j * RNG.standard_normal(x.shape)
    x, k = x.astype(dtype), k.astype(dtype)
    y = fcd.fftconvolve(on_gpu(x, chunks), cupy.asarray(k), mode=mode, axes=-1)
    assert isinstance(y._meta, cupy.ndarray)
    out = y.compute()
    assert isinstance(out, cupy.ndarray) and out.dtype == y.dtype == dtype
    full = ss.fftconvolve(x.astype(np.complex128), k, mode="full" if mode == "causal" else mode, axes=-1)
    ref = full[:, :3000] if mode == "causal" else full
    assert out.shape == ref.shape
    tol = 1e-6 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-13
    assert rel(cupy.asnumpy(out), ref) < tol


def test_long_rows_chunked_along_time():
    """4M-sample rows in 1M chunks with a 4096-tap kernel: overlap-save across chunks."""
    x = RNG.standard_normal((2, 1 << 22)).astype(np.float32)
    k = RNG.standard_normal((2, 4096)).astype(np.float32)
    y = fcd.causal_conv(on_gpu(x, (1, 1 << 20)), k)
    out = cupy.asnumpy(y.compute())
    ref = ss.fftconvolve(x.astype(np.float64), k.astype(np.float64), axes=-1)[:, :1 << 22]
    assert out.dtype == np.float32 and rel(out, ref) < 1e-6


def test_numpy_chunks_computed_on_the_gpu():
    x = RNG.standard_normal((4, 5000))
    k = RNG.standard_normal((1, 100))
    y = fcd.fftconvolve(da.from_array(x, chunks=(2, 1200)), k, mode="same")
    out = y.compute()
    assert isinstance(out, np.ndarray)
    assert rel(out, ss.fftconvolve(x, k, mode="same", axes=-1)) < 1e-13


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_gated_causal_conv_on_cupy_chunks(dtype):
    u = cupy.asarray(RNG.standard_normal((2, 4, 1 << 16))).astype(dtype)
    k = cupy.asarray(RNG.standard_normal((4, 1000)).astype(np.float32))
    g1 = cupy.asarray(RNG.standard_normal(u.shape)).astype(dtype)
    g2 = cupy.asarray(RNG.standard_normal(u.shape)).astype(dtype)
    ref = fc.causal_conv(u, k, pre_gate=g1, post_gate=g2)
    for chunks in [(1, 4, 1 << 16), (2, 2, 1 << 14)]:
        y = fcd.causal_conv(on_gpu(u, chunks), k, pre_gate=on_gpu(g1, chunks), post_gate=g2)
        out = y.compute()
        assert isinstance(out, cupy.ndarray) and out.dtype == ref.dtype == dtype
        err = float(cupy.linalg.norm((out - ref).astype(np.float64)) /
                    cupy.linalg.norm(ref.astype(np.float64)))
        assert err < (1e-6 if dtype == np.float32 else 1e-3)
