"""NumPy executor of a Plan, stage by stage.

It runs exactly the arithmetic the generated kernels run: the same radices and
Stockham index maps, the same split twiddle tables, the real-input packing, the
paired multiply in the transform's own (permuted) order and, for three-pass
plans, the same column / row / column passes.  In float64 it is the CPU oracle
of the algorithm (tested against scipy.signal.fftconvolve); with
``emulate=True`` every stage result is rounded to the plan's precision, which
shows the error the kernels should have.  It is also the no-GPU fallback.
"""
from __future__ import annotations

import numpy as np

from dataclasses import replace

from .plan import Plan, Transform
from .sparsity import forward_modes, inverse_modes
from .spectrum import natural_coefficients
from .twiddles import column_tables, stage_table, twiddle_tables


def _dft_matrix(r: int, sign: int) -> np.ndarray:
    j = np.arange(r)
    return np.exp(sign * 2j * np.pi * np.outer(j, j) / r)


def round_operand(x: np.ndarray, mma: str) -> np.ndarray:
    """Real array rounded as the kernels round tensor-core operands (fp32 first)."""
    f = np.asarray(x, dtype=np.float32)
    if mma == "f16":
        return f.astype(np.float16).astype(np.float64)
    u = f.view(np.uint32).astype(np.uint64)
    if mma == "bf16":        # cvt.rn.bf16x2.f32: nearest, ties to even
        u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    elif mma == "tf32":      # cvt.rna.tf32.f32: nearest, ties away from zero
        u = (u + 0x1000) & 0xFFFFE000
    else:
        raise ValueError(f"unknown tensor-core operand type {mma!r}")
    return u.astype(np.uint32).view(np.float32).astype(np.float64)


def _split(z: np.ndarray, mma: str) -> tuple[np.ndarray, np.ndarray]:
    """z = hi + lo (+ a remainder far below fp32), both parts representable as operands."""
    hi = round_operand(z.real, mma) + 1j * round_operand(z.imag, mma)
    d = (z - hi).astype(np.complex64).astype(np.complex128)          # fp32 subtraction
    return hi, round_operand(d.real, mma) + 1j * round_operand(d.imag, mma)


def _mma_dft(v: np.ndarray, r: int, sign: int, mma: str, terms: int) -> np.ndarray:
    """The tensor-core stage's DFT of columns v[..., r, j]: operands rounded to the mma
    type (fp16: each column scaled by a power of two so its largest part lies in [1, 2)),
    exact products, fp32 accumulation.  terms = 3 splits the DFT matrix F and the data V
    into hi + lo parts and sums F_hi V_hi + F_hi V_lo + F_lo V_hi (error ~ u^2); terms = 1
    is the single product F_hi V_hi."""
    f_hi, f_lo = _split(_dft_matrix(r, sign), mma)
    scale = np.ones(v.shape[:-2] + (1, v.shape[-1]))
    if mma == "f16":
        big = np.maximum(np.abs(v.real), np.abs(v.imag)).max(axis=-2, keepdims=True)
        e = np.frexp(big.astype(np.float32))[1].astype(np.float64)     # big in [2^(e-1), 2^e)
        scale = np.exp2(1.0 - np.maximum(e, -125.0))
    w_hi, w_lo = _split((v * scale).astype(np.complex64).astype(np.complex128), mma)
    y = np.einsum("rs,...sj->...rj", f_hi, w_hi)
    if terms == 3:
        y = (y.astype(np.complex64) + np.einsum("rs,...sj->...rj", f_hi, w_lo)
             + np.einsum("rs,...sj->...rj", f_lo, w_hi))
    return y / scale


