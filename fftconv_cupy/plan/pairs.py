"""Row pairs on tensor cores: plan, tables, spectrum and the NumPy executor.

Two real rows of one channel form one complex row z = x1 + i x2; a real kernel keeps
them apart (y1 + i y2 = ifft(fft(z) K)), so the n-point transform needs no pairing of
bins k and n - k.  The kernel (templates/pairs.cu.j2, include/fftconv/pairs.cuh) runs the
three radix-16 stages of SUB = 4096 points as fp16 mma products; this module lays out
what it reads: per-lane DFT fragments and stage-2 twiddles, stage-3 twiddle tables and
the kernel spectrum, all in mma fragment order (fp16 pairs), and runs the same flow in
float64 for the no-GPU path.

n = 4096 s (s = 2, 4, 8: "split rows") splits the row by decimation in time: E_e = the
4096-point transform of points e, e + s, e + 2s, ... (e < s), X[k' + 4096 m] =
sum_e w^((k' + 4096 m) e) E_e[k'] (w = e^(-2 pi i / n)).  Times the spectrum and back, the
outputs' parts e' have the spectra
    G_e' = sum_e W[e - e'] E_e,   W[d] = w^(k' d) D[d mod s],  D[r] = (1/s) sum_m K_m z^(m r)
(K_m = K[k' + 4096 m], z = e^(-2 pi i / s)): s = 2 gives G_0 = P E_0 + Q E_1,
G_1 = R E_0 + P E_1 with P = (K_0 + K_1) / 2, Q = w^k' (K_0 - K_1) / 2, R = w^-k' (...) / 2.
So a block runs s 4096-point transforms, mixed bin by bin between stage 3's products, with
the 2 s - 1 tables W[d] (d = 0, 1, .., s - 1, -(s - 1), .., -1: table d mod (2 s - 1)).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from .support import (DEFAULT_SMEM_BYTES, PAIR_CAUSAL_ALIGN, PAIR_CIRCULAR_MAX, PAIR_IO,
                      PAIR_LANE_POINTS, PAIR_SEGMENTS, PAIR_SIZES, SMEM_NO_OPT_IN)

THREADS = 128                # per 4096-point transform (a split row's block: s times)
SUB = 4096                   # the transform the kernel's three radix-16 stages compute
SMEM_BYTES = 16384 + 32      # the exchange buffer (two fp16 planes) and the rows' maxima


@dataclass(frozen=True)
class PairPlan:
    """A convolution of 16-bit real rows, two rows of one channel per block: circular
    (rows of n) or causal (rows of `length` <= n - len_k + 1, zero-padded to n on chip, the
    first `length` outputs stored), with optional gates multiplied on load and store.

    segments S > 1 (causal rows of length <= n / (2 S)): each part of the complex row holds
    S rows, row s at points [s n / S, s n / S + length) and zeros up to the next one, so a
    block convolves 2 S rows of one channel (the zeros guard each row's causal past)."""
    n: int                     # transform size
    radices: tuple[int, ...]
    len_k: int
    io: str
    precision: str = "fp16"
    mode: str = "circular"
    length: int = 0            # row length (0: n)
    gate_pre: bool = False
    gate_post: bool = False
    grid_per_sm: int = 0       # blocks per SM of a looping grid (0: one block per pair)
    min_blocks: int = 4        # __launch_bounds__ (128 registers; 3 and 5 measured slower)
    s3_unroll: int = 2         # stage-3 j blocks interleaved (1: 6 % slower)
    segments: int = 1          # rows per part of the complex row
    assume_threads: bool = True  # tell the compiler the block is 128 threads (pair_plan: when)
    rebased: bool = True       # row loads from the lane's first element (constant offsets)
    lane_points: int = 4       # consecutive points a lane loads (8, 16: a split row of 4, 8 parts in 8 warps)
    early_loads: bool = False  # a looping grid loads the next pair's rows before stage 3 (ungated)

    def __post_init__(self):
        if self.n not in PAIR_SIZES:
            raise ValueError(f"row pairs compute sizes {sorted(PAIR_SIZES)}, got {self.n}")
        if self.split > 1 and (self.segments > 1 or (self.mode != "causal" and
                                                     (self.gate_pre or self.gate_post))):
            raise ValueError(f"a {self.n}-point row pair takes one row per part, gated if causal")
        alt = 4 if self.split <= 4 else 8         # the other layout measured (16 warps)
        if self.lane_points not in (PAIR_LANE_POINTS[self.n], alt):
            raise ValueError(f"lane_points is {PAIR_LANE_POINTS[self.n]} for n = {self.n} "
                             f"(or {alt}), got {self.lane_points}")
        if self.segments not in PAIR_SEGMENTS:
            raise ValueError(f"segments must be one of {PAIR_SEGMENTS}, got {self.segments}")
        if self.segments > 1 and (self.mode != "causal" or 2 * self.segments * self.len_x > self.n):
            raise ValueError(f"{self.segments} segments need causal rows of at most "
                             f"{self.n // (2 * self.segments)}, got {self.mode} rows of {self.len_x}")

    layout = "row_pairs"
    real = True
    sparse = None

    @property
    def len_x(self) -> int:
        return self.length or self.n

    @property
    def out_len(self) -> int:
        return self.len_x

    @property
    def split(self) -> int:
        """4096-point transforms per row (s = 2, 4, 8: n = 4096 s, decimated in time)."""
        return self.n // SUB

    @property
    def threads(self) -> int:
        """128 threads a 4096-point transform at 4 points a lane; 8 points a lane halve them."""
        return THREADS * self.split * 4 // self.lane_points

    @property
    def rows_per_block(self) -> int:
        return 2 * self.segments

    @property
    def segment_len(self) -> int:
        """Points of the complex row per segment."""
        return self.n // self.segments

    def with_alignment(self, x_ptr: int, y_ptr: int) -> "PairPlan":
        return self                 # rows are read and written in 16-byte pieces or whole sectors

    def io_bytes(self, rows: int) -> int:
        """Bytes of x, y and the gates (the floor's bytes)."""
        return rows * (2 + self.gate_pre + self.gate_post) * self.len_x * 2

    @property
    def smem_bytes(self) -> int:
        """Shared memory: the exchange buffer, the maxima, each gate's block rows."""
        gates = 0 if self.split > 1 else self.gate_pre + self.gate_post   # split rows: registers
        return (SMEM_BYTES + 32 * (self.segments - 1) + (16384 + 32) * (self.split - 1)
                + gates * self.rows_per_block * self.len_x * 2)

    @property
    def dynamic_smem(self) -> int:
        """Bytes of the exchange buffer when it is dynamic shared memory (past the static
        limit: s = 4, 8), else 0."""
        exchange = 16384 * self.split
        return exchange if self.split > 1 and self.smem_bytes > SMEM_NO_OPT_IN else 0

    @property
    def spectrum_tables(self) -> int:
        """Tables of 4096 bins per channel: K, or a split row's mixing tables W[d]."""
        return 1 if self.split == 1 else 2 * self.split - 1

    @property
    def spectrum_words(self) -> int:
        """uint32 words of one channel's spectrum (fp16 pairs in fragment order): K, or
        the mixing tables of each stage-3 block for a split row."""
        return self.spectrum_tables * SUB

    def describe(self) -> str:
        f = "x".join(map(str, self.radices))
        gates = "".join((" pre_gate" if self.gate_pre else "", " post_gate" if self.gate_post else ""))
        rows = f" L={self.len_x}" if self.mode != "circular" else ""
        if self.segments > 1:
            rows += f" segments={self.segments}"
        if self.split > 1:
            rows += f" split={self.split}x{SUB}"
        return (f"row_pairs real {self.precision} n={self.n} [{f}] io={self.io} {self.mode}{rows}"
                f"{gates} ({'two' if self.segments == 1 else self.rows_per_block} rows per complex row, "
                "mma.sync m16n8k16 f16)")

    def as_dict(self) -> dict:
        return {"layout": self.layout, "precision": self.precision, "real": True, "n": self.n,
                "m": self.len_x, "mode": self.mode, "factors": list(self.radices), "passes": 1,
                "io": self.io, "gates": [self.gate_pre, self.gate_post], "threads": self.threads,
                "shared_memory_bytes": self.smem_bytes, "rows_per_block": self.rows_per_block,
                "describe": self.describe()}


def pair_plan(len_x: int, len_k: int, *, mode: str, io: str | None, precision: str,
              gates: tuple[bool, bool] = (False, False), batch: int = 2) -> PairPlan | None:
    """The row-pair plan of a problem it serves, else None (the caller plans as usual).

    precision: 'fp16' or 'auto' (16-bit I/O); a block takes 2 S rows of one channel from
    consecutive batch entries, so the batch must be a multiple of 2 S.  Circular rows of a
    size in the support table; causal rows whose linear convolution fits one of those
    sizes (S = 1, the size less than 4x the row: support.py says why) or whose segment of
    n / S points does (S = 2, 4: rows of at most n / (2 S), more than half that), rows
    whole 16-byte pieces.
    """
    if (io not in PAIR_IO or precision not in ("auto", "fp16") or not 0 < len_k <= len_x
            or batch < 2):
        return None
    plan = None
    if (mode == "circular" and len_x in PAIR_SIZES and len_x <= PAIR_CIRCULAR_MAX
            and (len_x == SUB or not any(gates))):
        plan = PairPlan(n=len_x, radices=PAIR_SIZES[len_x], len_k=len_k, io=io,
                        lane_points=PAIR_LANE_POINTS[len_x],
                        gate_pre=gates[0], gate_post=gates[1])
    if mode == "causal" and len_x % PAIR_CAUSAL_ALIGN == 0:
        for n, radices in sorted(PAIR_SIZES.items()):
            segments = next((s for s in PAIR_SEGMENTS if n // (4 * s) < len_x), None)
            # gated rows of four or more parts past n / 2 would hold 200+ row and gate
            # registers a lane (NVRTC takes minutes over them): they take the next size
            wide = n > 2 * SUB and any(gates) and 2 * len_x > n
            if segments is not None and len_x + len_k - 1 <= n // segments and not wide:
                plan = PairPlan(n=n, radices=radices, len_k=len_k, io=io, mode="causal",
                                lane_points=PAIR_LANE_POINTS[n],
                                length=len_x, gate_pre=gates[0], gate_post=gates[1],
                                segments=segments)
                break
    if plan is None or batch % plan.rows_per_block:
        return None
    # eight parts with both gates spill 700 bytes a lane (both gates in registers): H100,
    # causal 16K, 12288 rows: 1.936 ms against 1.572 for the fp32 plan (one gate: pre 1.310,
    # post 1.258; ungated 0.935 against 1.482)
    if plan.split == 8 and plan.gate_pre and plan.gate_post:
        return None
    # the block-size hint folds the in-row offset checks (gated causal L = 1024: 2144 -> 1480
    # SASS instructions), but ptxas then schedules the ungated segments 11-13 % slower;
    # measured (H200, scripts/pairs-ab, best of 3): 2048 0.331 -> 0.307 ms, gated 0.419 ->
    # 0.372; 1024 gated 0.249 -> 0.195, ungated 0.161 -> 0.182; 512 gated 0.134 -> 0.124,
    # ungated 0.101 -> 0.112; circular 4096 0.378 -> 0.381
    # Row loads from the lane's first element (constant offsets: 2048 ungated 1176 -> 1088
    # SASS instructions): 2048 0.292 -> 0.265 ms, circular 0.368 -> 0.362; but gated 2048
    # 0.353 -> 0.360 and the segments 0.085 -> 0.092 (512), 0.150 -> 0.162 (1024), so only
    # ungated single rows take it (scripts/pairs-ab, best of 2).
    # one stage-3 block at a time for the circular split rows (ptxas: 88 -> 32 bytes of
    # spill; H100, scripts/pairs-ab best of 3: 0.990 -> 0.941 ms; causal 4096 even, 0.633)
    # four parts in 8 warps of 8 points a lane (two blocks an SM): with 16 warps of 4 points
    # (one block an SM, its barriers idle the SM) H100 causal 8K 0.972 ms, circular 16384 2.646
    # (ptxas at 128 registers, 8 points a lane: causal 8K spills 192 bytes unrolled once, 248 twice)
    plan = replace(plan, s3_unroll=1 if plan.split > 1 and (mode == "circular" or plan.split >= 4)
                   else plan.s3_unroll,
                   assume_threads=plan.segments == 1 or any(gates),
                   rebased=plan.segments == 1 and not any(gates))
    # 128 registers a thread; but gated or circular rows of four parts spill 224-712 bytes
    # there and run faster with one block an SM (H100, scripts/pairs-ab best of 3: gated
    # causal 8K 1.129 -> 1.047 ms, circular 16384 2.399 -> 2.202; ungated causal 8K 0.738 ->
    # 0.839 and 6144 0.666 -> 0.792 the other way)
    # eight parts: a 128 KB exchange buffer, one block an SM whatever the bound
    one_block = plan.split == 8 or (plan.split == 4 and (mode == "circular" or any(gates)))
    plan = replace(plan, min_blocks=1 if one_block else plan.min_blocks * THREADS // plan.threads)
    # eight parts, one block an SM: a looping grid; a post-gated one loads the next pair's
    # rows before stage 3 (H100 causal 16K, scripts/pairs-ab best of 3, one block a pair /
    # looping / looping with early loads: ungated 0.941 / 0.922 / 0.938 ms, post-gated
    # 1.203 / 1.186 / 1.152; a pre-gate's values come with the rows)
    if plan.split == 8 and not plan.gate_pre:
        plan = replace(plan, grid_per_sm=1, early_loads=plan.gate_post)
    # the gates' rows live in static shared memory (two gates of 4096: past its limit);
    # only a split row's exchange buffer may be dynamic (s = 4: 64 KB)
    static = plan.smem_bytes - plan.dynamic_smem
    return plan if static <= SMEM_NO_OPT_IN and plan.smem_bytes <= DEFAULT_SMEM_BYTES else None


# --- fragment order ----------------------------------------------------------------

def frag_coords():
    """(row, col) of A-fragment element (k, lane, e): row g + 8 (k & 1), col 2q + 8 (k >> 1) + e."""
    k, lane, e = np.meshgrid(np.arange(4), np.arange(32), np.arange(2), indexing="ij")
    g, q = lane >> 2, lane & 3
    return g + 8 * (k & 1), 2 * q + 8 * (k >> 1) + e


def half_pairs(z, xp=np):
    """complex (..., 4, 32, 2) -> uint32 (..., 4, 32, 2): fp16 pairs (e = 0 low) of re, then im."""
    def bits(v):
        b = xp.asarray(v).astype(xp.float16).view(xp.uint16).astype(xp.uint32)
        return b[..., 0] | (b[..., 1] << 16)
    return xp.stack([bits(z.real), bits(z.imag)], axis=-1)


def quads(words, xp=np):
    """(..., 4, 32, 2) uint32 (k, lane, re / im) -> (..., 2, 32, 4): per lane (re, im) of
    k = 2kp, then of k = 2kp + 1 (one 16-byte load per register pair)."""
    w = words.reshape(words.shape[:-3] + (2, 2, 32, 2))
    w = xp.moveaxis(w, -3, -2)
    return xp.ascontiguousarray(w.reshape(words.shape[:-3] + (2, 32, 4)))


def _w(n):
    return np.exp(-2j * np.pi / n)


def segment_rows(segments: int):
    """a(kk): the stage-1 row a (n = 256 a + 16 b + c) that row kk < 8 of the m16n8k8
    operand holds, when S segments each keep data in their first half: the nonzero a are
    those with a mod (16 / S) < 8 / S (S = 1: a < 8)."""
    kk = np.arange(8)
    u = 8 // segments
    return kk + u * (kk // u)


def lane_constants(n: int = 4096, segments: int = 1):
    """[6][32] uint4: F / 4 as A (re, im), as B (re, im; [nb][b0, b1]), stage-2 twiddles
    (re, im); with segments, [8][32]: then stage 1's A over the nonzero rows a(kk) (m16n8k8:
    re, im of regs 0-1) and the last product's B for outputs a(nn), nn < 8 (re, im of
    b0, b1)."""
    row, col = frag_coords()
    F = lambda r, c: np.exp(-2j * np.pi * ((r * c) % 16) / 16) / 4
    fa = half_pairs(F(row, col))
    k, lane, e = np.meshgrid(np.arange(4), np.arange(32), np.arange(2), indexing="ij")
    nb, hh, g, q = k >> 1, k & 1, lane >> 2, lane & 3
    fb = half_pairs(F(2 * q + 8 * hh + e, 8 * nb + g))
    t2 = half_pairs(_w(n) ** ((16 * row * col) % n))
    words = [fa[..., 0], fa[..., 1], fb[..., 0], fb[..., 1], t2[..., 0], t2[..., 1]]
    table = np.stack([w.T for w in words]).astype(np.uint32)
    if segments == 1:
        return table
    a = segment_rows(segments)
    fp = half_pairs(F(row, a[col % 8]))            # regs 0-1 (col < 8) are what m16n8k8 reads
    gp = half_pairs(F(2 * q + 8 * hh + e, a[g]))   # n-block 0
    perm = np.stack([np.concatenate([fp[:2, :, 0], fp[:2, :, 1]]).T,
                     np.concatenate([gp[:2, :, 0], gp[:2, :, 1]]).T]).astype(np.uint32)
    return np.concatenate([table, perm])


def stage3_twiddles(n: int = 4096):
    """Complex stage-3 twiddles in A order: forward per c tile (element (ka, kb)), inverse
    per j block (element (j, c), conjugated); each (16, 4, 32, 2)."""
    row, col = frag_coords()
    t = np.arange(16)[:, None, None, None]
    tw3f = _w(n) ** ((t * (row + 16 * col)) % n)
    tw3i = np.conj(_w(n) ** ((col * (16 * t + row)) % n))
    return tw3f, tw3i


@functools.lru_cache(maxsize=4)
def device_tables(n: int = 4096, segments: int = 1):
    """The kernel's constant tables (host arrays): stage-3 forward, inverse, lane constants."""
    tw3f, tw3i = stage3_twiddles(n)
    return quads(half_pairs(tw3f)), quads(half_pairs(tw3i)), lane_constants(n, segments)


def fragment_spectrum(K, xp=np):
    """Kernel spectra K (channels, [tables,] 4096) -> (K'' in fragment order, output factors):
    K'' = K 2^t / 128 with 2^t putting each channel's largest part into [0.5, 1)."""
    flat = K.reshape(len(K), -1)
    m = xp.maximum(xp.abs(flat.real), xp.abs(flat.imag)).max(axis=-1)
    _, ex = xp.frexp(xp.where(m > 0, m, 1.0))
    scale = xp.ldexp(xp.ones_like(m), -ex)
    Ks = K * scale.reshape((-1,) + (1,) * (K.ndim - 1)) / 128
    row, col = frag_coords()
    jb = np.arange(16)[:, None, None, None]
    idx = (16 * jb + row) + 256 * col                        # k = j + 256 kc
    return Ks[..., xp.asarray(idx)], (128 / scale).astype(xp.float32)


def split_spectrum(K, xp=np):
    """An n = 4096 s point spectrum (channels, n) -> (channels, 2 s - 1, 4096): the mixing
    tables W[d] of the decimation in time, table d mod (2 s - 1) (the module's docstring;
    s = 2: P, Q, R)."""
    s = K.shape[-1] // SUB
    Km = K.reshape(len(K), s, SUB)
    z = np.round(_w(s) ** np.arange(s), 15)           # exact for s | 4: 1, -i, -1, i
    D = [sum(Km[:, m] * complex(z[m * r % s]) for m in range(s)) / s for r in range(s)]
    k = np.arange(SUB)
    d_of = [t if t < s else t - (2 * s - 1) for t in range(2 * s - 1)]
    return xp.stack([D[d % s] * xp.asarray(_w(s * SUB) ** ((d * k) % (s * SUB)))
                     for d in d_of], axis=1)


@functools.lru_cache(maxsize=8)
def spectrum_gather(tables: int) -> np.ndarray:
    """The kernel's spectrum words as a gather: for each fp16 half of a channel's
    `tables` * 4096 words (low half first), its position in the channel's spectrum tables
    viewed as float64 (re, im interleaved; the tables one after another).  The order of
    fragment_spectrum -> half_pairs -> quads (-> the tables per block j, split rows)."""
    row, col = frag_coords()
    jb = np.arange(16)[:, None, None, None]
    pos = (16 * jb + row) + 256 * col                        # (16, 4, 32, 2 e): k
    pos = np.arange(tables)[:, None, None, None, None] * SUB + pos
    halves = np.stack([2 * pos, 2 * pos + 1], axis=-2)       # (tables, 16, 4, 32, 2 ri, 2 e)
    words = np.stack([quads(halves[..., e]) for e in range(2)], axis=-1)   # (.., 2, 32, 4, 2 e)
    if tables > 1:
        words = np.moveaxis(words, 0, 1)                     # per block j: its tables
    return np.ascontiguousarray(words.reshape(-1)).astype(np.int32)


def kernel_spectrum_pairs(plan: PairPlan, k_rows, xp):
    """The spectrum array the kernel reads: per channel `spectrum_words` uint32 words (fp16
    pairs in fragment order; split rows: the mixing tables of each stage-3 block j), then
    one float32 output factor per channel.  Computed where `xp` computes (on the GPU for
    CuPy: a one-shot causal_conv pays its FFT there, not a host round trip) as one FFT,
    one gather, one scale and one rounding (each channel's largest part into [0.5, 1) / 128),
    the words of `fragment_spectrum` -> `half_pairs` -> `quads`."""
    k = xp.asarray(k_rows, dtype=xp.float64)
    K = xp.fft.fft(k, n=plan.n, axis=-1)
    if plan.split > 1:
        K = split_spectrum(K, xp)
    parts = xp.ascontiguousarray(K).reshape(len(k), -1).view(xp.float64)
    v = parts[:, xp.asarray(spectrum_gather(plan.spectrum_words // SUB))]   # in word order
    m = xp.abs(v).max(axis=-1)
    _, ex = xp.frexp(xp.where(m > 0, m, 1.0))
    scale = xp.ldexp(xp.ones_like(m), -ex)
    words = xp.ascontiguousarray((v * (scale / 128)[:, None]).astype(xp.float16)).view(xp.uint32)
    return xp.concatenate([words.ravel(), (128 / scale).astype(xp.float32).view(xp.uint32)])


def unpack_spectrum(plan: PairPlan, hs: np.ndarray, channels: int):
    """The fp16 spectrum values and output factors back from `kernel_spectrum_pairs`:
    (channels, 16, 4, 32, 2) complex, split rows (channels, 2 s - 1, 16, 4, 32, 2)."""
    tables = plan.spectrum_words // SUB
    words = hs[:channels * plan.spectrum_words].reshape(channels, 16, tables, 2, 32, 4)
    ks = hs[channels * plan.spectrum_words:].view(np.float32)
    w = np.moveaxis(words.reshape(channels, 16, tables, 2, 32, 2, 2), 4, 5)   # kp, kk, lane, re/im
    w = np.moveaxis(w.reshape(channels, 16, tables, 4, 32, 2), 2, 1)
    def val(v):
        lo = (v & 0xFFFF).astype(np.uint16).view(np.float16).astype(np.float64)
        hi = (v >> 16).astype(np.uint16).view(np.float16).astype(np.float64)
        return np.stack([lo, hi], axis=-1)
    Kf = val(w[..., 0]) + 1j * val(w[..., 1])
    return (Kf[:, 0] if tables == 1 else Kf), ks


def _flow(z, F, tw2, tw3f, tw3i, prod, tw, spectral, out_prod):
    """The kernel's data flow for one complex row of 4096 or (decimated in time) 4096 s
    points: forward stages 1-2 per c tile, stage 3 per j block (product over c, the
    spectrum, back over kc), inverse stages per c tile.  prod(P, Q, data_left), tw(v, w,
    conj) and spectral(Zs, jb) (the fragment-ordered values of each 4096-point part, in
    place) carry the arithmetic: exact, or the kernel's roundings."""
    split = z.size // SUB
    row, col = frag_coords()
    Fc = np.conj(F)
    Ss = []
    for e in range(split):
        T = z[e::split].reshape(16, 16, 16)                  # [a][b][c]
        S = np.empty((16, 256), complex)                     # S[c][j], j = ka + 16 kb
        for c in range(16):
            U = tw(prod(F, T[:, :, c], False), tw2)          # [ka][b]
            U = prod(U, F, True)                             # [ka][kb]
            U[row, col] = tw(U[row, col], tw3f[c])
            S[c] = U.T.reshape(256)
        Ss.append(S)
    for jb in range(16):
        Zs = [prod(S[:, 16 * jb:16 * jb + 16].T, F, True) for S in Ss]   # [j][kc]
        spectral([Z[row, col] for Z in Zs], jb, Zs)
        for S, Z in zip(Ss, Zs):
            V = prod(Z, Fc, True)                            # [j][c]
            V[row, col] = tw(V[row, col], tw3i[jb])
            S[:, 16 * jb:16 * jb + 16] = V.T
    y = np.empty(z.size, complex)
    for e, S in enumerate(Ss):
        Y = np.empty((16, 16, 16), complex)                  # [a][b][c]
        for c in range(16):
            V = tw(prod(Fc, S[c].reshape(16, 16), False), tw2, conj=True)   # [b][ka]
            Y[:, :, c] = out_prod(V, Fc).T                   # [b][a] -> [a][b]
        y[e::split] = Y.reshape(SUB)
    return y


def _spectral(spec, mul, mad):
    """stage 3's bin-by-bin step: times K, or the split rows' mixing G_e' = sum_e
    W[e - e'] E_e (table (e - e') mod (2 s - 1)); mul(v, w) and mad([(a, w), ...]) = sum
    a w, in that order, with the kernel's roundings or not."""
    row, col = frag_coords()

    def step(vals, jb, Zs):
        if len(Zs) == 1:
            Zs[0][row, col] = mul(vals[0], spec[jb])
            return
        s = len(Zs)
        W = spec[:, jb]
        for e2 in range(s):
            Zs[e2][row, col] = mad([(vals[e], W[(e - e2) % (2 * s - 1)]) for e in range(s)])
    return step


def model(z, Kfrag, kscale, tw3f, tw3i):
    """float64 run of the kernel's data flow for one complex row of 4096 or 4096 s points
    (Kfrag: K'' of `fragment_spectrum`, or a split row's mixing tables)."""
    F = _w(SUB) ** (256 * np.outer(np.arange(16), np.arange(16)) % SUB) / 4
    tw2 = _w(SUB) ** (16 * np.outer(np.arange(16), np.arange(16)) % SUB)
    prod = lambda P, Q, data_left: P @ Q
    tw = lambda v, w, conj=False: v * (np.conj(w) if conj else w)
    spectral = _spectral(Kfrag, lambda v, w: v * w, lambda terms: sum(a * w for a, w in terms))
    return _flow(z, F, tw2, tw3f, tw3i, prod, tw, spectral, lambda P, Q: P @ Q) * kscale


# --- the kernel's roundings, emulated ------------------------------------------------

def _r16(v):
    """Complex values with real and imaginary parts rounded to fp16."""
    return v.real.astype(np.float16).astype(np.float64) + 1j * v.imag.astype(np.float16).astype(np.float64)


def _r32(v):
    return v.real.astype(np.float32).astype(np.float64) + 1j * v.imag.astype(np.float32).astype(np.float64)


def _product(P, Q, rnd, data_left=False):
    """P Q as the kernel's two mma per part accumulate, rounding (`rnd`) after each mma:
    re = rnd(rnd(Pr Qr) - Pi Qi); im = rnd(rnd(Pr Qi) + Pi Qr) when the DFT matrix is P (a left
    product), rnd(rnd(Pi Qr) + Pr Qi) when the data are P (a right product: the kernel sums
    the data's imaginary part first there).  conj(F) products pass conj(F) itself."""
    re = rnd(rnd(P.real @ Q.real) - P.imag @ Q.imag)
    if data_left:
        im = rnd(rnd(P.imag @ Q.real) + P.real @ Q.imag)
    else:
        im = rnd(rnd(P.real @ Q.imag) + P.imag @ Q.real)
    return re + 1j * im


def _twiddle(v, w, conj=False, exact=False):
    """The kernel's fp16 pair twiddle (times w, or conj(w)): re' = r(-i wi + r(r wr)),
    im' = r(r wi + r(i wr)), each product of fp16 pairs rounded to fp16 (exact: the product
    in float64, rounded to fp16 once, as fp32 twiddles and a conversion would)."""
    if exact:
        return _r16(v * (np.conj(w) if conj else w))
    v = _r16(v)                    # the A fragment the twiddle reads (a no-op after fp16 sums)
    r16 = lambda t: t.astype(np.float16).astype(np.float64)
    wr, wi = w.real, (-w.imag if conj else w.imag)
    re = r16(-v.imag * wi + r16(v.real * wr))
    im = r16(v.real * wi + r16(v.imag * wr))
    return re + 1j * im


def _shift(x) -> int:
    """The kernel's scale exponent: 2^sh puts the largest |value| into [256, 512)."""
    m = np.abs(x).max() if x.size else 0.0
    return 0 if m == 0 else 8 - (int(np.frexp(m)[1]) - 1)


def emulate_pair(x1, x2, Kf, kscale, *, per_row=True, acc16=True, tw16=True, segments=1):
    """The kernel's arithmetic for one row pair of n = 4096 or 4096 s (finite float64 rows
    x1, x2; Kf the fragment-ordered spectrum K'', or the mixing tables (fp16 values),
    kscale its output factor): fp16
    operands, tables and twiddle products, fp16 accumulators rounded after each mma, fp32
    in the last product.  Returns the two output rows before their I/O rounding.
    per_row=False: one scale for both rows (the prototype kernel); acc16=False: fp32
    accumulators; tw16=False: twiddles and spectrum exact, their products rounded once;
    segments: each of the S segments of n / S points has its own scale (it holds a row).
    The scales come from the exact values (the kernel's, for pre-gated rows, from their
    bf16-rounded products: the shift can differ by one where rounding crosses a binade)."""
    n = x1.shape[-1]
    rt = _r16 if tw16 else (lambda t: t)
    Kf = rt(Kf)
    tw3f, tw3i = (rt(t) for t in stage3_twiddles(SUB))
    acc = _r16 if acc16 else _r32

    def tw(v, w, conj=False):
        return _twiddle(v, w, conj, exact=not tw16)

    def mad(terms):
        """sum a w as the kernel's fp16 pairs (mix_table: a product, then fused products
        in order, re: a.re w.re, -a.im w.im; im: a.re w.im, a.im w.re per term)."""
        if not tw16:
            return _r16(sum(a * w for a, w in terms))
        r16 = lambda t: t.astype(np.float16).astype(np.float64)
        re = im = None
        for a, w in terms:
            a = _r16(a)
            re = r16(a.real * w.real + (0 if re is None else re))
            re = r16(-a.imag * w.imag + re)
            im = r16(a.real * w.imag + (0 if im is None else im))
            im = r16(a.imag * w.real + im)
        return re + 1j * im

    F = _r16(_w(SUB) ** (256 * np.outer(np.arange(16), np.arange(16)) % SUB) / 4)
    tw2 = rt(_w(SUB) ** (16 * np.outer(np.arange(16), np.arange(16)) % SUB))
    if per_row:
        seg = lambda v: np.repeat([_shift(p) for p in np.split(v, segments)], n // segments)
        sh1, sh2 = seg(x1), seg(x2)
    else:
        sh1 = sh2 = _shift(np.concatenate([x1, x2]))
    z = _r16(x1 * 2.0 ** sh1 + 1j * (x2 * 2.0 ** sh2))
    prod = lambda P, Q, data_left: _product(P, Q, acc, data_left=data_left)
    spectral = _spectral(Kf, lambda v, w: tw(v, w), mad)
    y = _flow(z, F, tw2, tw3f, tw3i, prod, tw, spectral,
              lambda V, Fc: _product(V, Fc, _r32, data_left=True)) * kscale
    return y.real * 2.0 ** -sh1, y.imag * 2.0 ** -sh2


def _bf16_finite(v32: np.ndarray) -> np.ndarray:
    """Whether float32 values stay finite rounded to bf16 (nearest even)."""
    bits = v32.view(np.uint32).astype(np.uint64)
    r = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return np.isfinite(v32) & (((r >> 7) & 0xFF) != 0xFF)


def execute_pairs(plan: PairPlan, x: np.ndarray, hs: np.ndarray, channels: int, *,
                  emulate: bool = False, pre_gate=None, post_gate=None) -> np.ndarray:
    """The NumPy executor: float64 rows x (batch * channels, len_x), row r of channel
    r % channels, through the kernel's decomposition and its fp16 spectrum (no other
    rounding; emulate: the kernel's fp16 roundings too, `emulate_pair`).  Causal rows are
    zero-padded to n and their first len_x outputs kept; the gates multiply the rows on
    load (in fp32, as the kernel) and the outputs before their rounding."""
    rows, L = x.shape[0], plan.len_x
    if rows % (plan.rows_per_block * channels):
        raise ValueError(f"row pairs need a batch that is a multiple of {plan.rows_per_block}: "
                         f"{rows} rows of {channels} channels")
    if pre_gate is None:
        finite = np.isfinite(x).all(axis=1)
    else:
        x32 = x.astype(np.float32) * np.asarray(pre_gate, np.float32)
        # as the kernel, which finds bad rows from the products rounded to bf16: a finite
        # product that rounds past bf16's largest value leaves its row out too
        finite = _bf16_finite(x32).all(axis=1)
        x = x32.astype(np.float64)
    Kf, ks = unpack_spectrum(plan, np.asarray(hs), channels)
    tw3f, tw3i = stage3_twiddles(SUB)
    S, P = plan.segments, plan.segment_len
    y = np.empty((rows, L))
    # as the kernel: a row with a NaN or Inf is left out of its block, its outputs NaN
    pad = np.zeros((rows, P))
    pad[:, :L] = np.where(finite[:, None], x, 0)
    for i in range(rows // (2 * S * channels)):
        for h in range(channels):
            r = (2 * S * i + np.arange(2 * S)) * channels + h     # the block's rows
            z1, z2 = pad[r[:S]].reshape(-1), pad[r[S:]].reshape(-1)
            if emulate:
                y1, y2 = emulate_pair(z1, z2, Kf[h], float(ks[h]), segments=S)
            else:
                out = model(z1 + 1j * z2, Kf[h], float(ks[h]), tw3f, tw3i)
                y1, y2 = out.real, out.imag
            out = np.concatenate([y1.reshape(S, P), y2.reshape(S, P)])[:, :L]
            y[r] = np.where(finite[r, None], out, np.nan)
    if post_gate is not None:
        y = y * np.asarray(post_gate, np.float64)
    return y
