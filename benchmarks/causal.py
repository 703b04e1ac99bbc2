"""The causal depthwise convolution sweep: now ``fftconv_cupy.bench.causal``.

Kept so ``benchmarks.variants`` and older scripts importing ``benchmarks.causal`` still work.
"""
from __future__ import annotations

from fftconv_cupy.bench.causal import (  # noqa: F401
    BATCH,
    OURS,
    PEERS,
    ROWS,
    SWEEP_LENGTHS,
    Row,
    _rel,
    as_dicts,
    batch_heads,
    causal_plan,
    copy_bandwidth,
    parse_len,
    rows_for,
    run_length,
    time_ms,
)