class _Ctx:
    """Twiddle tables and rounding for one plan execution."""

    def __init__(self, plan: Plan, emulate: bool):
        self.plan = plan
        self.emulate = emulate
        self.cdt = plan.prec.complex_dtype if emulate else np.dtype(np.complex128)
        self.lo, self.hi = twiddle_tables(plan, self.cdt)
        self.lo_n = len(self.lo)

    def rnd(self, z):
        return z.astype(self.cdt, copy=False)

    def tw(self, t, base: int, sign: int):
        """w_base^(sign * t) from the split tables (t may be an array, 0 <= t < base)."""
        t = np.asarray(t) * (self.plan.q // base)
        w = self.lo[t % self.lo_n] * self.hi[t // self.lo_n]
        return w if sign < 0 else np.conj(w)


def _modes(plan: Plan, tf: Transform, sign: int) -> tuple[int, ...]:
    sp = plan.sparse
    if sp is None or tf is not (plan.row if plan.layout == "fused" else plan.col):
        return (0,) * len(tf.radices)     # three passes: the middle pass's rows are whole
    if sign < 0:
        return forward_modes(tf.radices, sp.grain)
    return inverse_modes(tf.radices, sp.grain, tf.size)


def _skipped(plan: Plan, j: np.ndarray, group: int) -> np.ndarray:
    """Butterflies j of a skipping stage whose class (j // group) mod grain is masked."""
    sp = plan.sparse
    return ~np.isin((j // group) % sp.grain, sp.kept)


def _stockham(ctx: _Ctx, z: np.ndarray, tf: Transform, sign: int) -> np.ndarray:
    """Unnormalized DFT along the last axis (sign -1 forward, +1 inverse), natural order.

    Stages of a sparse plan skip the butterflies the kernels skip: their outputs
    are NaN here (the kernels leave stale values), or zeros where the kernels write
    zeros, so a wrong skip shows in the result.
    """
    s = tf.size
    modes = _modes(ctx.plan, tf, sign)
    for (r, ns), mode, tc in zip(tf.stages, modes, ctx.plan.tc_stages(tf, modes)):
        jn = s // r
        j = np.arange(jn)
        rr = np.arange(r)[:, None]
        v = z.reshape(z.shape[:-1] + (r, jn))                       # v[r, j] = z[j + r*jn]
        if tc:
            # tensor-core stage: one table twiddle per element, then the mma product
            if ns > 1:
                v = ctx.rnd(v * ctx.tw((j % ns) * np.arange(r)[:, None], ns * r, sign))
            v = (_mma_dft(v, r, sign, ctx.plan.prec.mma, ctx.plan.mma_terms) if ctx.emulate
                 else np.einsum("rs,...sj->...rj", _dft_matrix(r, sign), v))
        elif ns > 1 and (r, ns) in ctx.plan.stage_tables and len(ctx.plan.table_exponents(r, ns)) == r:
            # the stage's own table: every twiddle read, none formed
            tws = stage_table(r, ns, ctx.cdt)[j % ns].T
            v = v * (tws if sign < 0 else np.conj(tws))
        elif ns > 1:
            # the kernels' twiddles: values at powers of two (from the stage's table of powers,
            # or lo/hi products), products between
            if (r, ns) in ctx.plan.stage_tables:
                exps = ctx.plan.table_exponents(r, ns)
                pw = stage_table(r, ns, ctx.cdt, exps)[j % ns].T
                read = {k: (pw[i] if sign < 0 else np.conj(pw[i])) for i, k in enumerate(exps)}
            else:
                read = {k: ctx.tw((j % ns) * k, ns * r, sign) for k in range(1, r) if k & (k - 1) == 0}
            w = {}
            for p in range(1, r):
                hb = 1 << (p.bit_length() - 1)
                w[p] = read[p] if hb == p else ctx.rnd(w[hb] * w[p - hb])
            tws = np.stack([np.ones_like(w[1])] + [w[p] for p in range(1, r)])
            v = v * tws
        if not tc:
            v = np.einsum("rs,...sj->...rj", _dft_matrix(r, sign).astype(ctx.cdt), v)
        idx = (j // ns) * ns * r + (j % ns) + rr * ns                 # Stockham autosort store
        if mode:
            gone = _skipped(ctx.plan, j, 1 if mode == 1 else ns)
            v[..., gone] = 0 if mode == 3 else np.nan
        out = np.empty_like(z)
        out[..., idx] = v
        z = ctx.rnd(out)
    return z


def _column_twiddles(ctx: _Ctx, plan: Plan, col, kb):
    """w_m^(a*kb) as the kernels form them: T1[kb, a % C] * T2[a // C, kb] (direct column
    kernels), one split-table value each (other three-pass column kernels), or table values
    at kb = 1, 2, 4, 8 and products between (cluster, whose b-point DFT is one radix)."""
    if plan.direct_columns:
        t1, t2 = column_tables(plan, ctx.cdt)
        a = col[0]
        return ctx.rnd(t1[:, a % plan.groups] * t2[a // plan.groups, :].T)
    if plan.layout == "three_pass":
        return ctx.tw(col * kb, plan.m, -1)
    w = {0: np.ones(col.shape, dtype=ctx.cdt)}
    for p in range(1, plan.b):
        hb = 1 << (p.bit_length() - 1)
        w[p] = ctx.tw(col * p, plan.m, -1) if hb == p else ctx.rnd(w[hb] * w[p - hb])
    return np.concatenate([w[p] for p in range(plan.b)], axis=0)


def _pair_multiply(ctx: _Ctx, z: np.ndarray, coef) -> np.ndarray:
    """Spectrum -> product with the kernel -> packed inverse input (natural order).

    coef: Hs (complex plans) or the pair (A, G) of a real plan: W[k] = A[k] Z[k] +
    i G[k] conj(Z[-k]) (plan/spectrum.py)."""
    if not ctx.plan.real:
        return ctx.rnd(z * coef)
    a, g = coef
    zr = np.conj(z[..., (-np.arange(ctx.plan.m)) % ctx.plan.m])
    return ctx.rnd(a * z + 1j * (g * zr))


def _masked_bins(ctx: _Ctx, w: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Packed bins k of masked classes: never written by the kernels' product (NaN here)."""
    sp = ctx.plan.sparse
    if sp is None:
        return w
    w = w.copy()
    w[..., ~np.isin(k % sp.grain, sp.kept)] = np.nan
    return w


def _pack(plan: Plan, x: np.ndarray, cdt) -> np.ndarray:
    """Rows of samples -> rows of m complex points (real pairs packed), zero-padded."""
    rows = x.shape[0]
    z = np.zeros((rows, plan.m), dtype=cdt)
    if plan.real:
        xe = np.zeros((rows, 2 * plan.nz), dtype=np.float64)
        xe[:, :plan.len_x] = x
        z[:, :plan.nz] = xe[:, 0::2] + 1j * xe[:, 1::2]
    else:
        z[:, :plan.len_x] = x
    return z


def _unpack(plan: Plan, w: np.ndarray) -> np.ndarray:
    if plan.real:
        y = np.empty((w.shape[0], 2 * plan.m), dtype=np.float64)
        y[:, 0::2] = w.real
        y[:, 1::2] = w.imag
    else:
        y = w
    return y[:, plan.out_start:plan.out_start + plan.out_len]


def execute(plan: Plan, x: np.ndarray, hs: np.ndarray, channel=None, *, emulate=False,
            pre_gate=None, post_gate=None) -> np.ndarray:
    """y rows = convolution of x rows (shape (rows, len_x)) with spectrum rows `hs`.

    `hs` comes from plan.spectrum.kernel_spectrum; row r uses spectrum row
    channel[r] (default r % len(hs)).
    """
    x = np.asarray(x)
    rows = x.shape[0]
    if channel is None:
        channel = np.arange(rows) % hs.shape[0]
    if plan.gate_pre or plan.gate_post:
        # the kernels multiply on load and before the store: the same products here
        inner = replace(plan, gate_pre=False, gate_post=False)
        xg = x * np.asarray(pre_gate) if plan.gate_pre else x
        y = execute(inner, xg, hs, channel, emulate=emulate)
        return y * np.asarray(post_gate) if plan.gate_post else y
    if plan.seg is not None:
        return _execute_segments(plan, x, hs, np.asarray(channel), emulate)
    ctx = _Ctx(plan, emulate)
    coef = natural_coefficients(plan, np.asarray(hs, dtype=np.complex128)[channel])
    z = ctx.rnd(_pack(plan, x, ctx.cdt))
    if plan.layout == "fused":
        z = _stockham(ctx, z, plan.row, -1)
        z = _masked_bins(ctx, _pair_multiply(ctx, z, coef), np.arange(plan.m))
        w = _stockham(ctx, z, plan.row, +1)
    else:
        a, b, m = plan.a, plan.b, plan.m
        kb = np.arange(b)[:, None]
        col = np.arange(a)[None, :]
        # pass 1: b-point DFTs down the columns of the (b, a) view, then w_m^(a*kb)
        t = _stockham(ctx, z.reshape(rows, b, a).swapaxes(1, 2), plan.col, -1)  # (rows, a, kb)
        colw = _column_twiddles(ctx, plan, col, kb)
        t = ctx.rnd(t.swapaxes(1, 2) * colw)                                    # (rows, kb, a)
        if plan.sparse is not None:
            # only kept rows are stored; the middle pass runs only those
            t = _masked_bins(ctx, t.swapaxes(1, 2), np.arange(b)).swapaxes(1, 2)
        # pass 2: a-point row DFTs; row kb holds Z[kb + b*ka]; multiply in that order
        zr = _stockham(ctx, t, plan.row, -1)
        nat = zr.swapaxes(1, 2).reshape(rows, m)
        wn = _pair_multiply(ctx, nat, coef)
        v = _stockham(ctx, wn.reshape(rows, a, b).swapaxes(1, 2), plan.row, +1)  # (rows, kb, a)
        # pass 3: conjugate twiddles, inverse b-point DFTs down the columns
        v = ctx.rnd(v * np.conj(colw))
        if plan.sparse is not None:
            # masked rows are not loaded: zeros, unless the first inverse stage skips them
            fill = 0 if _modes(plan, plan.col, +1)[0] == 0 else np.nan
            v[:, ~np.isin(np.arange(b) % plan.sparse.grain, plan.sparse.kept), :] = fill
        w = _stockham(ctx, v.swapaxes(1, 2), plan.col, +1).swapaxes(1, 2).reshape(rows, m)
    return _unpack(plan, w)


def _execute_segments(plan: Plan, x, hs, channel, emulate):
    """Overlap-save: every block is one row of the inner (fused) plan."""
    g = plan.seg
    rows = x.shape[0]
    starts = g.offset + np.arange(g.blocks) * g.step
    idx = starts[:, None] + np.arange(plan.len_x)[None, :]          # (blocks, n)
    inside = (idx >= 0) & (idx < g.x_len)
    seg = np.where(inside, x[:, np.clip(idx, 0, g.x_len - 1)], 0)   # (rows, blocks, n)
    inner = replace(plan, seg=None)
    y = execute(inner, seg.reshape(rows * g.blocks, plan.len_x), hs,
                np.repeat(channel, g.blocks), emulate=emulate)
    return y.reshape(rows, g.blocks * g.step)[:, :g.total]
