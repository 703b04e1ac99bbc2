"""python -m benchmarks.run [--lengths 4096,1M] [--dtypes float32] [--no-peers] [--layout L] [--out bench.json]

A thin wrapper: the driver lives in ``fftconv_cupy.bench.run`` (``fftconv-cli bench`` is the richer front end).
"""
from __future__ import annotations

import sys

from fftconv_cupy.bench.run import main, parse_len, short_table  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
