"""Plan: the frozen, hashable description of one generated convolution kernel set.

A Plan fixes everything that changes the generated code (FFT size, factors,
precision, real or complex data, which samples are loaded and stored) and
nothing that does not (batch and channel counts are launch arguments).

Layouts
-------
``fused``      one launch: load a row, forward Monarch stages, pointwise multiply
               with the kernel spectrum, inverse stages, store the requested outputs.
``cluster``    m = a * b with b = 2 * (cluster size) <= 16: one launch per row on a
               thread-block cluster (Hopper).  Each block of the cluster reads its a/CS
               columns from x, runs their b-point DFTs in registers and writes each output
               into the block that owns its row (distributed shared memory); each block
               owns the middle pass's row pair kb, b-kb and runs its row DFTs, product and
               inverse; then every block reads its columns back from the row owners, runs
               the inverse column DFTs in registers and stores y.  Global memory sees x
               once and y once, as in the fused layout.
``three_pass`` m = a * b points that do not fit on chip: (1) b-point column DFTs
               and twiddles, (2) a-point row DFTs, multiply, inverse row DFTs, in
               place, (3) inverse column DFTs and the store.  Rows are processed in
               chunks so the intermediate is never larger than the input.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields, replace

from ..errors import UnsupportedPlanError
from . import banks, factorize
from .sparsity import SparseMask
from .support import (DEFAULT_SMEM_BYTES, IO_16BIT, MAX_TRANSFORM, MAX_RADIX, MMA_RADICES,
                      PLANNED_PRECISIONS, PRECISIONS, WIDE_RADIX, WIDE_ROW_THREADS)

PAD_SHIFT = 4                 # one padding element per 16 in shared memory: no bank conflicts
ROW_THREADS_MAX = 512         # threads of one on-chip transform
ONE_BLOCK_ROW_THREADS = 1024  # fp32 fused rows whose shared memory leaves one block per SM
BLOCK_THREADS_SMALL = 256     # target block size when several rows share a block
COL_SMEM_TARGET = 100 * 1024  # column kernels: two blocks per SM
ROW_SMEM_FRACTION = 0.62      # middle pass: leave room for L1 (twiddle tables, spectrum)
SM_SMEM_BYTES = 228 * 1024    # per multiprocessor (sm_90)
SM_REGISTERS = 65536
SM_THREADS = 2048
REGS_ROW = 80                 # fused fp32 rows above 8K points (one block per SM anyway)
REGS_MIDDLE = 64              # middle pass: two 512-thread blocks per SM (measured best)
REGS_COL = 64                 # column kernels fit in 64 without spills: two blocks per SM
REGS_WIDE = 128               # radix-32 butterflies (ptxas: spills below this)
REGS_TC = 128                 # kernels with tensor-core stages (ptxas: spills below this)
STAGE_TABLE_MAX_BYTES = 128 << 10  # per-stage twiddle tables up to this size (H200: 16K 1.90 -> 1.79 ms at 128 KiB, 8K 1.77 -> 1.73 at 64 KiB)
FULL_TABLE_BYTES = 32 << 10        # larger stage tables hold powers of two only (Plan.table_exponents)
COLS_MAX = 64                 # columns per block in the column passes (64 x 8 B = 512 B rows)
COLS_HALVED_ROWS_MAX = 512    # fp32 three-pass: halve the middle rows while the columns stay this short
COL_THREADS_MAX = 512
MIDDLE_THREADS_MAX = 512      # two rows per block; more threads would cap registers at 64
CLUSTER_THREADS_MAX = 1024      # cluster blocks of two longer rows (one block per SM)
CLUSTER_COLUMNS = (4, 8, 16)  # b = 2 x cluster size; 8 blocks is the portable cluster limit
# the planner's own choice, CUDA-core precisions with b <= 8 (H200, causal rows, three passes ->
# cluster: fp32 32K 2.82 -> 2.51 ms, fp64 16K 3.35 -> 2.42, fp64 32K 3.46 -> 2.91).  b = 16
# spills its column DFTs (fp32 64K 2.82 -> 3.21 ms; 3.90 at 128 registers), and tensor-core
# rows at 128 registers hold one block per SM (tf32 32K 7.05 -> 7.69, bf16 5.48 -> 6.46).
CLUSTER_AUTO_COLUMNS = (4, 8)
# largest on-chip row (measured: beats three passes even with some spills)
FUSED_MAX = {p: 16384 if v.ctype == "float" else 8192 for p, v in PRECISIONS.items()}


def padded(size: int) -> int:
    """Shared-memory row length: one pad per 16 elements, odd so rows start on other banks."""
    p = size + (size >> PAD_SHIFT)
    return p + 1 if p % 2 == 0 else p


@dataclass(frozen=True)
class Transform:
    """One on-chip Stockham transform, run by `threads` threads per row (group)."""
    size: int
    radices: tuple[int, ...]
    threads: int

    @property
    def stages(self):
        """(radix, Ns) per stage; Ns = product of the earlier radices."""
        out, ns = [], 1
        for r in self.radices:
            out.append((r, ns))
            ns *= r
        return tuple(out)


def _threads_for(size: int, radix: int = MAX_RADIX, max_threads: int = ROW_THREADS_MAX) -> int:
    """One butterfly of the widest radix per thread (fewer threads only past max_threads)."""
    per = max(radix, -(-size // max_threads))
    return max(1, -(-size // per))


def _transform(size: int, order: int | None = None, max_radix: int = MAX_RADIX) -> Transform:
    rad = factorize.radices(size, order, max_radix)
    return Transform(size, rad, _threads_for(size, max(rad, default=1)))


def _widened(t: Transform) -> Transform:
    """`t` split into radices up to WIDE_RADIX when that takes fewer stages (support.py
    says where the planner does this)."""
    if factorize.min_order(t.size, WIDE_RADIX) < len(t.radices):
        return _transform(t.size, None, WIDE_RADIX)
    return t


def _fused_transform(size: int, order: int | None, elem_bytes: int, wide: bool = False,
                     wide_orders: bool = False) -> Transform:
    """A fused row's radix order.  An explicit `order` is the even split (factorize.radices);
    the planner's own choice is, of the splits with the fewest stages, the one with the fewest
    modelled shared-memory bank conflicts (plan/banks.py), then equal ends (a fused middle),
    then the most even.  Powers of two only: mixed radices measured both ways, the model
    ignoring thread balance over odd stages (fp32 m = 3584: 1.80 -> 1.46 ms, but 4800:
    1.60 -> 2.42, 7680: 1.97 -> 2.72).  wide: radices up to WIDE_RADIX where they take a
    stage fewer and the row keeps WIDE_ROW_THREADS threads.  wide_orders: radices up to
    WIDE_RADIX for an explicit `order` that radix-16 stages cannot reach (fp32 8K in three
    stages, as the planner itself splits it)."""
    if order is not None:
        return _ordered(size, order, wide_orders)
    default = _transform(size)
    if size & (size - 1) or size < 2:
        return default

    def key(t):
        cost = banks.stage_cost(t.size, t.radices, t.threads, elem_bytes)
        return (round(cost, 6), t.radices[0] != t.radices[-1], max(t.radices) // min(t.radices))
    cands = [Transform(size, rad, _threads_for(size, max(rad)))
             for rad in factorize.radix_orders(size)]
    if wide and _widened(default) != default:
        fewer = [Transform(size, rad, _threads_for(size, max(rad)))
                 for rad in factorize.radix_orders(size, WIDE_RADIX)]
        fewer = [t for t in fewer if t.threads >= WIDE_ROW_THREADS]
        if fewer:
            cands, default = fewer, fewer[0]
    # whole warps only: narrower rows share a warp at a stride chosen later (row_stride)
    modelled = [t for t in cands if t.threads % 32 == 0
                and banks.stage_cost(t.size, t.radices, t.threads, elem_bytes)]
    return min(modelled, key=key) if default in modelled else default


@dataclass(frozen=True)
class Segments:
    """Overlap-save: a long row cut into blocks of `step` outputs, each one fused row.

    Block b of a row reads signal samples [offset + b*step, offset + b*step + n) (zero
    outside [0, x_len)) and stores outputs [b*step, b*step + step) of `total`.
    """
    step: int
    blocks: int
    x_len: int
    offset: int
    total: int


def twiddle_split(q: int) -> tuple[int, int]:
    """Sizes (lo, hi) of the two twiddle tables for exponents t < q: w^t = lo[t % lo] * hi[t // lo]."""
    lo = 1 << max(0, math.ceil(math.log2(max(q, 1)) / 2))
    return lo, -(-q // lo)


@functools.lru_cache(maxsize=256)
def _row_stride(size: int, radices: tuple[int, ...], threads: int, elem_bytes: int,
                shared_warps: bool) -> int:
    """Plan.row_stride (cached: it is read on every launch)."""
    base = padded(size)
    if not shared_warps:
        return base
    costs = [banks.stage_cost(size, radices, threads, elem_bytes, base + p) for p in range(16)]
    if costs[0] is None:
        return base
    return base + min(range(16), key=lambda p: (round(costs[p], 6), p))


@dataclass(frozen=True)
class Plan:
    precision: str
    real: bool
    n: int                 # FFT size of the linear convolution (>= the aliasing bound)
    m: int                 # complex transform size: n/2 for real data (packed pairs), n otherwise
    len_x: int             # samples in one signal row
    len_k: int             # samples in one kernel row
    out_start: int         # first output sample (index into the full linear convolution)
    out_len: int           # outputs stored per row
    layout: str            # 'fused' | 'cluster' | 'three_pass'
    row: Transform         # the a-point transform (a == m when fused)
    col: Transform | None  # the b-point transform (three_pass only)
    groups: int            # rows (fused) or columns (three_pass, column kernels) per block
    order: int             # total Monarch stages of the m-point transform
    smem_limit: int = DEFAULT_SMEM_BYTES
    vec_in: int = 1        # transform points per vector load of a signal row (0: per sample)
    vec_out: int = 1       # transform points per vector store of an output row (0: per sample)
    regs_row: int = REGS_ROW   # register floor per thread behind __launch_bounds__ (fused / middle)
    regs_col: int = REGS_COL   # the same for the column kernels
    seg: Segments | None = None  # overlap-save blocking of a long row (fused layout only)
    gate_pre: bool = False       # x * pre_gate fused into the load
    gate_post: bool = False      # y * post_gate fused into the store
    sparse: SparseMask | None = None  # spectrum classes computed (None: dense)
    io: str | None = None        # 16-bit real I/O dtype ('float16', 'bfloat16'); None: the precision's
    mma_terms: int = 3           # tensor-core stages: 3 = split hi/lo products, 1 = one product
    stage_table_bytes: int = STAGE_TABLE_MAX_BYTES   # largest per-stage twiddle table (0: none)
    col_direct: bool = True      # three passes: column kernels on registers (see direct_columns)
    fuse_middle: bool = True     # real rows: product between the last and first stages in registers
    row_pad: int | None = None   # extra elements between rows in shared memory (None: row_stride's rule)
    col_swizzle: bool = False    # direct column kernels: swizzled exchange buffer (col_swizzle_bit; unmeasured)
    row_direct: bool = True      # first / last row stage straight from / to global memory (direct_rows)
    full_table_bytes: int = FULL_TABLE_BYTES  # larger stage tables hold the powers of two only (table_exponents)
    halves: bool = False         # cluster layout, b = 2: one row (half of the spectrum) per block
    pair_shuffles: bool = True   # [16x2x16] rows on a warp: radix-2 stages on shuffles (lane_pairs)

    @property
    def io_item(self) -> int:
        """Bytes of one signal / output element in global memory."""
        if self.io is not None:
            return IO_16BIT[self.io]
        return self.elem_bytes // (2 if self.real else 1)

    def tc_stages(self, tf: "Transform", modes=None) -> tuple[bool, ...]:
        """Which stages of transform `tf` run on tensor cores: radix 8 or 16, whole warps,
        whole 8-butterfly tiles, and no sparse skipping (those stay on CUDA cores)."""
        modes = modes or (0,) * len(tf.radices)
        ok = bool(self.prec.mma) and tf.threads % 32 == 0
        return tuple(ok and r in MMA_RADICES and (tf.size // r) % 8 == 0 and not mode
                     for r, mode in zip(tf.radices, modes))

    # Plans key the caches on every call's path (executors, aligned variants): the
    # generated field-by-field hash costs ~1 us a call, so it is computed once per object
    # (and never pickled: string hashes differ between processes).
    def __hash__(self) -> int:
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash(tuple(getattr(self, f.name) for f in fields(self)))
            object.__setattr__(self, "_hash", h)
        return h

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_hash", "_aligned")}

    def with_alignment(self, x_ptr: int, y_ptr: int) -> "Plan":
        """The same plan with vector widths the actual row pointers allow (memoized per
        pointer residue: `replace` validates a whole plan, ~16 us)."""
        # the widths depend on the pointers modulo v * 2 * item (v <= 4, item <= 16): 768 is a multiple
        key = (x_ptr % 768, y_ptr % 768)
        memo = self.__dict__.get("_aligned")
        if memo is None:
            memo = {}
            object.__setattr__(self, "_aligned", memo)
        plan = memo.get(key)
        if plan is None:
            plan = memo[key] = self._with_alignment(*key)
        return plan

    def _with_alignment(self, x_ptr: int, y_ptr: int) -> "Plan":
        if self.seg is not None:
            # overlap-save blocks of real rows use vectors only from 16-byte aligned rows
            if self.real and self.vec_in and (x_ptr % 16 or y_ptr % 16):
                return replace(self, vec_in=0, vec_out=0)
            return self
        vi, vo = _vector_widths(self)
        item = self.io_item

        def fit(v, ptr):
            while v and ptr % (v * 2 * item if self.real else v * item):
                v -= 1
            return v if (v or self.real) else 1
        return replace(self, vec_in=fit(vi, x_ptr), vec_out=fit(vo, y_ptr))

    @property
    def vec_tmp(self) -> int:
        """Points per access of the three-pass intermediate (our own aligned buffer)."""
        return (2 if self.layout == "three_pass" and self.prec.ctype == "float" and self.a % 2 == 0
                and self.groups % 2 == 0 else 1)

    # -- geometry -------------------------------------------------------------
    @property
    def a(self) -> int:
        return self.row.size

    @property
    def b(self) -> int:
        return 1 if self.col is None else self.col.size

    @property
    def nz(self) -> int:
        """Nonzero complex points of the transform input: the rest is implicit padding."""
        return -(-self.len_x // 2) if self.real else self.len_x

    @property
    def out_points(self) -> int:
        """Transform points holding requested outputs (from point 0): the last inverse stage
        of direct rows stores no point at or past it."""
        end = self.out_start + self.out_len
        return min(self.m, (end + 1) // 2 if self.real else end)

    @property
    def q(self) -> int:
        """Twiddle base: every twiddle of the plan is a power of w_q."""
        return 2 * self.m if self.real else self.m

    @property
    def twiddle_tables(self) -> tuple[int, int]:
        return twiddle_split(self.q)

    @property
    def stage_tables(self) -> dict[tuple[int, int], int]:
        """Per-stage twiddle tables: (radix R, Ns) -> offset, in entries after the lo table.

        Stage (R, Ns) reads w_(Ns R)^(c r) (c = butterfly mod Ns) instead of forming its
        twiddles from lo/hi products: no arithmetic and exact values.  Entries are stored
        in pairs of powers, [r // 2][c][r % 2], so a warp's consecutive butterflies read
        consecutive 16-byte pairs.  Stages whose table would exceed `stage_table_bytes`
        keep the products."""
        tfs = (self.row, self.col) if self.layout == "three_pass" else (self.row,)
        out, off = {}, self.twiddle_tables[0]
        for tf in tfs:
            for r, ns in tf.stages:
                if ns > 1 and (r, ns) not in out and ns * r * self.elem_bytes <= self.stage_table_bytes:
                    off += off % 2                       # 16-byte aligned rows of fp32 pairs
                    out[(r, ns)] = off
                    off += ns * self.table_width(r, ns)
        return out

    def table_exponents(self, r: int, ns: int) -> tuple[int, ...]:
        """The powers k of w_(Ns R)^(c k) the stage table of (r, ns) holds per class c: all of
        them, or for power-of-two radices whose full table exceeds `full_table_bytes` only
        k = 1, 2, 4, ..., the others formed on chip as products w^hb w^(k - hb) (hb the
        highest power of two <= k; stockham.cuh table_row).  A quarter of the reads at radix
        16 for 11 complex products per butterfly: measured on the H200, faster where the full
        table would not stay in L1 (fp32 8K 1.61 -> 1.47 ms, fp64 4K 1.45 -> 1.20), slower
        where it does (fp32 4K 1.17 -> 1.22 with its 32 KiB table)."""
        if r > 1 and r & (r - 1) == 0 and ns * r * self.elem_bytes > self.full_table_bytes:
            return tuple(1 << e for e in range(r.bit_length() - 1))
        return tuple(range(r))

    def table_width(self, r: int, ns: int) -> int:
        """Entries per class of the (r, ns) stage table (pairs: an odd count is padded)."""
        w = len(self.table_exponents(r, ns))
        return w + w % 2

    @property
    def table_powers(self) -> bool:
        """Whether any stage table holds powers of two only."""
        return any(len(self.table_exponents(r, ns)) < r for r, ns in self.stage_tables)

    @property
    def direct_columns(self) -> bool:
        """Three-pass column kernels that read their first stage straight from global memory
        and write their last stage straight back (no staging through shared memory; stages
        between exchange through a [point][column] buffer): dense CUDA-core columns, at least
        eight columns per block so a warp's accesses cover 64 contiguous bytes or more."""
        return (self.col_direct and self.layout == "three_pass" and self.sparse is None
                and not any(self.tc_stages(self.col)) and self.groups >= 8)

    @property
    def direct_rows(self) -> bool:
        """Fused rows and the three-pass middle: the first forward stage reads its row from
        global memory and the last inverse stage writes it back (stockham.cuh first_stage_in,
        last_stage_out), so the row is never staged through shared memory on the way in or
        out (overlap-save blocks included).  Not for the cluster layout (rows arrive through
        distributed shared memory) or end stages on tensor cores."""
        if (not self.row_direct or not self.row.radices
                or self.layout not in ("fused", "three_pass")):
            return False
        tc = self.tc_stages(self.row)
        return not (tc[0] or tc[-1])

    @property
    def column_twiddles(self) -> tuple[int, int] | None:
        """Offsets (after the stage tables, in the lo array) of the direct column kernels'
        twiddles w_m^(a kb), a = C blk + c: T1[kb][c] = w_m^(c kb) (a warp's consecutive
        columns read consecutive entries) and T2[blk][kb] = w_m^(C blk kb) (one per warp)."""
        if not self.direct_columns:
            return None
        off = self.stage_tables_end + self.stage_tables_end % 2
        return off, off + self.b * self.groups

    @property
    def stage_tables_end(self) -> int:
        """Entries of the lo array used by the lo table and the stage tables."""
        return max([self.twiddle_tables[0]]
                   + [o + self.table_width(r, ns) * ns for (r, ns), o in self.stage_tables.items()])

    @property
    def lane_pairs(self) -> bool:
        """Fused real rows [16x2x16] on one warp each: both radix-2 stages pair butterflies
        held by lanes t and t ^ 16 (the inverse's: the fused middle's lanes), so they run on
        shuffles instead of two shared-memory round trips and barriers (stockham.cuh
        first_pair_in, middle_real<PAIRS>)."""
        return (self.pair_shuffles and self.layout == "fused" and self.row.radices == (16, 2, 16)
                and self.row.threads == 32 and self.sparse is None and self.direct_rows
                and self.fused_middle and not any(self.tc_stages(self.row)))

    @property
    def fused_middle(self) -> bool:
        """Fused real rows: the last forward stage, the product and the first inverse stage
        run in registers (stockham.cuh middle_real).  Needs equal first and last radices
        (the inverse's first stage reads what the forward's last one holds), whole warps
        of butterfly pairs, CUDA-core stages and a dense spectrum."""
        if self.layout != "fused" or not self._middle_ok():
            return False
        j = self.row.size // self.row.radices[-1]
        return j % 32 == 0 and self.row.threads % 32 == 0 and j % self.row.threads == 0

    @property
    def middle_rows(self) -> bool:
        """The three-pass middle kernel's counterpart of fused_middle (stockham.cuh
        middle_pairs: row pairs kb, b - kb, and the block of rows 0 and b/2)."""
        if self.layout not in ("three_pass", "cluster") or not self._middle_ok():
            return False
        j, threads = self.row.size // self.row.radices[-1], self.row.threads
        return j % 32 == 0 and threads % 32 == 0 and j % threads == 0

    @property
    def middle_blocks(self) -> int:
        """Blocks per data row of the three-pass middle kernel: rows kb and b - kb per block,
        rows 0 and b/2 together; a sparse plan lists its kept rows (a block whose partner
        leads the pair returns at once)."""
        if self.sparse is not None:
            return self.b // self.sparse.grain * len(self.sparse.kept)
        return (self.b + 1) // 2

    def _middle_ok(self) -> bool:
        row = self.row
        return (self.fuse_middle and self.real and self.sparse is None and len(row.radices) >= 2
                and row.radices[0] == row.radices[-1] and row.radices[-1] % 2 == 0
                and not any(self.tc_stages(row)))

    @property
    def prec(self):
        return PRECISIONS[self.precision]

    @property
    def elem_bytes(self) -> int:
        return self.prec.elem_bytes

    @property
    def cluster(self) -> int:
        """Blocks per thread-block cluster (1 unless the layout is 'cluster')."""
        if self.layout != "cluster":
            return 1
        return self.b if self.halves else self.groups

    @property
    def row_block(self) -> tuple[int, int]:
        """(threads, dynamic smem bytes) of the fused / middle / cluster kernel."""
        rows = self.groups if self.layout == "fused" else 1 if self.halves else 2
        return rows * self.row.threads, rows * self.row_stride * self.elem_bytes

    @property
    def row_stride(self) -> int:
        """Elements from one row's start to the next in shared memory: padded(a), plus the
        pad < 16 with the fewest modelled bank conflicts (plan/banks.py) where rows of
        T < 32 threads share a warp (fp32 L = 128, T = 8: 137 -> 152, 0.067 -> 0.055 ms;
        the model also scores 140 as conflicting, which measured as slow as 137)."""
        if self.row_pad is not None:
            return padded(self.a) + self.row_pad
        shared = self.layout == "fused" and self.groups > 1 and self.row.threads < 32
        return _row_stride(self.a, self.row.radices, self.row.threads, self.elem_bytes, shared)

    @property
    def row_bank_cost(self) -> float | None:
        """The row stages' shared-memory wavefronts relative to conflict-free (plan/banks.py;
        None where the model does not apply)."""
        if self.prec.mma:
            return None
        return banks.stage_cost(self.a, self.row.radices, self.row.threads, self.elem_bytes,
                                self.row_stride)

    @property
    def col_swizzle_bit(self) -> int:
        """With `col_swizzle`, the direct column kernels' exchange buffer XORs the row bits within
        a 128-byte line with the bits of the point index from this one up (columns.cuh col_row):
        the bit with the fewest modelled bank conflicts (plan/banks.py column_cost; radix-16
        2M / 4M columns: 1.25x -> 1.0x, the planned 4M [32x32]: 1.5x -> 1.0x); 0 for the plain
        layout.  Off: measured slower or no faster (docs/performance.md)."""
        if not (self.col_swizzle and self.direct_columns):
            return 0
        cost = functools.partial(banks.column_cost, self.b, self.col.radices, self.col.threads,
                                 self.groups, self.elem_bytes)
        if cost(0) is None:
            return 0
        return min(range(16), key=lambda s: (round(cost(s), 6), s))

    @property
    def col_block(self) -> tuple[int, int]:
        if self.col is None or self.layout == "cluster":
            return (0, 0)
        if self.direct_columns:
            # stages between the first and the last exchange through [point][column]
            smem = self.groups * self.b * self.elem_bytes if len(self.col.radices) > 1 else 0
            return self.groups * self.col.threads, smem
        return (self.groups * self.col.threads,
                self.groups * padded(self.b) * self.elem_bytes)

    @property
    def min_blocks(self) -> tuple[int, int]:
        """__launch_bounds__ minimum blocks per SM of (fused/middle, column) kernels.

        Asks for as many resident blocks as shared memory allows while leaving
        each thread at least regs_row / regs_col registers (the butterflies need them).
        """
        def blocks(threads, smem, regs):
            if threads == 0:
                return 1
            by_smem = max(1, SM_SMEM_BYTES // max(smem, 1))
            by_regs = max(1, SM_REGISTERS // (threads * regs))
            return max(1, min(by_smem, by_regs, SM_THREADS // threads))
        return blocks(*self.row_block, self.regs_row), blocks(*self.col_block, self.regs_col)

    @property
    def passes(self) -> int:
        return 3 if self.layout == "three_pass" else 1

    # -- costs ----------------------------------------------------------------
    @property
    def signal_len(self) -> int:
        return self.seg.x_len if self.seg is not None else self.len_x

    @property
    def outputs(self) -> int:
        return self.seg.total if self.seg is not None else self.out_len

    @property
    def virtual_rows_per_row(self) -> int:
        return self.seg.blocks if self.seg is not None else 1

    def io_bytes(self, rows: int) -> int:
        """Bytes the convolution must move: x (and its gate) read once, y written once (and its gate read)."""
        item = self.io_item
        return rows * (self.signal_len * (1 + self.gate_pre) + self.outputs * (1 + self.gate_post)) * item

    def hbm_bytes(self, rows: int, channels: int) -> int:
        """Bytes this plan moves through device memory (intermediates included)."""
        spectrum = channels * self.m * self.elem_bytes * (2 if self.real else 1)   # (A, G) per bin
        kept = 1.0 if self.sparse is None else self.sparse.density
        inter = int(rows * self.m * self.elem_bytes * 4 * kept) if self.layout == "three_pass" else 0
        return self.io_bytes(rows) + spectrum + inter

    def flops(self, rows: int) -> float:
        """Arithmetic of the forward and inverse transforms and the product (5 m log2 m per complex DFT)."""
        per = 2 * 5 * self.m * math.log2(max(self.m, 2)) + 6 * self.m
        return rows * per * self.virtual_rows_per_row

    def describe(self) -> str:
        kind = "real" if self.real else "complex"
        f = "x".join(map(str, self.row.radices))
        if self.col is not None:
            f = "x".join(map(str, self.col.radices)) + " | " + f
        if self.seg is not None:
            g = self.seg
            return (f"segmented {kind} {self.precision} n={self.n} m={self.m} [{f}] x={g.x_len} "
                    f"k={self.len_k} out={g.total}: {g.blocks} blocks of {g.step}{self._gates()}")
        return (f"{self.layout} {kind} {self.precision} n={self.n} m={self.m} [{f}] "
                f"x={self.len_x} k={self.len_k} out=[{self.out_start}:{self.out_start + self.out_len}]"
                f"{self._gates()}")

    def _gates(self) -> str:
        g = [name for name, on in (("pre", self.gate_pre), ("post", self.gate_post)) if on]
        out = f" gates={'+'.join(g)}" if g else ""
        if self.sparse is not None:
            out += f" sparse={len(self.sparse.kept)}/{self.sparse.grain}"
        if self.io is not None:
            out += f" io={self.io}"
        return out

    def as_dict(self) -> dict:
        threads, smem = self.row_block
        d = {
            "layout": self.layout, "precision": self.precision, "real": self.real,
            "n": self.n, "m": self.m, "order": self.order, "passes": self.passes,
            "row_radices": list(self.row.radices), "row_threads": threads, "row_smem": smem,
            "row_stride": self.row_stride, "row_bank_cost": self.row_bank_cost,
            "groups": self.groups, "len_x": self.len_x, "len_k": self.len_k,
            "out_start": self.out_start, "out_len": self.out_len,
            "io": self.io or (self.prec.io_real if self.real else self.prec.io_complex),
        }
        if self.prec.mma:
            tfs = [self.row] + ([self.col] if self.col is not None else [])
            d["tensor_core_stages"] = sum(sum(self.tc_stages(t)) for t in tfs)
        if self.sparse is not None:
            d.update(sparse_grain=self.sparse.grain, sparse_kept=list(self.sparse.kept))
        if self.seg is not None:
            d.update(segment_step=self.seg.step, segment_blocks=self.seg.blocks,
                     signal_len=self.seg.x_len, outputs=self.seg.total)
        if self.col is not None:
            ct, cs = self.col_block
            d.update(col_radices=list(self.col.radices), col_threads=ct, col_smem=cs,
                     a=self.a, b=self.b, direct_columns=self.direct_columns)
        if self.layout == "cluster":
            d.update(cluster_blocks=self.cluster, halves=self.halves)
        d["fused_middle"] = self.fused_middle or self.middle_rows
        d["direct_rows"] = self.direct_rows
        d["lane_pairs"] = self.lane_pairs
        d["stage_tables"] = [{"radix": r, "ns": ns, "entries": list(self.table_exponents(r, ns))}
                             for r, ns in self.stage_tables]
        return d


def _vector_widths(plan: "Plan") -> tuple[int, int]:
    """Transform points per vector access of a signal / output row (0: real row read per sample).

    Rows are contiguous, so a row's start keeps the alignment of element 0 only
    when its length is a multiple of the access width.
    """
    wide = 2 if plan.prec.ctype == "float" else 1        # 16-byte accesses (8 for 16-bit rows)
    if plan.layout == "three_pass" and (plan.a % 2 or plan.groups % 2):
        wide = 1                                         # column chunks must start on even points
    if plan.layout == "cluster" and (plan.a // plan.cluster) % 2:
        wide = 1
    lx, ls, lo = plan.len_x, plan.out_start, plan.out_len
    if plan.real:
        vi = wide if lx % (2 * wide) == 0 else (1 if lx % 2 == 0 else 0)
        start_ok = (lambda w: ls % 2 == 0) if plan.layout == "fused" else (lambda w: ls % (2 * w) == 0)
        vo = next((w for w in (wide, 1) if lo % (2 * w) == 0 and start_ok(w)), 0)
    else:
        vi = wide if lx % wide == 0 else 1
        vo = wide if lo % wide == 0 and ls % wide == 0 else 1
    return vi, vo


def min_fft_size(len_x: int, len_k: int, out_start: int, out_len: int) -> int:
    """Smallest circular size whose aliasing leaves outputs [start, start+len) exact.

    Circular wrap adds y[j +- n]; the linear result is nonzero on [0, len_x+len_k-1).
    n also holds each operand whole (no folding of a signal longer than n).
    """
    full = len_x + len_k - 1
    return max(out_start + out_len, full - out_start, len_x, len_k, 1)


def check_precision(precision: str) -> None:
    if precision in PRECISIONS:
        return
    if precision in PLANNED_PRECISIONS:
        raise UnsupportedPlanError(
            f"precision {precision!r} is not available yet; supported: {sorted(PRECISIONS)}")
    raise ValueError(f"precision must be one of {sorted(PRECISIONS) + ['auto']}, got {precision!r}")


def _row_registers(row: Transform, ctype: str) -> int:
    """Register floor of a fused CUDA-core row kernel (measured on the H200): fp32 rows up
    to 8K points in 64 (four 256-thread or two 512-thread blocks per SM beat fewer blocks
    with more registers: 4K 1.30 -> 1.23 ms, 8K 2.06 -> 1.71 ms); fp64 rows, and radix-32
    butterflies, need 128 to hold a butterfly without spilling."""
    m = row.size
    if max(row.radices, default=1) > MAX_RADIX:
        return REGS_WIDE
    if ctype == "float":
        return 64 if m <= 8192 or row.threads > ROW_THREADS_MAX else REGS_ROW
    return 64 if m < 256 else 128


def _middle_row_sizes(m: int, smem_limit: int, ebytes: int,
                      max_threads: int = MIDDLE_THREADS_MAX) -> list[int]:
    """Row sizes a < m whose block of two rows (kb, b - kb) fits the middle-pass budget."""
    a_cap = int(smem_limit * ROW_SMEM_FRACTION)
    return [d for d in factorize.divisors_smooth(m)
            if 2 * padded(d) * ebytes <= a_cap and d < m
            and 2 * _threads_for(d) <= max_threads]


def _cluster_plan(m, order, smem_limit, ebytes, base, auto=False):
    """m = a * b, b = 2 x cluster size (4, 8 or 16): each block holds the row pair kb, b - kb
    of the middle pass (the largest such row, two blocks per SM first), so b / 2 blocks hold
    the whole transform.  auto: only the splits the planner picks on its own."""
    if auto and PRECISIONS[base["precision"]].mma:
        return None
    columns = CLUSTER_AUTO_COLUMNS if auto else CLUSTER_COLUMNS
    threads = (MIDDLE_THREADS_MAX,) if auto else (MIDDLE_THREADS_MAX, CLUSTER_THREADS_MAX)
    sizes = [a for t in threads
             for a in sorted(_middle_row_sizes(m, smem_limit, ebytes, t), reverse=True)]
    for a in sizes:
        b = m // a
        if b not in columns or a % (b // 2):
            continue
        try:
            row = _transform(a, None if order is None else order - 1)
        except UnsupportedPlanError:
            continue
        col = Transform(b, (b,), 1)
        plan = Plan(layout="cluster", row=row, col=col, groups=b // 2,
                    order=len(row.radices) + 1, **base)
        # every stage table of powers: fp32 32K (4K rows, a 32 KiB table) 2.51 -> 2.31 ms and
        # 2.53 -> 2.36 in two runs on the H200, where fused and middle-pass 4K rows lose
        plan = replace(plan, regs_row=REGS_TC if any(plan.tc_stages(row)) else REGS_MIDDLE,
                       full_table_bytes=0)
        return plan.with_alignment(0, 0)
    return None


def _halves_plan(m, order, smem_limit, ebytes, base):
    """m = 2a on a cluster of two blocks, block kb holding row kb of the (2, a) split (the
    even and the odd bins).  Where the input's upper half is padding, row kb is the signal
    times w_m^(a kb), read straight from global memory: the forward columns exchange
    nothing; the product pairs bins within each row (k and m - k have one parity); only the
    outputs, row 0 + w_m^-a row 1, read half of the other block's row.  Real CUDA-core rows
    of powers of two whose half fits one block."""
    prec = PRECISIONS[base["precision"]]
    a = m // 2
    if (not base["real"] or prec.mma or m & (m - 1) or a < 1024
            or padded(a) * ebytes > smem_limit):
        return None
    row = _fused_transform(a, None, ebytes)
    if order is not None and order != len(row.radices) + 1:
        return None           # other orders: radix-8 butterflies spill (ptxas: 120 - 392 bytes)
    # one butterfly per thread, as the fused rows of one block per SM
    row = replace(row, threads=_threads_for(a, max(row.radices), ONE_BLOCK_ROW_THREADS))
    plan = Plan(layout="cluster", row=row, col=Transform(2, (2,), 1), groups=1, halves=True,
                order=len(row.radices) + 1, regs_row=REGS_MIDDLE, **base)
    return plan.with_alignment(0, 0) if plan.middle_rows else None


def _cost(m: int, passes: int) -> float:
    """Relative cost of one m-point convolution row (transform work, and memory passes)."""
    return m * math.log2(max(m, 2)) * passes


def _segmented_plan(len_x, len_k, out_start, out_len, *, real, precision, order, smem_limit,
                    force):
    """Overlap-save with fused blocks, when cheaper than the single long transform."""
    need = min_fft_size(len_x, len_k, out_start, out_len)
    m_dense = factorize.next_smooth(-(-need // 2) if real else need)
    fused_max = FUSED_MAX[precision]
    if not force and m_dense <= fused_max:
        return None
    dense = _cost(m_dense, 1 if m_dense <= fused_max else 3)
    best = None
    ebytes = PRECISIONS[precision].elem_bytes
    # Real rows whose blocks can start on 16-byte boundaries move whole vectors: each block
    # then reads `lead` >= K-1 samples of history (a multiple of the vector width) and stores
    # `step` (a multiple too) outputs; other rows are read and written one sample at a time.
    width = 16 // (ebytes // 2) if real else 1
    aligned = real and out_start % width == 0 and len_x % width == 0 and out_len % width == 0
    lead = -(-(len_k - 1) // width) * width if aligned else len_k - 1
    m_b = 1 << max(0, (len_k - 1).bit_length() - (1 if real else 0))   # block transform >= kernel
    while m_b <= fused_max and padded(m_b) * ebytes <= smem_limit:
        n_b = 2 * m_b if real else m_b
        step = (n_b - lead) // width * width if aligned else n_b - lead
        if step >= len_k // 4 + 1:
            blocks = -(-out_len // step)
            cost = blocks * _cost(m_b, 1)
            if best is None or cost < best[0]:
                best = (cost, n_b, step, blocks)
        m_b *= 2
    if best is None or (not force and best[0] >= dense):
        return None
    _, n_b, step, blocks = best
    inner = make_plan(n_b, len_k, lead, step, real=real, precision=precision, order=order,
                      n=n_b, smem_limit=smem_limit, layout="fused", segment=False)
    seg = Segments(step=step, blocks=blocks, x_len=len_x, offset=out_start - lead, total=out_len)
    # vec_in / vec_out: points per vector access of the blocks inside the row (0: per sample)
    vec = width // 2 if aligned else (0 if real else 1)
    return replace(inner, seg=seg, vec_in=vec, vec_out=vec)


def make_plan(len_x: int, len_k: int, out_start: int, out_len: int, *, real: bool,
              precision: str, order: int | None = None, n: int | None = None,
              smem_limit: int = DEFAULT_SMEM_BYTES, layout: str | None = None,
              segment: bool | None = None, gates: tuple[bool, bool] = (False, False),
              circular: bool = False, io: str | None = None, clusters: bool = True) -> Plan:
    """Choose FFT size, layout and factors for one 1-D convolution problem.

    Memoized (plans are immutable): planning costs ~80 us, which every functional call
    (fftconvolve, correlate, causal_conv) would otherwise pay.

    segment: overlap-save blocking (None: when it is cheaper than one long transform).
    gates: (pre, post) elementwise gates fused into the load and the store.
    circular: circular convolution of size n (= len_x when n is None): aliasing wanted.
    io: 'float16' / 'bfloat16' for 16-bit real rows (converted on chip); None: the
        precision's own I/O dtype.
    clusters: the planner may choose the cluster layout (the device launches thread-block
        clusters: compute capability 9.0 or newer; gates and sparse masks are not generated
        for it, 16-bit I/O for its two-half-row form only).
    """
    return _planned(len_x, len_k, out_start, out_len, real=real, precision=precision, order=order,
                    n=n, smem_limit=smem_limit, layout=layout, segment=segment,
                    gates=tuple(gates), circular=circular, io=io, clusters=clusters)


@functools.lru_cache(maxsize=1024)
def _planned(len_x, len_k, out_start, out_len, *, real, precision, order, n, smem_limit, layout,
             segment, gates, circular, io, clusters) -> Plan:
    if layout == "cluster" and not clusters:
        raise UnsupportedPlanError("the cluster layout needs thread-block clusters "
                                   "(compute capability 9.0 or newer)")
    if io is not None:
        if io not in IO_16BIT:
            raise ValueError(f"io must be None or one of {sorted(IO_16BIT)}, got {io!r}")
        check_precision(precision)
        if not real or PRECISIONS[precision].ctype != "float":
            raise UnsupportedPlanError(f"{io} I/O is generated for real rows with fp32-class "
                                       f"compute (fp32, tf32, fp16, bf16), not {precision} "
                                       f"{'real' if real else 'complex'} rows")
        # of the cluster forms only the half-rows read and write their rows in 16 bits
        plan = make_plan(len_x, len_k, out_start, out_len, real=real, precision=precision,
                         order=order, n=n, smem_limit=smem_limit, layout=layout, segment=segment,
                         gates=gates, circular=circular, clusters=clusters)
        if plan.layout == "cluster" and not plan.halves:
            if layout == "cluster":
                raise UnsupportedPlanError(
                    f"{io} I/O is generated for the cluster layout's two-half-row form only "
                    f"(real CUDA-core rows of powers of two whose half fits one block); the "
                    f"cluster plan for this problem is one of row pairs")
            plan = make_plan(len_x, len_k, out_start, out_len, real=real, precision=precision,
                             order=order, n=n, smem_limit=smem_limit, layout=layout,
                             segment=segment, gates=gates, circular=circular, clusters=False)
        plan = replace(plan, io=io)
        return plan if plan.seg is not None else plan.with_alignment(0, 0)
    if any(gates):
        if layout == "cluster":
            raise UnsupportedPlanError("gated convolutions are not generated for the cluster layout")
        plan = make_plan(len_x, len_k, out_start, out_len, real=real, precision=precision,
                         order=order, n=n, smem_limit=smem_limit, layout=layout, segment=segment,
                         circular=circular, clusters=False)
        return replace(plan, gate_pre=bool(gates[0]), gate_post=bool(gates[1]))
    if circular:
        n = len_x if n is None else n
        if not (len_k <= n and out_start + out_len <= n and len_x <= n):
            raise ValueError(f"a circular convolution of size {n} needs signal, kernel and outputs within it")
        segment = False
    check_precision(precision)
    if min(len_x, len_k, out_len) < 1 or out_start < 0:
        raise ValueError("lengths must be positive")
    if segment or (segment is None and layout is None and n is None):
        plan = _segmented_plan(len_x, len_k, out_start, out_len, real=real, precision=precision,
                               order=order, smem_limit=smem_limit, force=bool(segment))
        if plan is not None:
            return plan
        if segment:
            raise UnsupportedPlanError(f"a {len_k}-sample kernel is too long for overlap-save blocks")
    need = min_fft_size(len_x, len_k, out_start, out_len)
    if n is None:
        m = factorize.next_smooth(-(-need // 2) if real else need)
    else:
        if n < need and not circular:
            raise UnsupportedPlanError(f"FFT size {n} < {need} would alias the requested outputs")
        if real and n % 2:
            raise UnsupportedPlanError(f"real-input plans need an even FFT size, got {n}")
        m = n // 2 if real else n
        if factorize.factor_smooth(m) is None:
            raise UnsupportedPlanError(
                f"FFT size {n} has a prime factor above 7"
                + (" (a circular convolution cannot be padded to a smooth size)" if circular else ""))
    if m > MAX_TRANSFORM:
        raise UnsupportedPlanError(
            f"FFT size {2 * m if real else m} exceeds the largest supported transform "
            f"({MAX_TRANSFORM} complex points)")
    ebytes = PRECISIONS[precision].elem_bytes
    base = dict(precision=precision, real=real, n=2 * m if real else m, m=m, len_x=len_x,
                len_k=len_k, out_start=out_start, out_len=out_len, smem_limit=smem_limit)

    fits = padded(m) * ebytes <= smem_limit and (m <= FUSED_MAX[precision] or layout == "fused")
    if layout not in (None, "fused", "cluster", "three_pass"):
        raise ValueError(f"layout must be 'fused', 'cluster' or 'three_pass', got {layout!r}")
    if layout == "fused" and not fits:
        raise UnsupportedPlanError(f"{m} complex points do not fit on chip for one row")
    if fits and layout in (None, "fused"):
        tc = bool(PRECISIONS[precision].mma)
        # radix 32 only where two blocks still share an SM: 8K 1.49 -> 1.40 ms, while
        # 16K (one block per SM, every barrier drains it) went 1.65 -> 1.68 on the H200
        fp32 = PRECISIONS[precision].ctype == "float"
        wide = fp32 and 2 * padded(m) * ebytes <= smem_limit
        row = _transform(m, order) if tc else _fused_transform(m, order, ebytes, wide, fp32)
        if fp32 and real and order is None and n is None and not tc and not wide and m & (m - 1) == 0:
            # one block per SM (its shared memory): up to 1024 threads at 64 registers, one
            # butterfly each, so a barrier idles half as much of the SM (real 16K 1.640 ->
            # 1.537 ms). Whole rows of the planner's own size and order only: ptxas reports
            # spills at 64 registers for odd radices (15360, 14000: 300-500 bytes), complex
            # rows (320), explicit orders (20-28) and overlap-save blocks (64, planned with n)
            row = replace(row, threads=_threads_for(m, max(row.radices), ONE_BLOCK_ROW_THREADS))
        if tc and m >= 256:
            # tensor-core stages: 8 points per thread (two tiles per warp at radix 16);
            # the hoisted DFT matrix and split operands need more registers (measured
            # with ptxas: no spills at 128)
            row = replace(row, threads=min(ROW_THREADS_MAX, m // 8))
        groups = fused_groups(row.threads, m, ebytes, smem_limit)
        plan = Plan(layout="fused", row=row, col=None, groups=groups,
                    order=len(row.radices), **base)
        regs = REGS_TC if tc else _row_registers(row, PRECISIONS[precision].ctype)
        return replace(plan, regs_row=regs).with_alignment(0, 0)

    if layout == "cluster" or (layout is None and clusters):
        # two blocks of half-rows where a half fits one block (fp32 32K: 2.32 -> 2.10 ms on
        # the H200 against the row pairs of 4K points); shorter rows stay fused (8K as
        # halves: 1.39 -> 1.58 ms, 16K 1.54 -> 2.04)
        halves = m > FUSED_MAX[precision] and PRECISIONS[precision].ctype == "float"
        plan = _halves_plan(m, order, smem_limit, ebytes, base) if halves else None
        if plan is not None:
            return plan
        plan = _cluster_plan(m, order, smem_limit, ebytes, base, auto=layout is None)
        if plan is not None:
            return plan
        if layout == "cluster":
            raise UnsupportedPlanError(f"no cluster split of {m} points fits on chip")

    return _three_pass_plan(m, order, smem_limit, ebytes, base)


def fused_groups(threads: int, size: int, elem_bytes: int, smem_limit: int) -> int:
    """Rows per fused block: blocks of about BLOCK_THREADS_SMALL threads, within the shared memory."""
    return max(1, min(BLOCK_THREADS_SMALL // threads, smem_limit // (padded(size) * elem_bytes)))


def _ordered(size: int, order: int, wide: bool) -> Transform:
    """`order` stages of radix <= 16, or up to WIDE_RADIX where only they reach it (wide)."""
    try:
        return _transform(size, order)
    except UnsupportedPlanError:
        if not wide:
            raise
        return _transform(size, order, WIDE_RADIX)


def _columns_per_block(a: int, b: int, col: Transform, ebytes: int) -> int:
    """Columns a column-pass block takes: whole 128-byte row segments where the shared memory
    (two blocks per SM) and the threads allow."""
    per_col = padded(b) * ebytes
    cols = 1
    while (cols * 2 <= COLS_MAX and a % (cols * 2) == 0
           and cols * 2 * per_col <= COL_SMEM_TARGET
           and cols * 2 * col.threads <= COL_THREADS_MAX):
        cols *= 2
    return cols


def _three_pass_plan(m, order, smem_limit, ebytes, base, a=None):
    """Three passes: columns, row pairs (the middle pass), columns.  Rows of `a` points; None:
    the largest row size whose two rows fit."""
    cands = _middle_row_sizes(m, smem_limit, ebytes)
    precision = PRECISIONS[base["precision"]]
    wide = precision.ctype == "float" and not precision.mma
    if a is None:
        if not cands or m // max(cands) > 16384:
            raise UnsupportedPlanError(f"no two-level split of {m} points fits on chip")
        a = max(cands)
        # rows of half the size run the middle pass with twice the blocks per SM (2.3 ->
        # 2.55 TB/s); worth it while the doubled columns stay short: one stage (64K, b 16 ->
        # 32) or at most 512 points (H200: 256K 2.68 -> 2.56 ms, 512K 2.68 -> 2.53, 1M 3.55
        # -> 3.44), not 1024 (2M 3.66 -> 3.74: 32x32 columns in blocks of 8 lose more)
        b2 = 2 * m // a
        one_stage = factorize.min_order(b2, WIDE_RADIX) == 1 < factorize.min_order(b2)
        short = b2 <= COLS_HALVED_ROWS_MAX and m & (m - 1) == 0 and base["real"]  # as measured
        # an explicit order keeps the halved split only where it still reaches that order
        reach = order is None or (factorize.min_order(b2, WIDE_RADIX)
                                  + factorize.min_order(a // 2, WIDE_RADIX) <= order)
        if wide and a // 2 in cands and reach and (one_stage or short):
            a //= 2
    elif a not in cands or m // a > 16384:
        raise UnsupportedPlanError(f"rows of {a} points: not a middle-pass row size of {m} ({cands})")
    b = m // a
    if order is not None:
        # distribute the requested stages: columns get theirs first
        most = WIDE_RADIX if wide else MAX_RADIX
        cmin, rmin = factorize.min_order(b, most), factorize.min_order(a, most)
        if order < cmin + rmin:
            raise UnsupportedPlanError(f"order {order} < {cmin + rmin} for a {m}-point transform")
        col_order = max(cmin, min(order - rmin, order // 2))
        col, row = _ordered(b, col_order, wide), _ordered(a, order - col_order, wide)
    else:
        col, row = _transform(b), _transform(a)
        if wide:
            # fewer threads per column: keep blocks of 64 threads at least (columns of
            # 2^k * odd points beside rows whose power of two caps the columns per block)
            wider = _widened(col)
            if _columns_per_block(a, b, wider, ebytes) * wider.threads >= min(
                    64, _columns_per_block(a, b, col, ebytes) * col.threads):
                col = wider
    per_col = padded(b) * ebytes
    cols = _columns_per_block(a, b, col, ebytes)
    if cols * per_col > smem_limit:
        raise UnsupportedPlanError(f"a {b}-point column does not fit on chip")
    plan = Plan(layout="three_pass", row=row, col=col, groups=cols,
                order=len(row.radices) + len(col.radices), regs_row=REGS_MIDDLE, **base)
    regs_col = REGS_WIDE if max(col.radices) > MAX_RADIX else REGS_COL
    plan = replace(plan, regs_row=REGS_TC if any(plan.tc_stages(row)) else REGS_MIDDLE,
                   regs_col=REGS_TC if any(plan.tc_stages(col)) else regs_col)
    return plan.with_alignment(0, 0)
