"""Calls from host threads that have made no CUDA runtime call yet.

Kernels launch through the driver API, which needs a current context; a fresh thread whose
arrays all come from CuPy's memory pool (thread pools, dask's threaded scheduler) has none
until something binds it.  Each test warms the pool in the main thread first, so the worker
thread's allocations make no runtime call.
"""
import threading

import numpy as np
import pytest

import fftconv_cupy as fc

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")


def in_fresh_threads(fn, n=1):
    """fn() in n new threads at once; their results (re-raising the first error)."""
    results, errors = [None] * n, []

    def run(i):
        try:
            # the case under test: a thread with no current context
            assert cupy.cuda.driver.ctxGetCurrent() == 0
            results[i] = fn()
            cupy.cuda.get_current_stream().synchronize()
        except BaseException as exc:      # handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("length", [4096, 1 << 16, 1 << 20])
def test_plan_called_from_fresh_threads(length):
    rng = np.random.default_rng()
    x = cupy.asarray(rng.standard_normal((4, length), dtype=np.float32))
    k = cupy.asarray(rng.standard_normal((4, length // 4), dtype=np.float32))
    conv = fc.FFTConv(x.shape, k, mode="causal")
    ref = conv(x)
    for _ in range(3):          # the pool keeps blocks of the output's size; 64K replays a graph
        conv(x)
    cupy.cuda.Device().synchronize()
    for n in (1, 3):
        for y in in_fresh_threads(lambda: conv(x), n):
            assert cupy.array_equal(y, ref)


def test_first_call_of_a_plan_in_a_fresh_thread():
    # the kernel's module is loaded in the worker thread
    rng = np.random.default_rng()
    x = cupy.asarray(rng.standard_normal((2, 3000), dtype=np.float32))
    k = cupy.asarray(rng.standard_normal((2, 77), dtype=np.float32))
    ref = cupy.asnumpy(x).astype(np.float64)
    import scipy.signal as ss
    ref = ss.fftconvolve(ref, cupy.asnumpy(k).astype(np.float64), axes=-1)
    conv = fc.FFTConv(x.shape, k, mode="full")
    warm = [cupy.empty(ref.shape, np.float32) for _ in range(4)]
    del warm                    # blocks of the output's size back in the pool
    (y,) = in_fresh_threads(lambda: conv(x))
    assert np.linalg.norm(cupy.asnumpy(y) - ref) / np.linalg.norm(ref) < 1e-6


def test_dask_threaded_scheduler_on_cupy_chunks():
    da = pytest.importorskip("dask.array")
    from fftconv_cupy import dask as fcd
    rng = np.random.default_rng()
    x = cupy.asarray(rng.standard_normal((16, 1 << 16), dtype=np.float32))
    k = cupy.asarray(rng.standard_normal((16, 1000), dtype=np.float32))
    ref = fc.FFTConv(x.shape, k, mode="causal")(x)
    for chunks in [(4, 1 << 16), (16, 1 << 14), (4, 1 << 14)]:
        y = fcd.causal_conv(da.from_array(x, chunks=chunks, asarray=False), k)
        for _ in range(2):      # the second compute runs on a warm pool
            out = y.compute(scheduler="threads")
            assert float(cupy.linalg.norm(out - ref) / cupy.linalg.norm(ref)) < 1e-6
