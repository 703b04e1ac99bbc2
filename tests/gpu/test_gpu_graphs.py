"""Three-pass calls replayed as CUDA graphs (runtime/executor.py): the same outputs as the
eager launches, bit for bit, for new arrays, other streams, gates, and calls captured by
the caller's own graph. Small chunks (monkeypatched) give several chunks per call. A call
shape is captured the second time it is met, so each check calls twice."""
import numpy as np
import pytest
import scipy.signal as ss

from fftconv_cupy.plan.plan import make_plan
from fftconv_cupy.plan.spectrum import kernel_spectrum
from fftconv_cupy.plan.support import io_tolerance, rel_error, tolerance
from fftconv_cupy.runtime import executor

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")

RNG = np.random.default_rng()

# (length, precision, layout, rows, chunk bytes): 3 - 5 chunks, the last one partial but at 64K
CASES = [(4096, "fp32", "three_pass", 69, 512 << 10), (65536, "fp32", None, 12, 2 << 20),
         (32768, "fp32", "three_pass", 9, 512 << 10), (3000, "fp32", "three_pass", 21, 128 << 10)]


@pytest.fixture
def small_chunks(monkeypatch):
    executor.clear_graphs()

    def use(chunk_bytes):
        monkeypatch.setattr(executor, "GRAPH_CHUNK_BYTES", chunk_bytes)
    yield use
    executor.clear_graphs()


def graphs(plan):
    """Cached graphs of this plan (all call shapes and streams)."""
    return sum(key[0] == plan for key in executor._GRAPHS)


def setup(L, precision, layout, rows, channels=3):
    plan = make_plan(L, L, 0, L, real=True, precision=precision, layout=layout)
    dtype = plan.prec.real_dtype
    x = RNG.standard_normal((rows, L)).astype(dtype)
    k = RNG.standard_normal((channels, L)).astype(dtype)
    full = ss.fftconvolve(x.astype(np.float64), k[np.arange(rows) % channels].astype(np.float64), axes=-1)
    return plan, x, kernel_spectrum(plan, cupy.asarray(k), cupy), full


