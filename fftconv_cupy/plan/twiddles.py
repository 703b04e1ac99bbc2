"""The twiddle tables every kernel (and the NumPy executor) reads.

w_q^t = lo[t mod len(lo)] * hi[t // len(lo)], both tables correctly rounded to the
plan's precision: 2 sqrt(q) entries instead of q, and any twiddle within ~2 ulp.
Stages with a table of their own (Plan.stage_tables) read w_(Ns R)^(c r) directly, and
direct column kernels (Plan.column_twiddles) read w_m^(a kb) as the product of two
table entries; those tables follow the lo table in the same device array.
"""
from __future__ import annotations

import numpy as np


def twiddle_tables(plan, dtype=None) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) for the plan's base q, in `dtype` (default: the plan's complex dtype)."""
    lo, hi = plan.twiddle_tables
    q = plan.q
    # exact integer phases reduced mod q before scaling keep float64 error at 1 ulp
    t_lo = np.arange(lo, dtype=np.float64) / q
    t_hi = (np.arange(hi, dtype=np.int64) * lo % q).astype(np.float64) / q
    cdt = plan.prec.complex_dtype if dtype is None else dtype
    return (np.exp(-2j * np.pi * t_lo).astype(cdt), np.exp(-2j * np.pi * t_hi).astype(cdt))


def _roots(t: np.ndarray, base: int, dtype) -> np.ndarray:
    """w_base^t for integer t, rounded once from extended precision (where the platform
    has it) so fp64 entries are within ~1 ulp."""
    ang = (2 * np.arccos(np.longdouble(-1))) * (t % base) / base     # pi in extended precision
    return (np.cos(ang).astype(np.float64) - 1j * np.sin(ang).astype(np.float64)).astype(dtype)


def stage_table(r: int, ns: int, dtype, exponents=None) -> np.ndarray:
    """w_(ns r)^(c k) at [c, i], c < ns, k = exponents[i] (default: every k < r; forward sign)."""
    k = np.arange(r) if exponents is None else np.asarray(exponents)
    return _roots(np.arange(ns, dtype=np.int64)[:, None] * k[None, :], ns * r, dtype)


def column_tables(plan, dtype) -> tuple[np.ndarray, np.ndarray]:
    """The direct column kernels' twiddles (Plan.column_twiddles): T1[kb, c] = w_m^(c kb)
    and T2[blk, kb] = w_m^(C blk kb), so that w_m^(a kb) = T1[kb, a % C] T2[a // C, kb]."""
    c, b, m = plan.groups, plan.b, plan.m
    kb = np.arange(b, dtype=np.int64)
    t1 = _roots(kb[:, None] * np.arange(c)[None, :], m, dtype)
    t2 = _roots(c * np.arange(plan.a // c, dtype=np.int64)[:, None] * kb[None, :], m, dtype)
    return t1, t2


def stage_table_layout(table: np.ndarray) -> np.ndarray:
    """[c, k] -> the device order [k // 2][c][k % 2] (odd radices padded with one column)."""
    ns, r = table.shape
    t = np.zeros((ns, r + r % 2), dtype=table.dtype)
    t[:, :r] = table
    return t.reshape(ns, -1, 2).swapaxes(0, 1).ravel()


def device_tables(plan) -> tuple[np.ndarray, np.ndarray]:
    """(lo followed by the stage tables at their offsets, hi): the kernels' two arrays."""
    lo, hi = twiddle_tables(plan)
    tables = plan.stage_tables
    cols = plan.column_twiddles
    if not tables and cols is None:
        return lo, hi
    end = plan.stage_tables_end
    if cols is not None:
        t1, t2 = column_tables(plan, lo.dtype)
        end = cols[1] + t2.size
    out = np.zeros(end, dtype=lo.dtype)
    out[:len(lo)] = lo
    for (r, ns), off in tables.items():
        out[off:off + plan.table_width(r, ns) * ns] = stage_table_layout(
            stage_table(r, ns, lo.dtype, plan.table_exponents(r, ns)))
    if cols is not None:
        out[cols[0]:cols[0] + t1.size] = t1.ravel()
        out[cols[1]:cols[1] + t2.size] = t2.ravel()
    return out, hi
