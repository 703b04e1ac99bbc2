"""Prototype: circular bf16 convolution, N = 4096, on tensor cores (benchmarks/tc4096.cu).

The library runs the same kernel (templates/pairs.cu.j2: the default build of this file,
bit-equal results, tested) with these tables (plan/pairs.py); this file keeps the build
switches of the measurements in docs/tensor-cores.md and the rounding emulation.

python -m benchmarks.tc4096 [--check-only]
Two rows of one channel form one complex row; three radix-16 mma stages each way, the
first two chained in registers.  `--check-only` runs the NumPy model of the kernel's
decomposition and fragment tables (no GPU).  On a GPU: error against float64 on the
bf16-rounded inputs, and time against the library's fp32-compute circular plan, B=64,
H=768 (the issue's configuration).  TC_OPTS adds NVRTC options (the kernel's build
switches, e.g. TC_OPTS=-DMINB=5; benchmarks/tc4096.cu lists them); TC_BLOCKS_PER_SM=n
launches n blocks per SM that loop over the pairs (default: one block per pair).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fftconv_cupy.plan.pairs import frag_coords, half_pairs, lane_constants, model, quads  # noqa: F401
from fftconv_cupy.plan.pairs import emulate_pair, fragment_spectrum, stage3_twiddles

N = 4096
W = np.exp(-2j * np.pi / N)
tables = stage3_twiddles


def spectrum(k):
    """Per channel: K'' = fft(k) 2^t / 128 in fragment order, and the output factor 128 2^-t."""
    return fragment_spectrum(np.fft.fft(k, n=N, axis=-1))


def _round_io(v, io):
    from fftconv_cupy.runtime import arrays
    return arrays.bits16_to_float(arrays.float_to_bits16(v, io), io).astype(np.float64)


def emulate(x1, x2, k, io="bfloat16", acc16=True, tw16=True, per_row=False):
    """The kernel's arithmetic for one row pair (values x1, x2 of the I/O dtype; kernel row k,
    float64), outputs rounded to `io` (plan/pairs.py: emulate_pair).  per_row=False: this
    prototype's one scale per pair; the library's kernel scales each row."""
    Kf, ks = spectrum(k[None])
    y1, y2 = emulate_pair(x1, x2, Kf[0], float(ks[0]), per_row=per_row, acc16=acc16, tw16=tw16)
    return _round_io(y1, io), _round_io(y2, io)


def emulated_error(rows=4, seed=3, io="bfloat16", **kw):
    """Relative L2 error of the emulated kernel against float64 on the rounded inputs."""
    rng = np.random.default_rng(seed)
    x = _round_io(rng.standard_normal((rows, N)), io)
    k = rng.standard_normal(N) * np.exp(-np.arange(N) / 512)
    ys = []
    for i in range(0, rows, 2):
        ys.extend(emulate(x[i], x[i + 1], k, io, **kw))
    ref = np.fft.irfft(np.fft.rfft(x) * np.fft.rfft(k), n=N)
    return np.linalg.norm(np.array(ys) - ref) / np.linalg.norm(ref)


def check_model(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, N))
    k = rng.standard_normal((1, N)) * np.exp(-np.arange(N) / 512)
    Kf, ks = spectrum(k)
    tw3f, tw3i = tables()
    y = model(x[0] + 1j * x[1], Kf[0], ks[0], tw3f, tw3i)
    ref = np.fft.ifft(np.fft.fft(x) * np.fft.fft(k, axis=-1), axis=-1).real
    err = np.linalg.norm(np.stack([y.real, y.imag]) - ref) / np.linalg.norm(ref)
    return err


def source():
    return Path(__file__).with_suffix(".cu").read_text()


def nvrtc_options():
    """NVRTC options of the prototype: it includes the library's fftconv/pairs.cuh."""
    from fftconv_cupy.codegen.render import include_dir
    return ("--std=c++17", "-I" + include_dir())


