"""The NumPy executor of each Plan against scipy.signal.fftconvolve in float64.

The executor runs the kernels' exact algorithm (radices, Stockham maps, split
twiddle tables, packed real pairs, permuted-order product, three passes), so
these tests check the algorithm the GPU runs, on any machine.
"""
from dataclasses import replace

import numpy as np
import pytest
import scipy.signal as ss

from fftconv_cupy.plan.plan import make_plan
from fftconv_cupy.plan.reference import execute
from fftconv_cupy.plan.spectrum import kernel_spectrum
from fftconv_cupy.plan.support import rel_error, tolerance

RNG = np.random.default_rng()

PRIMES = [2, 3, 5, 7, 11, 13, 101, 997, 7919, 65537]
SMOOTH = [6, 12, 60, 360, 1000, 2187, 3125, 16807, 30000, 2 * 3 * 5 * 7 * 11 * 13]
POW2 = [1, 2, 4, 16, 256, 4096, 1 << 14, 1 << 16, 1 << 20]
LENGTHS = sorted(set(PRIMES + SMOOTH + POW2))


def windows(lx, lk):
    full = lx + lk - 1
    out = [(0, full), (0, lx), ((lk - 1) // 2, lx)]          # full, causal, same
    if lx >= lk:
        out.append((lk - 1, lx - lk + 1))                     # valid
    return out


def check(lx, lk, real, layout=None, rows=2, channels=1, order=None, segment=None):
    x = RNG.standard_normal((rows, lx))
    k = RNG.standard_normal((channels, lk))
    if not real:
        x = x + 1j * RNG.standard_normal(x.shape)
        k = k + 1j * RNG.standard_normal(k.shape)
    ch = np.arange(rows) % channels
    full = ss.fftconvolve(x, k[ch], axes=-1)
    for start, length in windows(lx, lk):
        plan = make_plan(lx, lk, start, length, real=real, precision="fp64", layout=layout,
                         order=order, segment=segment)
        y = execute(plan, x, kernel_spectrum(plan, k, np), ch)
        ref = full[:, start:start + length]
        err = rel_error(y, ref, full)
        assert err <= tolerance("fp64", plan.n), (plan.describe(), err)


@pytest.mark.parametrize("real", [True, False])
@pytest.mark.parametrize("n", [n for n in LENGTHS if n <= 1 << 16])
def test_lengths(n, real):
    check(n, max(1, n // 3), real, channels=2, rows=2)
    check(max(1, n // 5), n, real)                          # kernel longer than the signal


@pytest.mark.parametrize("real", [True, False])
@pytest.mark.parametrize("n", [5, 64, 777, 4096, 30000])
def test_three_pass(n, real):
    check(n, n, real, layout="three_pass", rows=2, channels=2)


@pytest.mark.parametrize("n, rows, cols", [(8192, (16, 32, 16), None),
                                           (1 << 16, (16, 8, 16), (32,)),
                                           (1 << 17, (16, 8, 16), (8, 8)),
                                           (1 << 21, (16, 16, 16), (32, 16)),
                                           (878080, (16, 5, 7, 7), (32, 7))])
def test_planned_radix32(n, rows, cols):
    """The planner's fp32 radix-32 choices (fused 8K rows; single-stage 32-point columns under
    2K middle rows at 64K; 2K rows at 128K, columns [8x8]; 2M columns [32x16]; columns with an
    odd radix),
    run by the executor.  Columns that radix 32 would leave in blocks under 64 threads keep
    radix 16 (rows of 3920 or 3888 points take 4 or 16 columns a block)."""
    for narrow in (125440, 373248):
        p = make_plan(narrow, narrow, 0, narrow, real=True, precision="fp32")
        assert max(p.col.radices) <= 16 and p.groups * p.col.threads >= 64
    plan = make_plan(n, n, 0, n, real=True, precision="fp32")
    assert plan.row.radices == rows and (plan.col.radices if plan.col else None) == cols
    p64 = make_plan(n, n, 0, n, real=True, precision="fp64")
    assert 32 not in p64.row.radices + (p64.col.radices if p64.col else ())
    if n < 1 << 21:
        x, k = RNG.standard_normal((2, n)), RNG.standard_normal((2, n))
        ch = np.arange(2)
        y = execute(plan, x, kernel_spectrum(plan, k, np), ch)
        ref = ss.fftconvolve(x, k, axes=-1)[:, :n]
        assert rel_error(y, ref) <= tolerance("fp32", plan.n), plan.describe()


@pytest.mark.parametrize("real", [True, False])
@pytest.mark.parametrize("n", [1 << 14, 3 << 13])
def test_cluster(n, real):
    check(n, n, real, layout="cluster", rows=2, channels=2)


@pytest.mark.parametrize("lx, lk, start, length, circular", [
    (1 << 15, 1 << 15, 0, 1 << 15, False),          # causal: the input's upper half is padding
    (1 << 14, 1 << 15, 0, (3 << 14) - 1, False),    # full: outputs in both halves
    (1 << 16, 1 << 16, 0, 1 << 16, True),           # circular: signal in both halves
    (30000, 5000, 2499, 30000, False)])             # same
def test_halves(lx, lk, start, length, circular):
    """The planner's cluster of two half-rows (fp32 rows of twice the fused limit), run by
    the executor against SciPy."""
    n = 1 << 16
    plan = make_plan(lx, lk, start, length, real=True, precision="fp32", n=n, circular=circular)
    assert plan.halves and (plan.a, plan.b) == (1 << 14, 2)
    x, k = RNG.standard_normal((2, lx)), RNG.standard_normal((2, lk))
    y = execute(plan, x, kernel_spectrum(plan, k, np), np.arange(2))
    if circular:
        full = ref = np.fft.irfft(np.fft.rfft(x) * np.fft.rfft(k, n), n)
    else:
        full = ss.fftconvolve(x, k, axes=-1)
        ref = full[:, start:start + length]
    assert rel_error(y, ref, full) <= tolerance("fp32", plan.n), plan.describe()


def test_planner_chooses_cluster_on_chip_pairs():
    """Real fp32 rows of twice the fused limit go to a cluster of two blocks of half-rows (b = 2,
    one block per SM); other rows past the fused limit to a cluster of 4 blocks (b = 8) when
    each block's row pair fits two blocks per SM (fp32; fp64 at one block); b = 16 (column
    DFTs that spill) and tensor-core rows stay in three passes, as do devices without
    clusters and gated rows; 16-bit rows only as half-rows."""
    from fftconv_cupy.errors import UnsupportedPlanError
    n = 1 << 15
    plan = make_plan(n, n, 0, n, real=True, precision="fp32")
    assert (plan.layout, plan.a, plan.b, plan.cluster, plan.halves) == ("cluster", 16384, 2, 2, True)
    assert plan.middle_rows and plan.row_block[0] == 1024 and plan.min_blocks[0] == 1
    plan = make_plan(n // 2, n // 2, 0, n // 2, real=False, precision="fp32")
    assert (plan.layout, plan.a, plan.b, plan.cluster, plan.halves) == ("cluster", 4096, 8, 4, False)
    assert plan.row_block[0] == 512 and plan.min_blocks[0] == 2
    plan = make_plan(n, n, 0, n, real=True, precision="fp32", order=4)   # not the halves' order
    assert (plan.a, plan.b, plan.halves) == (4096, 8, False)
    assert make_plan(1 << 14, 1 << 14, 0, 1 << 14, real=True, precision="fp32").layout == "fused"
    assert make_plan(2 * n, 2 * n, 0, 2 * n, real=True, precision="fp32").layout == "three_pass"
    assert make_plan(2 * n, 2 * n, 0, 2 * n, real=True, precision="fp32",
                     layout="cluster").b == 16
    assert make_plan(n // 2, n // 2, 0, n // 2, real=True, precision="fp64").layout == "cluster"
    assert make_plan(n, n, 0, n, real=True, precision="tf32").layout == "three_pass"
    kw = dict(real=True, precision="fp32")
    assert make_plan(n, n, 0, n, clusters=False, **kw).layout == "three_pass"
    assert make_plan(n, n, 0, n, gates=(True, False), **kw).layout == "three_pass"
    # 16-bit rows: the half-rows read and write them; the row pairs do not
    plan = make_plan(n, n, 0, n, io="bfloat16", **kw)
    assert (plan.layout, plan.halves, plan.io) == ("cluster", True, "bfloat16")
    with pytest.raises(UnsupportedPlanError, match="two-half-row form only"):
        make_plan(2 * n, 2 * n, 0, 2 * n, io="float16", layout="cluster", **kw)
    with pytest.raises(UnsupportedPlanError, match="compute capability 9.0"):
        make_plan(n, n, 0, n, clusters=False, layout="cluster", **kw)


def test_row_stride_places_narrow_rows_side_by_side():
    """Fused rows of T < 16 fp32 threads share a warp: the bank model's stride (T mod 16
    elements here) puts their slots on different banks; rows it finds conflict-free anyway
    (fp32 T = 16, fp64 T = 8) and one-row blocks keep the odd padded stride.  The rendered
    kernel and the block's smem follow the plan."""
    from fftconv_cupy.codegen.source import render_plan
    from fftconv_cupy.plan.plan import padded
    for n, threads in ((128, 8), (64, 8), (32, 4)):
        plan = make_plan(n, n, 0, n, real=True, precision="fp32")
        assert plan.row.threads == threads and plan.groups > 1
        assert plan.row_stride % 16 == threads and padded(n) <= plan.row_stride < padded(n) + 16
        assert plan.row_block[1] == plan.groups * plan.row_stride * 8
        assert f"constexpr int STRIDE = {plan.row_stride};" in render_plan(plan).code
    for n, precision in ((256, "fp32"), (128, "fp64"), (4096, "fp32")):
        plan = make_plan(n, n, 0, n, real=True, precision=precision)
        assert plan.row_stride == padded(n)
    plan = make_plan(128, 128, 0, 128, real=True, precision="fp32")
    assert replace(plan, row_pad=0).row_stride == padded(128)


@pytest.mark.parametrize("real", [True, False])
@pytest.mark.parametrize("n,k", [(1000, 7), (5000, 300), (70001, 33), (100000, 1000), (65536, 4000)])
def test_overlap_save(n, k, real):
    """Long signal, short kernel: blocks of a fused plan, same results in every mode."""
    check(n, k, real, rows=2, channels=2, segment=True)


def test_overlap_save_chosen_and_small_spectrum():
    plan = make_plan(1 << 20, 4096, 0, 1 << 20, real=True, precision="fp32")
    assert plan.seg is not None and plan.layout == "fused"
    assert plan.m <= 4 * 4096                       # spectrum memory follows K, not L
    dense = make_plan(1 << 20, 4096, 0, 1 << 20, real=True, precision="fp32", segment=False)
    assert dense.seg is None and dense.n >= (1 << 20) + 4095


@pytest.mark.slow
@pytest.mark.parametrize("n", [1 << 20])
def test_long(n):
    check(n, n, True, rows=1)


@pytest.mark.parametrize("order", [3, 4, 5, 6, 12])
def test_orders(order):
    """Causal n=4096 (m=4096) written as `order` Monarch stages: same result."""
    x = RNG.standard_normal((2, 4096))
    k = RNG.standard_normal((1, 4096))
    plan = make_plan(4096, 4096, 0, 4096, real=True, precision="fp64", order=order)
    assert plan.order == order
    y = execute(plan, x, kernel_spectrum(plan, k, np))
    ref = ss.fftconvolve(x, k)[:, :4096]
    assert np.linalg.norm(y - ref) / np.linalg.norm(ref) <= tolerance("fp64", plan.n)


def test_order_out_of_range():
    from fftconv_cupy.errors import UnsupportedPlanError
    with pytest.raises(UnsupportedPlanError, match="cannot be written as 2 stages"):
        make_plan(4096, 4096, 0, 4096, real=True, precision="fp64", order=2)


def test_fp32_emulation_meets_target():
    """Rounding every stage to float32 stays inside the fp32 tolerance."""
    for n, layout in [(4096, None), (1 << 15, "cluster"), (1 << 15, "three_pass")]:
        x = RNG.standard_normal((1, n)).astype(np.float32)
        k = RNG.standard_normal((1, n)).astype(np.float32)
        plan = make_plan(n, n, 0, n, real=True, precision="fp32", layout=layout)
        y = execute(plan, x, kernel_spectrum(plan, k, np), emulate=True)
        ref = ss.fftconvolve(x.astype(np.float64), k.astype(np.float64))[:, :n]
        err = np.linalg.norm(y - ref) / np.linalg.norm(ref)
        assert err <= tolerance("fp32", plan.n), (plan.describe(), err)
        assert err > 1e-9, "emulation did not round"


@pytest.mark.parametrize("powers", [False, True])
@pytest.mark.parametrize("n, real, precision", [(4096, True, "fp32"), (1 << 20, True, "fp32"),
                                                (3 * 5 * 7 * 64, False, "fp64"), (16384, True, "fp32")])
def test_stage_tables_device_layout(n, real, precision, powers):
    """Every stage table sits in the kernels' array at its offset, 16-byte aligned, in the
    [i // 2][c][i % 2] order the kernels index (entry i: power table_exponents[i]), without
    overlapping the lo table or another."""
    from dataclasses import replace
    from fftconv_cupy.plan.twiddles import device_tables, twiddle_tables
    plan = replace(make_plan(n, n, 0, n, real=real, precision=precision), full_table_bytes=0 if powers else 1 << 30)
    tables = plan.stage_tables
    assert tables, "a multi-stage plan has stage tables"
    arr, hi = device_tables(plan)
    lo, hi0 = twiddle_tables(plan)
    np.testing.assert_array_equal(arr[:len(lo)], lo)
    np.testing.assert_array_equal(hi, hi0)
    used = np.zeros(len(arr), bool)
    used[:len(lo)] = True
    for (r, ns), off in tables.items():
        assert off % 2 == 0 and ns * r * plan.elem_bytes <= plan.stage_table_bytes
        exps = plan.table_exponents(r, ns)
        assert len(exps) == (r.bit_length() - 1 if powers and r & (r - 1) == 0 else r)
        rp = plan.table_width(r, ns)
        assert not used[off:off + rp * ns].any()
        used[off:off + rp * ns] = True
        c, i = np.meshgrid(np.arange(ns), np.arange(len(exps)), indexing="ij")
        k = np.asarray(exps)[i]
        got = arr[off + (i // 2) * 2 * ns + 2 * c + i % 2]
        # extended-precision truth: each entry within ~1 ulp per component
        ang = 2 * np.arccos(np.longdouble(-1)) * ((c * k) % (ns * r)) / (ns * r)
        err = np.maximum(np.abs(got.real - np.cos(ang)), np.abs(got.imag + np.sin(ang)))
        assert err.max() <= 1.5 * np.finfo(arr.real.dtype).eps


@pytest.mark.parametrize("n", [4096, 1 << 20])
def test_stage_tables_off_matches_products(n):
    """With the stage tables switched off the plan forms twiddles from lo/hi products, with
    tables of powers from the powers of two; all give the oracle's result in fp32 emulation."""
    from dataclasses import replace
    plan = make_plan(n, n, 0, n, real=True, precision="fp32")
    x, k = RNG.standard_normal((2, n)), RNG.standard_normal((1, n))
    want = ss.fftconvolve(x, k, axes=-1)[:, :n]
    for p in (plan, replace(plan, stage_table_bytes=0), replace(plan, full_table_bytes=0)):
        y = execute(p, x, kernel_spectrum(p, k, np), emulate=True)
        assert 1e-8 < rel_error(y, want) <= tolerance("fp32", p.n), p
    assert not replace(plan, stage_table_bytes=0).stage_tables


@pytest.mark.parametrize("n, real, precision", [(1 << 15, True, "fp32"), (1 << 20, True, "fp32"),
                                                (6000, False, "fp64"), (1 << 20, True, "fp64")])
def test_column_tables_give_column_twiddles(n, real, precision):
    """The direct column kernels' w_m^(a kb) = T1[kb, a % C] * T2[a // C, kb]: both tables
    sit in the kernels' array after the stage tables, and every product is within a few ulp."""
    from fftconv_cupy.plan.twiddles import column_tables, device_tables
    plan = make_plan(n, n, 0, n, real=real, precision=precision, layout="three_pass")
    assert plan.direct_columns
    arr, _ = device_tables(plan)
    t1, t2 = column_tables(plan, arr.dtype)
    o1, o2 = plan.column_twiddles
    ends = [off + plan.table_width(r, ns) * ns for (r, ns), off in plan.stage_tables.items()]
    assert o1 >= max(ends + [plan.twiddle_tables[0]]) and o1 % 2 == 0 and o2 == o1 + t1.size
    np.testing.assert_array_equal(arr[o1:o2], t1.ravel())
    np.testing.assert_array_equal(arr[o2:o2 + t2.size], t2.ravel())
    c, b, a = plan.groups, plan.b, plan.a
    cols = RNG.integers(0, a, 4096)
    kb = RNG.integers(0, b, 4096)
    got = t1[kb, cols % c].astype(np.complex128) * t2[cols // c, kb]
    ang = 2 * np.arccos(np.longdouble(-1)) * ((cols * kb) % plan.m) / plan.m
    err = np.maximum(np.abs(got.real - np.cos(ang)), np.abs(got.imag + np.sin(ang)))
    assert err.max() <= 3 * np.finfo(arr.real.dtype).eps


def test_direct_columns_and_fused_middle_switches():
    """Switching the direct column kernels or the fused middle off changes the generated code,
    not the result; sparse plans keep the shared-memory column kernels."""
    from dataclasses import replace
    n = 1 << 15
    plan = make_plan(n, n, 0, n, real=True, precision="fp32", layout="three_pass")
    assert plan.layout == "three_pass" and plan.direct_columns and plan.middle_rows
    x, k = RNG.standard_normal((2, n)), RNG.standard_normal((1, n))
    want = ss.fftconvolve(x, k, axes=-1)[:, :n]
    for p in (plan, replace(plan, col_direct=False), replace(plan, fuse_middle=False)):
        y = execute(p, x, kernel_spectrum(p, k, np), emulate=True)
        assert rel_error(y, want) < 1e-6, p
    off = replace(plan, col_direct=False, fuse_middle=False)
    assert off.column_twiddles is None and not off.middle_rows
    assert off.col_block[1] > 0 and plan.col_block[1] == 0     # one-stage columns: no shared memory


@pytest.mark.parametrize("b_even", [True, False])
def test_middle_blocks_pair_rows_once(b_even):
    """Rows kb and b - kb share a block, rows 0 and b/2 the first one: every row of a dense
    plan is in exactly one block."""
    n = (1 << 16) if b_even else 6144          # b = 16, b = 3
    plan = make_plan(n, n, 0, n, real=False, precision="fp32", layout="three_pass")
    b = plan.b
    assert (b % 2 == 0) == b_even
    rows = [0, b // 2] if b % 2 == 0 else [0]
    for blk in range(1, plan.middle_blocks):
        rows += [blk, b - blk]
    assert sorted(rows) == list(range(b))


@pytest.mark.parametrize("n, radices", [(8192, (16, 32, 16)), (16384, (32, 16, 32)), (2048, (2, 32, 32))])
def test_radix32_rows_match_scipy(n, radices):
    """A row transform with radix-32 stages (explicit radices) through the NumPy executor in fp32
    emulation: the stage tables of radix 32 and the fused middle with other radices."""
    from fftconv_cupy.plan.plan import _threads_for
    plan = make_plan(n, n, 0, n, real=True, precision="fp32")
    plan = replace(plan, row=replace(plan.row, radices=radices, threads=_threads_for(n, 32)))
    x, k = RNG.standard_normal((2, n)), RNG.standard_normal((1, n))
    want = ss.fftconvolve(x, k, axes=-1)[:, :n]
    y = execute(plan, x, kernel_spectrum(plan, k, np), emulate=True)
    assert 1e-8 < rel_error(y, want) <= tolerance("fp32", plan.n)


def test_plans_are_memoized_and_hash_once():
    """Planning (~80 us) happens once per problem; the aligned variants and the hash are
    cached on the plan and never pickled (string hashes differ between processes)."""
    import pickle
    a = make_plan(4096, 300, 0, 4096, real=True, precision="fp32", gates=[True, False])
    b = make_plan(4096, 300, 0, 4096, real=True, precision="fp32", gates=(True, False))
    assert a is b and a.gate_pre and not a.gate_post
    assert make_plan(4096, 301, 0, 4096, real=True, precision="fp32") is not a
    assert a.with_alignment(4, 4) is a.with_alignment(4 + 768, 4)
    assert a.with_alignment(4, 4).vec_in == 0 and a.with_alignment(0, 0) == a
    hash(a)
    state = a.__getstate__()
    assert "_hash" not in state and "_aligned" not in state
    c = pickle.loads(pickle.dumps(a))
    assert c == a and hash(c) == hash(a) and c is not a
