"""The one support table.

The planner, the error messages, the test parametrization and ``fftconv-cli info``
all read what is supported from here, so adding a radix or a precision is a
one-place change.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Precision:
    name: str
    ctype: str                 # scalar type of the kernel's arithmetic
    unit: str                  # which functional unit runs the butterflies
    io_real: str               # NumPy dtype names of the I/O this precision serves natively
    io_complex: str
    rtol: float                # accuracy target: relative L2 error vs a float64 oracle
    elem_bytes: int            # bytes of one complex element on chip
    mma: str = ""              # tensor-core operand type of the radix-8/16 stages ("" : none)

    @property
    def real_dtype(self):
        return np.dtype(self.io_real)

    @property
    def complex_dtype(self):
        return np.dtype(self.io_complex)


PRECISIONS = {
    "fp32": Precision("fp32", "float", "CUDA cores (FFMA)", "float32", "complex64", 1e-6, 8),
    "fp64": Precision("fp64", "double", "CUDA cores (DFMA)", "float64", "complex128", 1e-13, 16),
    # Tensor-core precisions: data stays fp32 on chip; the radix-8/16 DFTs run as
    # mma.sync products with operands rounded to 16 (or 19) bits, fp32 accumulation.
    "tf32": Precision("tf32", "float", "tensor cores (mma.sync m16n8k8 tf32)", "float32",
                      "complex64", 5e-4, 8, "tf32"),
    "fp16": Precision("fp16", "float", "tensor cores (mma.sync m16n8k16 f16)", "float32",
                      "complex64", 5e-4, 8, "f16"),
    "bf16": Precision("bf16", "float", "tensor cores (mma.sync m16n8k16 bf16)", "float32",
                      "complex64", 3e-3, 8, "bf16"),
}

# Precisions accepted by the API but not generated yet; asking for one raises
# UnsupportedPlanError instead of silently computing something else.
PLANNED_PRECISIONS: tuple[str, ...] = ()

# Radices whose butterflies a tensor-core precision runs as matrix products (the
# 2R x 2R real form of the R-point DFT is whole 16 x 16 tiles).
MMA_RADICES = (8, 16)

# Real I/O dtypes narrower than the compute: rows are read and written in this
# dtype and converted on chip.  Value: bytes per sample.
IO_16BIT = {"float16": 2, "bfloat16": 2}
# Their accuracy targets (relative L2 vs a float64 oracle on the inputs rounded to the dtype).
IO_16BIT_RTOL = {"float16": 5e-4, "bfloat16": 3e-3}

# Radices of the butterflies the planner uses.  Powers of two are split-radix
# style straight-line code; odd radices are dense small DFTs.  Transforms are split
# into radices of at most MAX_RADIX; fp32 CUDA-core plans use WIDE_RADIX where one
# stage fewer was measured to pay for a 32-point butterfly's 128 registers (half the
# warps): fused rows of at least WIDE_ROW_THREADS threads, two blocks per SM (8K
# [8x16x8x8] -> [16x32x16]: 1.49 -> 1.40 ms on the H200; not 16K, one block per SM:
# 1.65 -> 1.68) and three-pass columns (2M [8x8x8] -> [32x16]: 4.38 -> 3.94 ms; 4M
# [8x16x8] -> [32x32]: 4.42 -> 4.33).  Shorter rows lost with it (1K [32x32]:
# 0.29 -> 0.37 ms; 512 [16x32]: 0.158 -> 0.166).
RADICES = (32, 16, 8, 4, 2, 3, 5, 7)
MAX_RADIX = 16
WIDE_RADIX = 32
WIDE_ROW_THREADS = 256
SMOOTH_PRIMES = (2, 3, 5, 7)

MODES = ("full", "same", "valid")

# Longest FFT the planner will build (complex points of the transform after the
# real-input halving).  2**27 covers a 2**26-sample causal convolution.
MAX_TRANSFORM = 2**27

# Default on-chip budget used when planning without a device (sm_90: 227 KiB of
# dynamic shared memory per block).  With a device, the runtime reads the limit.
DEFAULT_SMEM_BYTES = 227 * 1024
# Static shared memory per block, and dynamic shared memory without the opt-in attribute.
SMEM_NO_OPT_IN = 48 * 1024
MAX_THREADS = 1024

# The Monarch order (number of radix stages) a user may ask for.  Which orders a
# given size admits is narrower (between its fewest stages of radix <= 16, or <= 32 for
# fp32 CUDA-core plans, and one stage per prime factor); the planner says so with
# UnsupportedPlanError.  Frequency-sparse rows run radix-16 splits whatever the order.
ORDERS = (1, 2, 3, 4, 5, 6, 7, 8)

# fp32 I/O for these input dtypes computes in fp32; everything else promotes to fp64
# (SciPy's promotion rules decide the output dtype; see plan/spec.py).
IO_PRECISION = {
    "float32": "fp32",
    "complex64": "fp32",
    "float64": "fp64",
    "complex128": "fp64",
}

# Row pairs on tensor cores (plan/pairs.py, templates/pairs.cu.j2): two real 16-bit rows
# of one channel as one complex row, the transform as fp16 mma products chained through
# their fragments.  Transform size -> radices; I/O dtypes it meets the target of (bf16:
# 1.9e-3 measured, 3e-3 asked; fp16 I/O would need split operands, 9.4e-4 > 5e-4 by
# emulation); convolution kinds.  H200, circular bf16 4096, B=64 H=768: 0.36-0.39 ms
# (1.84-2.00x the floor) against 0.57 for the fp32 plan; causal L = 2048: 0.33 ms against
# 0.56 (docs/tensor-cores.md).  Causal rows: length + len_k - 1 <= n, length > n / 4, whole
# 16-byte pieces (a multiple of 8).  Shorter causal rows share one transform: S = 2 or 4
# rows per part of the complex row (segments of n / S points, each row's half followed by
# its zero guard), so that L = 1024 or 512 costs per sample what L = 2048 does; the batch
# must then be a multiple of 2 S.  A single row of 1024 in 4096 points would cost twice
# the fp32 plan's time per sample.  n = 8192, 16384 and 32768 (causal rows of 2049-4096,
# 4097-8192 and 8193-16384, circular 8192 and 16384) run two, four or eight 4096-point
# transforms per block (decimation in time, mixed bin by bin in stage 3; 16384 and 32768:
# a 64 or 128 KB dynamic exchange buffer, 256 threads of 8 or 16 points a lane); their
# gates stay in registers (no room for gate rows on chip).  PAIR_LANE_POINTS: consecutive
# points a lane loads and stores, per size.
PAIR_SIZES = {4096: (16, 16, 16), 8192: (16, 16, 16, 2), 16384: (16, 16, 16, 4),
              32768: (16, 16, 16, 8)}
PAIR_LANE_POINTS = {4096: 4, 8192: 4, 16384: 8, 32768: 16}
PAIR_CIRCULAR_MAX = 16384    # circular 32768 would hold 128 row registers a lane
PAIR_IO = ("bfloat16",)
PAIR_MODES = ("circular", "causal")
PAIR_CAUSAL_ALIGN = 8
PAIR_SEGMENTS = (1, 2, 4)

# `precision="auto"` for 16-bit I/O: the fastest compute that meets the dtype's target
# (see docs/tensor-cores.md for the measured errors and times behind the choice); FFTConv
# and causal_conv take the row pairs above first where they serve the problem.
IO16_AUTO = {"float16": "fp32", "bfloat16": "fp32"}


def rel_error(y, ref, full=None) -> float:
    """Relative L2 error of outputs `y` against the oracle `ref`.

    FFT rounding error spreads evenly over all outputs of the full linear
    convolution `full`, so for a window of it the error is measured against the
    larger of ||ref|| and the window's share of ||full|| (a window of a few small
    samples would otherwise be ill-conditioned: a single valid-mode output, say).
    """
    y = np.asarray(y, dtype=np.complex128)
    ref = np.asarray(ref, dtype=np.complex128)
    den = np.linalg.norm(ref)
    if full is not None:
        full = np.asarray(full, dtype=np.complex128)
        den = max(den, np.linalg.norm(full) * np.sqrt(ref.size / full.size))
    return float(np.linalg.norm(y - ref) / den) if den > 0 else float(np.linalg.norm(y - ref))


def tolerance(precision: str, n: int) -> float:
    """Relative L2 bound for a convolution of FFT size n at ``precision``.

    The one place the tolerance rule lives: the target of the issue tracker,
    which already covers log2(n) up to 2**27 for the CUDA-core precisions.
    """
    return PRECISIONS[precision].rtol


def io_tolerance(io: str | None, precision: str) -> float:
    """Target for 16-bit I/O (vs the oracle on the rounded inputs): the I/O dtype's, or the
    compute's when that is looser."""
    io_rtol = IO_16BIT_RTOL.get(io or "", 0.0)
    return max(io_rtol, PRECISIONS[precision].rtol)


def support_summary() -> dict:
    """Plain data for ``fftconv-cli info`` and the docs."""
    return {
        "precisions": {
            k: {"unit": p.unit, "io": [p.io_real, p.io_complex] + (list(IO_16BIT) if p.ctype == "float" else []),
                "rtol": p.rtol}
            for k, p in PRECISIONS.items()
        },
        "planned_precisions": list(PLANNED_PRECISIONS),
        "radices": list(RADICES),
        "max_transform": MAX_TRANSFORM,
        "modes": list(MODES),
        "orders": list(ORDERS),
        "row_pairs": {"sizes": sorted(PAIR_SIZES), "io": list(PAIR_IO), "modes": list(PAIR_MODES),
                      "segments": list(PAIR_SEGMENTS),
                      "unit": "tensor cores (mma.sync m16n8k16 f16, stages chained in registers)"},
    }
