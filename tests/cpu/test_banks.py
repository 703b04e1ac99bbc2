"""The shared-memory bank model (plan/banks.py) and the radix orders the planner picks with it."""
import math
from dataclasses import replace

import numpy as np
import pytest

from fftconv_cupy.errors import UnsupportedPlanError
from fftconv_cupy.plan import banks, factorize
from fftconv_cupy.plan.plan import make_plan


def test_wavefronts_of_known_patterns():
    lanes = np.arange(32)
    acc = np.stack([lanes, lanes * 16, np.zeros(32, int), lanes * 17])
    # 8-byte elements: consecutive = 2 phases of 16 lanes; stride 16 elements = one bank pair
    # per phase (16 words each); one address for all = broadcast; stride 17 spreads the banks
    assert banks.wavefronts(acc, 8).tolist() == [2, 32, 2, 2]
    # 16-byte elements: four phases of 8 lanes
    assert banks.wavefronts(lanes[None], 16).tolist() == [4]
    assert banks.wavefronts((lanes * 8)[None], 16).tolist() == [32]


def test_stage_cost_finds_the_conflicting_stage():
    # [8x8x8] at 512 points: the second stage's stores take 4 wavefronts (6 accesses, one at 2x)
    assert banks.stage_cost(512, (8, 8, 8), 64, 8) == pytest.approx(7 / 6)
    assert banks.stage_cost(512, (16, 2, 16), 32, 8) == 1.0
    assert banks.stage_cost(4096, (16, 16, 16), 256, 8) == 1.0
    assert banks.stage_cost(4096, (16, 16, 16), 48, 8) is None     # warps straddle rows


def test_stage_cost_of_rows_sharing_a_warp():
    """128-point rows of 8 threads, 4 rows per warp: the odd stride 137 and 140 put two rows of
    a half-warp on the same banks (both measured slow), 152 (= 8 mod 16) does not."""
    cost = lambda stride: banks.stage_cost(128, (16, 8), 8, 8, stride)
    assert cost(137) == 2.0 and cost(140) == 2.0 and cost(152) == 1.0
    assert banks.stage_cost(256, (16, 16), 16, 8, 273) == 1.0


@pytest.mark.parametrize("size", [2 ** k for k in range(1, 15)] + [96, 1536, 4800, 13824])
def test_radix_orders_split_the_size(size):
    orders = factorize.radix_orders(size)
    assert orders[0] == factorize.radices(size)
    assert len(set(orders)) == len(orders)
    for rad in orders:
        assert math.prod(rad) == size and len(rad) == len(orders[0]) and max(rad, default=1) <= 16


