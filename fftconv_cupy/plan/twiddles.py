"""The twiddle tables every kernel (and the NumPy executor) reads.

w_q^t = lo[t mod len(lo)] * hi[t // len(lo)], both tables correctly rounded to the
plan's precision: 2 sqrt(q) entries instead of q, and any twiddle within ~2 ulp.
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
