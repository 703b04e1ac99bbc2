"""The frequency-sparsity ablation (``fftconv-cli ablate sparsity``).

Workload: the causal convolution of the benchmark, x (B, H, L), k (H, L), y = the
first L outputs, through ``FFTConv(..., mode="causal", sparsity=...)``.  For each
length, pattern and density:

speed    the sparse plan and the dense plan of the same size, each timed through its
         executor (CUDA events, median of `repeat` calls after 3 warm-ups) on random
         rows, the output poisoned with NaN beforehand and checked to be fully written;
accuracy on realistic signals the tool synthesizes (a linear chirp, coloured 1/f
         noise, a speech-like voiced signal, a radar-like pulse train with echoes),
         with a decaying random kernel per channel (as long-convolution models learn):
         rel. L2 error and SNR of the sparse output against the dense output (what
         the mask throws away), and the rel. L2 error against the float64 masked
         oracle (that the kernel computes what it claims);
memory   kernel-spectrum bytes and device memory of one call (pool growth + output).

Nothing here imports CuPy at module level (the CLI validates options without a GPU).
"""
from __future__ import annotations

import numpy as np

from .causal import batch_heads, rows_for

SIGNALS = ("chirp", "coloured", "speech", "radar")
SIGNAL_ROWS = 4          # rows per signal kind in the accuracy check (one per channel)
ROWS_CAP = 4096          # timed rows at short L: enough to fill the device several times