def test_planner_picks_conflict_free_orders():
    """Powers of two where the even split conflicts (fp32 512; fp64 512, 1K, 8K) take the
    conflict-free split with equal ends; explicit orders and mixed radices keep the even split."""
    plan = lambda n, p="fp32", **kw: make_plan(n, n, 0, n, real=True, precision=p, **kw)
    assert plan(512).row.radices == (16, 2, 16) and plan(512).fused_middle
    # ... whose radix-2 stages pair lanes t and t ^ 16 of a warp: shuffles (fp32 and fp64)
    assert plan(512).lane_pairs and plan(512, "fp64").lane_pairs
    assert not replace(plan(512), pair_shuffles=False).lane_pairs
    assert not plan(512, "fp16").lane_pairs                       # tensor-core stages
    assert not make_plan(512, 513, 0, 1024, real=False, precision="fp32").lane_pairs
    assert plan(512, order=3).row.radices == (8, 8, 8) and not plan(512, order=3).lane_pairs
    assert plan(1024, "fp64").row.radices == (16, 4, 16)
    assert plan(8192, "fp64").row.radices == (16, 8, 4, 16)
    for n in (1024, 4096):
        assert plan(n).row.radices == factorize.radices(n)
    # fp32 rows of four radix-16 stages take three with radix 32, equal ends first, where
    # two blocks share an SM (8K, not 16K)
    assert plan(8192).row.radices == (16, 32, 16) and plan(8192).fused_middle
    assert plan(8192).regs_row == 128 and plan(8192).min_blocks[0] == 2
    assert plan(16384).row.radices == factorize.radices(16384)
    # one block per SM: a butterfly per thread (1024 threads at 64 registers), powers of two
    # only (odd radices spill at 64); fp64 rows keep 128 registers and at most 512 threads
    assert (plan(16384).row.threads, plan(16384).regs_row, plan(16384).min_blocks[0]) == (1024, 64, 1)
    assert plan(15360).row.threads <= 512 and plan(15360).regs_row >= 80
    # ... and only whole real rows of the planner's own order (ptxas: spills elsewhere)
    assert make_plan(8192, 8193, 0, 16384, real=False, precision="fp32").row.threads == 512
    assert plan(16384, order=5).row.threads <= 512
    seg = make_plan(1 << 20, 4000, 0, 1 << 20, real=True, precision="fp32")
    assert seg.seg is not None and seg.m == 16384 and seg.row.threads == 512 and seg.regs_row == 80
    assert plan(8192, "fp64").row.threads <= 512
    assert plan(8192, order=4).row.radices == factorize.radices(8192) == (8, 16, 8, 8)
    # explicit orders radix-16 stages cannot reach take radix 32 in fp32 (not in fp64)
    assert plan(8192, order=3).row.radices == (16, 32, 16)
    assert plan(16384, order=3).row.radices == (32, 16, 32)
    assert plan(1024, order=2).row.radices == (32, 32)
    with pytest.raises(UnsupportedPlanError, match="radix <= 16"):
        plan(8192, "fp64", order=3)
    # three passes: the orders the planner picks on its own can be asked for
    for n in (1 << 17, 1 << 21, 1 << 22):
        auto = plan(n)
        assert plan(n, order=auto.order).col.radices == auto.col.radices
    # ... and an order the halved middle rows cannot reach keeps the unhalved split (128K: 4)
    assert plan(1 << 17, order=4).describe().endswith("[32 | 16x16x16] x=131072 k=131072 out=[0:131072]")
    with pytest.raises(UnsupportedPlanError, match=r"radix <= 32 \(orders 2\.\.10"):
        plan(1024, order=1)
    for n in (32, 64, 128, 256):        # rows narrower than a warp: not compared by the model
        assert plan(n, "fp64").row.radices == factorize.radices(n) == plan(n).row.radices
    assert plan(1536).row.radices == factorize.radices(1536)
    assert plan(512).row_bank_cost == 1.0 and plan(512, order=3).row_bank_cost == pytest.approx(7 / 6)
    assert plan(4096, "bf16").row_bank_cost is None                 # tensor-core stages


def test_column_cost_and_swizzle():
    """Direct column kernels of 8 columns: first-stage stores of points k, k + R in one
    half-warp share banks (2M, 4M fp32: 1.25x); XORing the row's line bit with bit log2(R)
    removes every conflict; the row map is a permutation."""
    plan = lambda n: make_plan(n, n, 0, n, real=True, precision="fp32")
    for b in (512, 1024):               # the radix-16 columns of 2M and 4M, 8 per block
        rad = factorize.radices(b)
        cost = lambda s: banks.column_cost(b, rad, b // max(rad), 8, 8, s)
        assert rad in ((8, 8, 8), (8, 16, 8)) and cost(0) == pytest.approx(1.25) and cost(3) == 1.0
    # the planner's radix-32 columns: 2M [32x16] in blocks of 16 columns meets no conflict
    p = plan(1 << 21)
    assert p.col.radices == (32, 16) and p.groups == 16 and p.regs_col == 128
    assert banks.column_cost(p.b, p.col.radices, p.col.threads, p.groups, 8, 0) == 1.0
    p = plan(1 << 20)
    assert banks.column_cost(p.b, p.col.radices, p.col.threads, p.groups, 8, 0) == 1.0
    k = np.arange(4096)
    for cols, eb in ((8, 8), (4, 8), (4, 16), (1, 8)):
        assert sorted(banks.column_row(k, 3, cols, eb)) == k.tolist()


def test_wide_radix_splits():
    """Splits up to radix 32: the fewest stages, the power of two even, odd radices apart."""
    assert factorize.min_order(8192, 32) == 3 and factorize.min_order(8192) == 4
    assert factorize.radices(512, None, 32) == (32, 16)
    assert factorize.radices(96, None, 32) == (32, 3)
    assert factorize.radix_orders(8192, 32) == [(16, 32, 16), (32, 8, 32)]   # ends matched
    for rad in factorize.radix_orders(16384, 32):
        assert math.prod(rad) == 16384 and len(rad) == 3 and max(rad) <= 32
    with pytest.raises(UnsupportedPlanError, match="radix <= 32"):
        factorize.radices(1 << 11, 2, 32)