class Circular4096:
    """The prototype kernel with its tables for one kernel bank k (H, 4096), float64."""

    def __init__(self, k, options=()):
        import cupy
        mod = cupy.RawModule(code=source(), options=(*nvrtc_options(), "-arch=sm_90", *options))
        self.kern = mod.get_function("tc_circ4096")
        Kf, ks = spectrum(np.asarray(k, np.float64))
        tw3f, tw3i = tables()
        self.heads = len(ks)
        self.tabs = [cupy.asarray(quads(half_pairs(Kf))), cupy.asarray(ks),
                     cupy.asarray(quads(half_pairs(tw3f))), cupy.asarray(quads(half_pairs(tw3i))),
                     cupy.asarray(lane_constants())]

    def __call__(self, x, y, blocks=None):
        """x, y: C-contiguous uint16 (bf16 bits), (B * H, 4096) with B even; row b H + h uses
        channel h.  blocks: the grid (default one block per row pair; fewer blocks loop)."""
        for name, a in (("x", x), ("y", y)):
            if a.dtype != np.uint16 or not a.flags.c_contiguous or a.ndim != 2:
                raise TypeError(f"{name} must be a C-contiguous 2-D uint16 array of bf16 bits")
        rows = x.shape[0]
        if y.shape != x.shape or x.shape[1] != N or rows % (2 * self.heads):
            raise ValueError("x and y must be (B * H, 4096) with an even number B of batches")
        pairs = rows // self.heads // 2
        spec, ks, tw3f, tw3i, lanec = self.tabs
        self.kern((blocks or self.heads * pairs,), (128,),
                  (x, y, spec, ks, tw3f, tw3i, lanec, np.int32(pairs), np.int32(self.heads)))


def run_gpu(batch=64, heads=768, repeat=30, compare=True):
    import os
    import cupy
    from fftconv_cupy.bench.causal import copy_bandwidth, device_name, time_ms
    from fftconv_cupy.runtime import arrays
    from benchmarks.tensor_cores import one

    opts = tuple(os.environ.get("TC_OPTS", "").split())
    rows = batch * heads
    xf = cupy.random.standard_normal((rows, N), dtype=cupy.float32)
    x = arrays.float_to_bits16(xf, "bfloat16", cupy)
    k = np.random.default_rng(1).standard_normal((heads, N)) * np.exp(-np.arange(N) / 512)
    conv = Circular4096(k, opts)
    y = cupy.full((rows, N), 0xFFFF, dtype=cupy.uint16)
    per_sm = int(os.environ.get("TC_BLOCKS_PER_SM", "0"))   # 0: one block per pair
    blocks = per_sm * cupy.cuda.Device().attributes["MultiProcessorCount"] if per_sm else None
    launch = lambda: conv(x, y, blocks)
    launch()
    cupy.cuda.Device().synchronize()
    bw = copy_bandwidth()
    ms = time_ms(launch, warmup=5, repeat=repeat)
    floor = rows * N * 4 / bw * 1e3
    # error on two batches (b = 0, 1: every channel) and the last two
    sel = np.r_[0:2 * heads, rows - 2 * heads:rows]
    xr = cupy.asnumpy(arrays.bits16_to_float(x[sel], "bfloat16", cupy)).astype(np.float64)
    yr = cupy.asnumpy(arrays.bits16_to_float(y[sel], "bfloat16", cupy)).astype(np.float64)
    kk = k[sel % heads]
    ref = np.fft.irfft(np.fft.rfft(xr) * np.fft.rfft(kk), n=N)
    err = np.linalg.norm(yr - ref) / np.linalg.norm(ref)
    row_err = np.linalg.norm(yr - ref, axis=1) / np.linalg.norm(ref, axis=1)
    written = not np.isnan(cupy.asnumpy(arrays.bits16_to_float(y, "bfloat16", cupy))).any()
    print(f"options {opts}, blocks per SM {per_sm or 'all'}")
    print(f"{device_name()}  copy {bw / 1e12:.2f} TB/s  floor {floor:.3f} ms")
    print(f"tensor cores (fp16 mma, fp16 twiddles): {ms[0]:.3f} ms (p10 {ms[1]:.3f}, p90 {ms[2]:.3f})  "
          f"x{ms[0] / floor:.2f} floor  error {err:.2e} (worst row {row_err.max():.2e})  "
          f"all written {written}")
    if not compare:
        return
    r = one(N, "bfloat16", "fp32", bw, rows, circular=True, heads=heads)
    print(f"library fp32 compute:    {r['ms']:.3f} ms  x{r['x_floor']:.2f} floor  error {r['rel_err']:.2e}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check-only", action="store_true")
    p.add_argument("--no-compare", action="store_true", help="skip the library's fp32 plan")
    a = p.parse_args()
    print(f"model error (float64, no rounding): {check_model():.2e}")
    if not a.check_only:
        run_gpu(compare=not a.no_compare)


if __name__ == "__main__":
    main()