def synth(kind: str, length: int, rows: int, rng) -> np.ndarray:
    """`rows` signals of `length` samples (float64, unit RMS) of a kind in SIGNALS."""
    t = np.arange(length) / length                  # time in units of the row
    out = np.empty((rows, length))
    for i in range(rows):
        if kind == "chirp":                         # linear sweep 0 -> 0.45 of the sample rate
            f1 = 0.45 * length
            x = np.cos(2 * np.pi * (0.5 * f1 * t ** 2) + rng.uniform(0, 2 * np.pi))
            x += 0.01 * rng.standard_normal(length)
        elif kind == "coloured":                    # 1/f ("pink") noise
            spec = np.fft.rfft(rng.standard_normal(length))
            f = np.arange(spec.size)
            spec[1:] /= np.sqrt(f[1:])
            spec[0] = 0
            x = np.fft.irfft(spec, length)
        elif kind == "speech":                      # voiced: harmonics of a gliding pitch, formants, syllables
            fs = 16000.0
            secs = length / fs
            f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t * secs + rng.uniform(0, 6))
            phase = 2 * np.pi * np.cumsum(f0) / fs
            formants = np.array([500.0, 1500.0, 2500.0]) * rng.uniform(0.9, 1.1, 3)
            x = np.zeros(length)
            for h in range(1, 30):
                fh = h * f0.mean()
                amp = sum(np.exp(-0.5 * ((fh - fm) / 150.0) ** 2) for fm in formants) + 0.05 / h
                x += amp * np.sin(h * phase)
            x *= 0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t * secs) ** 2        # 4 Hz syllables
            x += 0.02 * rng.standard_normal(length)
        elif kind == "radar":                       # LFM pulses, delayed attenuated echoes, noise
            pri = max(64, length // 16)
            width = max(16, pri // 8)
            tp = np.arange(width) / width
            pulse = np.cos(2 * np.pi * (0.05 * width * tp + 0.15 * width * tp ** 2))
            x = 0.05 * rng.standard_normal(length)
            for start in range(0, length - width, pri):
                x[start:start + width] += pulse
                for _ in range(3):
                    d = start + int(rng.integers(width, pri - width)) if pri > 2 * width else start
                    if d + width <= length:
                        x[d:d + width] += rng.uniform(0.05, 0.3) * pulse
        else:
            raise ValueError(f"signal kind must be one of {SIGNALS}, got {kind!r}")
        x = x - x.mean()
        out[i] = x / max(np.sqrt(np.mean(x ** 2)), 1e-30)
    return out


def decaying_kernel(channels: int, length: int, rng) -> np.ndarray:
    """Random kernels with an exponential decay (time constant L/8), unit L2 norm."""
    t = np.arange(length)
    k = rng.standard_normal((channels, length)) * np.exp(-t / max(1.0, length / 8))
    return k / np.linalg.norm(k, axis=-1, keepdims=True)


def _masked_oracle(x, k, mask, n):
    return np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(k, n) * mask, n)[..., :x.shape[-1]]


def _rel(a, b) -> float:
    d = np.linalg.norm(np.asarray(a, np.float64) - b)
    return float(d / max(np.linalg.norm(b), 1e-300))


def _snr_db(y, ref) -> float:
    err = np.linalg.norm(np.asarray(y, np.float64) - ref)
    return float("inf") if err == 0 else float(20 * np.log10(np.linalg.norm(ref) / err))


def _timed(conv, x, repeat):
    """Median/p10/p90 ms of the plan's kernels on x, memory of one call, and its output."""
    import cupy

    from ..api import _executor, _ptr
    from .causal import time_ms
    rows = x.shape[0] * x.shape[1]
    xr = x.reshape(rows, x.shape[-1])
    pool = cupy.get_default_memory_pool()
    y = cupy.full(xr.shape, cupy.nan, dtype=xr.dtype)        # poisoned: every element must be written
    plan = conv.plan.with_alignment(_ptr(xr), _ptr(y))
    ex = _executor(plan)
    channels = x.shape[1]

    def call():
        ex(xr, conv.spectrum, y, batch=rows // channels, channels=channels)
    cupy.cuda.Device().synchronize()
    before = pool.used_bytes()
    call()
    cupy.cuda.Device().synchronize()
    peak = pool.used_bytes() - before + y.nbytes
    ms = time_ms(call, warmup=3, repeat=repeat)
    if int(cupy.isnan(y).sum()) != 0:
        raise RuntimeError(f"{plan.describe()}: outputs left unwritten")
    return ms, peak, y


def run_sparsity(lengths, patterns, densities, *, rows=None, repeat=20, seed=0,
                 on_step=None) -> list[dict]:
    """One dict per (length, pattern, density), after one 'dense' dict per length.

    Keys: length, pattern, density (requested), kept (fraction of spectrum bins kept),
    plan, sparse (grain/kept classes or None: nothing skipped), ms, p10, p90,
    speedup (dense ms / ms), peak_mb, spectrum_mb, oracle_err (max over signals),
    and per signal kind: rel_<kind> and snr_<kind> (sparse vs dense output).
    """
    import cupy

    import fftconv_cupy as fc
    rng = np.random.default_rng(seed)
    out = []
    for L in lengths:
        L = int(L)
        total = min(rows_for(L), ROWS_CAP) if rows is None else int(rows)
        batch, heads = batch_heads(total)
        x = cupy.asarray(rng.standard_normal((batch, heads, L)).astype(np.float32))
        k = decaying_kernel(heads, L, rng)
        kg = cupy.asarray(k[None].astype(np.float32))
        # accuracy: SIGNAL_ROWS channels per signal kind, float32 on the device
        ks = decaying_kernel(SIGNAL_ROWS, L, rng)
        sig = {kind: synth(kind, L, SIGNAL_ROWS, rng) for kind in SIGNALS}

        def accuracy(conv_of):
            conv = conv_of((1, SIGNAL_ROWS, L), cupy.asarray(ks[None].astype(np.float32)))
            res = {}
            for kind, s in sig.items():
                y = cupy.asnumpy(conv(cupy.asarray(s[None].astype(np.float32))))[0]
                res[kind] = y
            return conv, res

        def measure(label, sparsity):
            if on_step is not None:
                on_step(f"L={L:,} {label}")
            conv = fc.FFTConv(x.shape, kg, mode="causal", sparsity=sparsity)
            (ms, p10, p90), peak, _ = _timed(conv, x, repeat)
            return conv, {"length": L, "rows": total, "plan": conv.plan.describe(),
                          "layout": conv.plan.layout, "ms": ms, "p10": p10, "p90": p90,
                          "peak_mb": peak / 2 ** 20, "spectrum_mb": conv.spectrum.nbytes / 2 ** 20}

        _, dense = measure("dense", None)
        dense.update(pattern="dense", density=1.0, kept=1.0, sparse=None, speedup=1.0)
        _, dense_y = accuracy(lambda shape, kern: fc.FFTConv(shape, kern, mode="causal"))
        out.append(dense)
        for pattern in patterns:
            for d in densities:
                sp = fc.Sparsity(pattern, d, seed)
                conv, row = measure(f"{pattern} {d:g}", sp)
                aconv, ys = accuracy(lambda shape, kern: fc.FFTConv(shape, kern, mode="causal",
                                                                    sparsity=sp))
                mask = aconv.mask
                row.update(pattern=pattern, density=d, kept=float(np.mean(mask)),
                           sparse=None if conv.plan.sparse is None else
                           f"{len(conv.plan.sparse.kept)}/{conv.plan.sparse.grain}",
                           speedup=dense["ms"] / row["ms"])
                worst = 0.0
                for kind, y in ys.items():
                    ref = _masked_oracle(sig[kind], ks, mask, aconv.fft_size)
                    worst = max(worst, _rel(y, ref))
                    row[f"rel_{kind}"] = _rel(y, dense_y[kind])
                    row[f"snr_{kind}"] = _snr_db(y, dense_y[kind])
                row["oracle_err"] = worst
                out.append(row)
                cupy.get_default_memory_pool().free_all_blocks()
    return out


def plot(path, rows: list[dict], title: str = "") -> None:
    """Speedup vs dense and SNR vs dense per pattern and density (one panel pair per length)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    lengths = sorted({r["length"] for r in rows})
    fig, axes = plt.subplots(len(lengths), 2, figsize=(11, 3.6 * len(lengths)), squeeze=False)
    for (ax_s, ax_q), L in zip(axes, lengths):
        rs = [r for r in rows if r["length"] == L and r["pattern"] != "dense"]
        patterns = list(dict.fromkeys(r["pattern"] for r in rs))
        dens = sorted({r["density"] for r in rs}, reverse=True)
        width = 0.8 / max(1, len(patterns))
        for i, p in enumerate(patterns):
            pos = np.arange(len(dens)) + i * width
            by = {r["density"]: r for r in rs if r["pattern"] == p}
            ax_s.bar(pos, [by[d]["speedup"] if d in by else 0 for d in dens], width, label=p)
            snr = [min(by[d][f"snr_{s}"] for s in SIGNALS) if d in by else 0 for d in dens]
            ax_q.bar(pos, snr, width, label=p)
        for ax, lab in ((ax_s, "speedup vs dense"), (ax_q, "min SNR vs dense (dB)")):
            ax.set_xticks(np.arange(len(dens)) + 0.4 - width / 2, [f"{d:g}" for d in dens])
            ax.set_xlabel("density (fraction of frequencies kept)")
            ax.set_ylabel(lab)
            ax.set_title(f"L = {L:,}")
            ax.grid(True, axis="y", alpha=0.3)
        ax_s.axhline(1.0, color="black", linewidth=0.8)
        ax_s.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