def run(ex, x, hs, rows, channels=3, **kw):
    y = cupy.full(x.shape, np.nan, dtype=x.dtype)
    ex(cupy.asarray(x), hs, y, batch=rows // channels, channels=channels, **kw)
    return y


@pytest.mark.parametrize("L,precision,layout,rows,chunk", CASES)
def test_graph_matches_eager_and_scipy(small_chunks, L, precision, layout, rows, chunk):
    small_chunks(chunk)
    plan, x, hs, full = setup(L, precision, layout, rows)
    shape = executor.graph_chunks(plan, rows)
    assert shape is not None and -(-rows // shape[0]) >= 3
    ex = executor.GPUExecutor(plan)
    eager = cupy.asnumpy(run(ex, x, hs, rows))       # first sight of the shape: eager
    assert not graphs(plan)
    y = cupy.asnumpy(run(ex, x, hs, rows))
    assert graphs(plan) == 1
    assert not np.isnan(y).any()
    assert np.array_equal(y, eager)          # the same kernels over the same rows
    assert rel_error(y, full[:, :L], full) <= tolerance(precision, plan.n)


@pytest.mark.parametrize("io", ["float16", "bfloat16"])
def test_graph_16bit_rows(small_chunks, io):
    """16-bit rows (fp32 intermediate) replay the same graph shape as float32 rows."""
    from fftconv_cupy.runtime import arrays
    small_chunks(2 << 20)
    L, rows, channels = 65536, 12, 3
    plan = make_plan(L, L, 0, L, real=True, precision="fp32", io=io)
    assert plan.layout == "three_pass" and executor.graph_chunks(plan, rows) is not None
    xf = RNG.standard_normal((rows, L)).astype(np.float32)
    k = RNG.standard_normal((channels, L))
    x = arrays.float_to_bits16(xf, io)                     # the rows' 16-bit patterns
    xr = arrays.bits16_to_float(x, io).astype(np.float64)  # what the kernel reads
    hs = kernel_spectrum(plan, cupy.asarray(k), cupy)
    ex = executor.GPUExecutor(plan)
    xd = cupy.asarray(x)
    outs = []
    for _ in range(2):                                     # eager, then the graph
        y = cupy.empty(x.shape, dtype=x.dtype)
        y.view(cupy.uint16).fill(0xFFFF)                   # NaN in either format
        ex(xd, hs, y, batch=rows // channels, channels=channels)
        outs.append(cupy.asnumpy(y))
    assert graphs(plan) == 1
    assert np.array_equal(outs[0], outs[1])
    full = ss.fftconvolve(xr, k[np.arange(rows) % channels], axes=-1)
    y = arrays.bits16_to_float(outs[1], io).astype(np.float64)
    assert not np.isnan(y).any()
    assert rel_error(y, full[:, :L], full) <= io_tolerance(io, "fp32")


def test_graph_new_arrays_and_streams(small_chunks):
    small_chunks(512 << 10)
    L, rows = 4096, 69
    plan, x, hs, full = setup(L, "fp32", "three_pass", rows)
    ex = executor.GPUExecutor(plan)
    run(ex, x, hs, rows)
    first = cupy.asnumpy(run(ex, x, hs, rows))
    x2 = RNG.standard_normal(x.shape).astype(np.float32)
    with cupy.cuda.Stream(non_blocking=True) as s:
        run(ex, x2, hs, rows)
        second = cupy.asnumpy(run(ex, x2, hs, rows))    # another stream: its own graph
        again = cupy.asnumpy(run(ex, x, hs, rows))      # new arrays, the same graph
        s.synchronize()
    assert graphs(plan) == 2
    assert np.array_equal(first, again)
    eager2 = cupy.asnumpy(run(ex, x2, hs, rows, tmp_bytes=x2.nbytes))
    assert np.array_equal(second, eager2) and not np.array_equal(first, second)


def test_graph_gated(small_chunks):
    small_chunks(512 << 10)
    L, rows, channels = 4096, 70, 7
    plan = make_plan(L, L, 0, L, real=True, precision="fp32", layout="three_pass", gates=(True, True))
    u = RNG.standard_normal((rows, L)).astype(np.float32)
    k = RNG.standard_normal((channels, L)).astype(np.float32)
    g1, g2 = (RNG.standard_normal(u.shape).astype(np.float32) for _ in range(2))
    hs = kernel_spectrum(plan, cupy.asarray(k), cupy)
    ex = executor.GPUExecutor(plan)
    outs = []
    for kw in ({}, {}, {"tmp_bytes": u.nbytes}):
        y = cupy.full(u.shape, np.nan, dtype=np.float32)
        ex(cupy.asarray(u), hs, y, batch=rows // channels, channels=channels,
           pre_gate=cupy.asarray(g1), post_gate=cupy.asarray(g2), **kw)
        outs.append(cupy.asnumpy(y))
    assert graphs(plan) == 1 and np.array_equal(outs[1], outs[2]) and np.array_equal(outs[0], outs[2])
    full = ss.fftconvolve(g1.astype(np.float64) * u, k[np.arange(rows) % channels].astype(np.float64),
                          axes=-1)
    assert rel_error(outs[0], full[:, :L] * g2, full) <= tolerance("fp32", 2 * L)


def test_caller_capture_runs_eagerly_inside_it(small_chunks):
    small_chunks(512 << 10)
    L, rows = 4096, 69
    plan, x, hs, full = setup(L, "fp32", "three_pass", rows)
    ex = executor.GPUExecutor(plan)
    s = cupy.cuda.Stream(non_blocking=True)
    with s:
        xg = cupy.asarray(x)
        y = cupy.full(x.shape, np.nan, dtype=x.dtype)
        ex(xg, hs, y, batch=rows // 3, channels=3)     # seen once: the next call would capture
        y[...] = np.nan
        s.begin_capture()
        ex(xg, hs, y, batch=rows // 3, channels=3)
        graph = s.end_capture()
        assert not graphs(plan)              # no graph of our own inside the caller's capture
        graph.launch(s)
        s.synchronize()
    assert rel_error(cupy.asnumpy(y), full[:, :L], full) <= tolerance("fp32", plan.n)


def test_sync_mode_launches_eagerly(small_chunks, monkeypatch):
    small_chunks(512 << 10)
    monkeypatch.setenv("FFTCONV_CUPY_SYNC", "1")
    L, rows = 4096, 69
    plan, x, hs, full = setup(L, "fp32", "three_pass", rows)
    ex = executor.GPUExecutor(plan)
    run(ex, x, hs, rows)
    y = cupy.asnumpy(run(ex, x, hs, rows))
    assert not graphs(plan)
    assert rel_error(y, full[:, :L], full) <= tolerance("fp32", plan.n)


def test_graph_sparse_matches_eager(small_chunks):
    from fftconv_cupy.plan.sparsity import Sparsity, pattern_mask, sparsify
    small_chunks(1 << 20)
    L, rows = 65536, 12
    dense, x, _, _ = setup(L, "fp32", None, rows)
    plan = sparsify(dense, pattern_mask(dense, Sparsity("block", 0.25)))
    assert executor.graph_chunks(plan, rows) == (2, 3)
    k = RNG.standard_normal((3, L)).astype(np.float32)
    hs = kernel_spectrum(plan, cupy.asarray(k), cupy)
    ex = executor.GPUExecutor(plan)
    eager = cupy.asnumpy(run(ex, x, hs, rows))
    y = cupy.asnumpy(run(ex, x, hs, rows))
    assert graphs(plan) == 1 and not np.isnan(y).any() and np.array_equal(y, eager)


def test_graph_cache_is_bounded(small_chunks, monkeypatch):
    small_chunks(512 << 10)
    monkeypatch.setattr(executor, "GRAPH_CACHE", 2)
    L = 4096
    plan, x, hs, full = setup(L, "fp32", "three_pass", 69)
    ex = executor.GPUExecutor(plan)
    for i, rows in enumerate((69, 66, 63, 69)):  # four shapes, the first again after its eviction
        run(ex, x[:rows], hs, rows)
        y = cupy.asnumpy(run(ex, x[:rows], hs, rows))
        assert graphs(plan) == min(i + 1, 2)
        assert rel_error(y, full[:rows, :L], full[:rows]) <= tolerance("fp32", plan.n)
    assert executor._SEEN[next(k for k in executor._GRAPHS if k[1] == 69)] == 2   # captured again
