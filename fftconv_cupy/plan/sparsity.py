"""Frequency-sparse convolutions: masks of the kernel spectrum and the work they let us skip.

A mask keeps some bins of the kernel spectrum; the result is the convolution with
the masked spectrum, y = IFFT(FFT(x) * H * mask) (size-n circular, then the window).

The generated kernels skip work only where a mask aligns with the decomposition.
View the spectrum index k (packed index for real data) as k = c + P*u with P a
*grain*: the product of the first radices of the first on-chip transform (the row
transform when fused, the column transform of three passes).  If every bin of a
class c (all k = c mod P) is masked:

* forward Stockham stages with Ns a multiple of P never compute that class's
  butterflies (their outputs feed only bins of the same class);
* the first inverse stages (while Ns*R*P divides the size) see only zeros there:
  their butterflies are skipped too, the last such stage writes the zeros;
* three passes: rows kb = k mod b of the middle pass belong to class kb mod P, so
  the middle pass runs only the kept rows and the intermediate holds only them.

Masks that keep a few bins of every class (low-pass "uniform", "random") skip
nothing and run the dense kernel with the masked spectrum.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .support import MAX_RADIX

PATTERNS = ("uniform", "block", "random")
MAX_RUNS = 8        # runs of consecutive classes a kernel's class table may have (bounded specialization)


@dataclass(frozen=True)
class Sparsity:
    """A frequency-sparsity pattern: keep a `density` fraction of the kernel spectrum.

    uniform  the lowest frequencies (a low-pass mask)
    block    the classes k mod P nearest 0, P a factor of the decomposition: whole
             blocks of the (n/P, P) view of the spectrum, the pattern the kernels skip
    random   bins drawn at random (seeded), kept in conjugate pairs for real data
    """
    pattern: str
    density: float
    seed: int = 0

    def __post_init__(self):
        if self.pattern not in PATTERNS:
            raise ValueError(f"sparsity pattern must be one of {list(PATTERNS)}, got {self.pattern!r}")
        d = float(self.density)
        if not (0.0 < d <= 1.0):
            raise ValueError(f"sparsity density must be in (0, 1], got {self.density!r}")
        object.__setattr__(self, "density", d)


@dataclass(frozen=True)
class SparseMask:
    """What the generated code sees: classes k mod `grain` whose bins are computed."""
    grain: int
    kept: tuple[int, ...]          # sorted; every bin of the other classes is masked

    @property
    def density(self) -> float:
        return len(self.kept) / self.grain

    @property
    def skipped(self) -> tuple[int, ...]:
        return tuple(sorted(set(range(self.grain)) - set(self.kept)))

    @property
    def table(self) -> tuple[tuple[int, int, int], ...]:
        """The kernels' class table as runs (first index, first class, length): the
        i-th class, kept ones first, is first class + (i - first index) in its run."""
        out, i = [], 0
        for start, length in runs(self.kept) + runs(self.skipped):
            out.append((i, start, length))
            i += length
        return tuple(out)


def runs(values) -> list[tuple[int, int]]:
    """Sorted integers as runs (start, length) of consecutive values."""
    out = []
    for v in values:
        if out and out[-1][0] + out[-1][1] == v:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((v, 1))
    return out


# -- which stages skip ------------------------------------------------------------

def forward_modes(radices, grain: int) -> tuple[int, ...]:
    """Per forward stage: 1 where butterflies of masked classes are skipped, else 0."""
    out, ns = [], 1
    for r in radices:
        out.append(1 if grain > 1 and ns % grain == 0 else 0)
        ns *= r
    return tuple(out)


def inverse_modes(radices, grain: int, size: int) -> tuple[int, ...]:
    """Per inverse stage: 2 skip, 3 skip and write the zeros the next stage reads, 0 dense."""
    out, ns = [], 1
    for r in radices:
        out.append(2 if grain > 1 and size % (ns * r * grain) == 0 else 0)
        ns *= r
    skip = [i for i, mode in enumerate(out) if mode]
    if skip:
        out[skip[-1]] = 3
    return tuple(out)


def reordered(plan):
    """A fused plan's row with its smallest radix first: the stage that cannot skip is the
    cheapest, and the grain (that radix) is the finest.  Other plans are returned as they are."""
    if plan.layout != "fused" or plan.sparse is not None or len(plan.row.radices) < 2:
        return plan
    if max(plan.row.radices) > MAX_RADIX:
        # skipping rows keep the radix-16 split their speed-ups were measured with (an
        # explicit order that needs radix 32 included: the plan reports the stages it runs)
        from .plan import _fused_transform, _row_registers, fused_groups
        row = _fused_transform(plan.m, None, plan.elem_bytes)
        groups = fused_groups(row.threads, row.size, plan.elem_bytes, plan.smem_limit)
        plan = replace(plan, row=row, order=len(row.radices), groups=groups,
                       regs_row=_row_registers(row, plan.prec.ctype))
    rad = list(plan.row.radices)
    # the first radix r is the grain: the first inverse stage skips only if r * r divides m
    first = [r for r in sorted(set(rad)) if plan.m % (r * r) == 0]
    if not first:
        return plan
    rad.remove(first[0])
    return replace(plan, row=replace(plan.row, radices=(first[0], *sorted(rad))))


def fft_size(need: int, real: bool) -> int:
    """FFT size of a sparse plan: the smallest 2^a * c >= need (c in 1, 3, 5, 7; even for
    real data), so the decomposition has power-of-two radices to skip along."""
    best = None
    for c in (1, 3, 5, 7):
        n = c
        while n < need or (real and n % 2):
            n *= 2
        best = n if best is None else min(best, n)
    return best


def balanced(plan):
    """A sparse fused plan's threads per row: enough for the widest skipping stage's kept
    butterflies, and for the dense stages to hold at most 32 points per thread; rows per
    block as the dense planner groups them (256 threads), within the shared memory."""

    from .plan import ROW_THREADS_MAX, fused_groups
    sp, tf = plan.sparse, plan.row
    need = 1
    modes = zip(tf.radices, forward_modes(tf.radices, sp.grain),
                inverse_modes(tf.radices, sp.grain, tf.size))
    for r, fwd, inv in modes:
        j = tf.size // r
        kept = j // sp.grain * len(sp.kept)
        for mode in (fwd, inv):
            need = max(need, kept if mode else -(-j * r // 32))
    threads = min(need, ROW_THREADS_MAX)    # m <= 16K: dense stages still <= 32 points a thread
    groups = fused_groups(threads, tf.size, plan.elem_bytes, plan.smem_limit)
    return replace(plan, row=replace(tf, threads=threads), groups=groups)


def grains(plan) -> list[int]:
    """Candidate grains: products of the first radices of the first transform.

    Fused plans need the first inverse stage to skip (R1 * P divides m), so that
    masked bins are never read; three-pass plans zero their masked rows on load.
    """
    tf = plan.row if plan.layout == "fused" else plan.col
    size = tf.size
    out, p = [], 1
    for r in tf.radices[:-1] if plan.layout == "fused" else tf.radices:
        p *= r
        if plan.layout == "fused" and size % (tf.radices[0] * p):
            break
        out.append(p)
    return out


def _stage_cost(plan, grain: int, d: float) -> float:
    """Relative on-chip and memory work of a plan whose masked classes are skipped."""
    def transform(tf, size):
        f = forward_modes(tf.radices, grain)
        i = inverse_modes(tf.radices, grain, size)
        return sum(d if s else 1.0 for s in f) + sum(d if s else 1.0 for s in i)
    if plan.layout == "fused":
        return transform(plan.row, plan.m) + 1.0          # + load/multiply/store
    rows = 2 * len(plan.row.radices) * d                  # middle pass: kept rows only
    memory = 2 * (2 + 2 * d)                              # x, y and the intermediate, twice
    return transform(plan.col, plan.b) + rows + memory


def butterflies(plan) -> int:
    """Butterflies of one row's on-chip transforms that the plan computes (sparse or not)."""
    sp = plan.sparse
    grain, nk = (sp.grain, len(sp.kept)) if sp is not None else (1, 1)
    first = plan.row if plan.layout == "fused" else plan.col
    total = 0
    for modes in (forward_modes(first.radices, grain), inverse_modes(first.radices, grain, first.size)):
        for r, mode in zip(first.radices, modes):
            j = first.size // r
            total += j // grain * nk if mode else j
    if plan.layout == "three_pass":
        # b-point columns for each of the a columns; a-point rows for each kept row
        total *= plan.a
        rows = plan.b // grain * nk
        total += 2 * rows * sum(plan.a // r for r in plan.row.radices)
    return total


def packed_kept(mask: np.ndarray, real: bool, m: int) -> np.ndarray:
    """Bins of the transform the kernels run: packed bin k carries real bins k and m - k."""
    mask = np.asarray(mask, dtype=bool)
    if not real:
        return mask
    k = np.arange(m)
    return mask[k] | mask[m - k]


def classes(kept: np.ndarray, grain: int) -> tuple[int, ...]:
    return tuple(int(c) for c in np.unique(np.flatnonzero(kept) % grain))


def choose(plan, mask: np.ndarray, dense=None) -> SparseMask | None:
    """The grain whose skipped classes save the most work for this mask (None: nothing skips)
    against `dense` (default: `plan` itself), the plan that runs when nothing skips."""
    if plan.layout not in ("fused", "three_pass") or plan.seg is not None:
        return None
    kept = packed_kept(mask, plan.real, plan.m)
    best, best_cost = None, _stage_cost(plan if dense is None else dense, 1, 1.0)
    for p in grains(plan):
        cls = classes(kept, p)
        cand = SparseMask(p, cls)
        if len(cls) == p or len(cand.table) > MAX_RUNS:
            continue
        cost = _stage_cost(plan, p, len(cls) / p)
        if cost < best_cost - 1e-9:
            best, best_cost = cand, cost
    return best


# -- masks from patterns ------------------------------------------------------------

def bins(plan) -> int:
    """Length of a spectrum mask: rfft bins (n//2 + 1) for real data, n otherwise."""
    return plan.n // 2 + 1 if plan.real else plan.n


def block_classes(grain: int, count: int) -> tuple[int, ...]:
    """`count` classes mod `grain` nearest 0, closed under c -> -c (real data pairs them):
    0, +-1, +-2 ..., and grain/2 (its own mirror) to complete an even count."""
    count = max(1, min(count, grain))
    half = (count - 1) // 2
    out = {0} | {c % grain for h in range(1, half + 1) for c in (h, -h)}
    if len(out) < count and grain % 2 == 0:
        out.add(grain // 2)
    c = half + 1
    while len(out) < count:
        out |= {c % grain, -c % grain}
        c += 1
    return tuple(sorted(out))


def block_grain(plan, density: float) -> int:
    """The smallest candidate grain that realizes `density` within 10%, else the closest."""
    # a plan whose decomposition admits no skipping still gets the pattern (dense kernel)
    plan = reordered(plan)
    tf = plan.row if plan.layout != "three_pass" else plan.col
    cands = grains(plan) or [int(tf.radices[0]) if tf.radices else 1]
    def err(p):
        return abs(max(1, round(density * p)) / p - density) / density
    good = [p for p in cands if err(p) <= 0.1]
    return good[0] if good else min(cands, key=err)


def pattern_mask(plan, sparsity: Sparsity) -> np.ndarray:
    """Boolean mask over the plan's spectrum bins (see `bins`) for a pattern."""
    nb, n, d = bins(plan), plan.n, sparsity.density
    f = np.arange(nb)
    if sparsity.pattern == "uniform":
        if plan.real:
            return f < max(1, round(d * nb))
        if round(d * n) >= n:
            return np.ones(nb, dtype=bool)                   # density 1: dense, Nyquist included
        dist = np.minimum(f, n - f)                          # |frequency| of a complex bin
        return dist < max(1, round(d * n / 2))
    if sparsity.pattern == "block":
        p = block_grain(plan, d)
        keep = np.zeros(p, dtype=bool)
        keep[list(block_classes(p, round(d * p)))] = True
        return keep[f % p] if p > 1 else np.ones(nb, dtype=bool)
    # random: rfft bins are already one per conjugate pair
    return np.random.default_rng(sparsity.seed).random(nb) < d


def check_mask(plan, mask) -> np.ndarray:
    """An explicit mask: boolean, one entry per spectrum bin of this plan."""
    m = np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"a sparsity mask must be boolean, got {m.dtype}")
    if m.shape != (bins(plan),):
        what = "n//2 + 1 rfft bins" if plan.real else "n bins"
        raise ValueError(f"a sparsity mask needs {what} of the FFT size n = {plan.n}: "
                         f"shape ({bins(plan)},), got {m.shape}")
    return m


def sparsify(plan, mask: np.ndarray):
    """The plan that skips what `mask` (over the spectrum bins) allows; the same plan if nothing."""
    mask = check_mask(plan, mask)
    base = reordered(plan)
    sm = choose(base, mask, dense=plan)      # a narrowed row must beat the dense one that runs
    if sm is None:
        return plan
    out = replace(base, sparse=sm)
    return balanced(out) if out.layout == "fused" else out
