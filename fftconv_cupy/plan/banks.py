"""Shared-memory bank model of the Stockham stages (stockham.cuh `stage`).

Butterfly j of a radix-R stage (Ns = product of the earlier radices, J = S / R
butterflies) loads points j + r J and stores (j / Ns) Ns R + j % Ns + r Ns, each at
pad(e) = e + e / 16.  A warp's access of 8-byte elements is served in two phases of 16
lanes (16-byte elements: four of 8); within a phase, distinct 4-byte words in one of the
32 banks serialize.  The planner uses the model to pick, among radix orders of equal
stage count, one whose accesses are conflict-free (H200, fp32 L = 512: [8x8x8] stores
its second stage at 4 wavefronts instead of 2; [16x2x16] none: 0.185 -> 0.170 ms).
"""
from __future__ import annotations

import functools

import numpy as np

BANKS = 32
PHASE_BYTES = 128             # bytes one wavefront serves without conflicts


def _pad(e, shift: int):
    return e + (e >> shift)


def wavefronts(elems: np.ndarray, elem_bytes: int) -> np.ndarray:
    """Wavefronts of each warp access; elems: (accesses, 32) element indices."""
    lanes, words = PHASE_BYTES // elem_bytes, elem_bytes // 4
    acc, nl = elems.shape
    w = (elems[..., None] * words + np.arange(words)).reshape(acc * (nl // lanes), lanes * words)
    key = np.sort((w % BANKS) << 40 | w, axis=1)          # words grouped by bank
    first = np.ones(key.shape, dtype=np.int64)
    first[:, 1:] = key[:, 1:] != key[:, :-1]               # distinct words
    counts = np.zeros((key.shape[0], BANKS), dtype=np.int64)
    np.add.at(counts, (np.arange(key.shape[0])[:, None], key >> 40), first)
    return counts.max(axis=1).reshape(acc, nl // lanes).sum(axis=1)


def _stage_points(j, radix: int, ns: int, butterflies: int):
    """Points butterfly j of a Stockham stage loads and stores, one row per slot r (the
    indexing of stockham.cuh `stage` and columns.cuh `col_stage`)."""
    r = np.arange(radix).reshape(1, -1, 1)
    return j + r * butterflies, (j // ns) * ns * radix + j % ns + r * ns


def _lanes(butterflies: int, threads: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(row in the warp, butterfly) of each lane for every warp access of a stage: threads
    t of a row run butterflies t, t + T, ...; rows of T < 32 threads share a warp."""
    lanes = np.arange(32)
    if threads % 32 == 0:
        j = np.arange(0, butterflies - 31, 32)[:, None] + lanes
        return np.zeros_like(j), j
    if 32 % threads == 0 and butterflies % threads == 0:
        j = np.arange(0, butterflies, threads)[:, None] + lanes % threads
        return np.broadcast_to(lanes // threads, j.shape), j
    return None


@functools.lru_cache(maxsize=2048)
def stage_cost(size: int, radices: tuple[int, ...], threads: int, elem_bytes: int,
               stride: int = 0, pad_shift: int = 4) -> float | None:
    """Mean wavefronts per warp load/store of the stages, relative to the conflict-free
    count (1.0: none).  Rows narrower than a warp sit `stride` elements apart.  None where
    a warp's lanes do not map onto whole rows or whole warps (not modelled)."""
    ideal = elem_bytes * 32 // PHASE_BYTES
    costs, ns = [], 1
    for r_ in radices:
        butterflies = size // r_
        m = _lanes(butterflies, threads)
        if m is None:
            return None
        g, j = (a[:, None, :] for a in m)
        if j.size:
            load, store = (g * stride + _pad(k, pad_shift) for k in _stage_points(j, r_, ns, butterflies))
            costs.append(wavefronts(load.reshape(-1, 32), elem_bytes).mean())
            costs.append(wavefronts(store.reshape(-1, 32), elem_bytes).mean())
        ns *= r_
    return float(np.mean(costs)) / ideal if costs else None


def column_row(k, swizzle: int, cols: int, elem_bytes: int):
    """Row of point k in the column kernels' [point][column] buffer (columns.cuh col_row):
    rows of C columns narrower than a 128-byte line share it; the low bits that pick the row
    within its line are XORed with the bits of k from `swizzle` up."""
    mask = max(1, PHASE_BYTES // elem_bytes // cols) - 1
    return k ^ ((k >> swizzle) & mask) if swizzle else k


@functools.lru_cache(maxsize=256)
def column_cost(size: int, radices: tuple[int, ...], threads: int, cols: int, elem_bytes: int,
                swizzle: int = 0) -> float | None:
    """The direct column kernels' shared-memory accesses (the stages between the first, which
    reads global memory, and the last, which writes it), relative to conflict-free.  Thread
    (t, c) = (x / C, x % C); point k of column c at column_row(k) * C + c.  None: one stage."""
    if len(radices) < 2 or (threads * cols) % 32:
        return None
    ideal = elem_bytes * 32 // PHASE_BYTES
    lanes = np.arange(32)
    c, t0 = lanes % cols, lanes // cols
    costs, ns = [], 1
    for i, r_ in enumerate(radices):
        butterflies = size // r_
        t = (np.arange(0, threads * cols, 32)[:, None] // cols + t0)
        j = np.concatenate([t + it * threads for it in range(-(-butterflies // threads))])
        j = j[(j < butterflies).all(axis=1)][:, None, :]
        load, store = _stage_points(j, r_, ns, butterflies)
        # the first stage loads global memory, the last one stores it
        for k in ([load] if i > 0 else []) + ([store] if i < len(radices) - 1 else []):
            at = column_row(k, swizzle, cols, elem_bytes) * cols + c
            costs.append(wavefronts(at.reshape(-1, 32), elem_bytes).mean())
        ns *= r_
    return float(np.mean(costs)) / ideal
