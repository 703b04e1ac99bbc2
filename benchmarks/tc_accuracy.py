"""How the error of a 16-bit tensor-core engine grows with the transform size (CPU only).

python -m benchmarks.tc_accuracy [--rows 2]
Emulates the row-pair engine of benchmarks/tc4096 for any n = 16^p * r: two real rows of one
channel form a complex row, each radix-16 (or last radix r) stage is a product with the fp16
DFT matrix rounded to fp16, each twiddle product is rounded to fp16 with fp16 twiddles, the
spectrum is fp16 and the output is rounded to the I/O dtype. Scaling is ideal (exact powers
of two keep every stage's values near 1, as the kernel's F / 4 and input / spectrum scales
do for n = 4096), so the numbers are the rounding error alone. Circular convolution of size
n; a causal row of length L is the same transform at n = 2L with a zero upper half.
"""
from __future__ import annotations

import argparse

import numpy as np

from fftconv_cupy.plan.pairs import _r16


def _norm(v):
    """Scale by a power of two so the rms is near 1 (exact; what the kernel's scales do)."""
    rms = np.sqrt(np.mean(np.abs(v) ** 2))
    return v if rms == 0 else v * 2.0 ** -np.round(np.log2(rms))


def _dft(r, rnd, inverse=False):
    F = np.exp((2j if inverse else -2j) * np.pi * np.outer(np.arange(r), np.arange(r)) / r)
    return rnd(F / 4)


def _radices(n):
    rs = []
    while n % 16 == 0 and n > 16:
        rs.append(16)
        n //= 16
    return rs + [n]


def forward(x, rnd=_r16):
    """DIF: the slowest digit first; output in digit-reversed (permuted) order."""
    n = x.shape[-1]
    r = _radices(n)[0]
    m = n // r
    X = x.reshape(x.shape[:-1] + (r, m))
    Y = rnd(_norm(np.einsum("ka,...aj->...kj", _dft(r, rnd), X)))
    if m == 1:
        return Y.reshape(x.shape)
    w = rnd(np.exp(-2j * np.pi * np.outer(np.arange(r), np.arange(m)) / n))
    Y = rnd(Y * w)
    return forward(Y, rnd).reshape(x.shape)


def inverse(z, rnd=_r16):
    """The transpose of `forward` with conjugate matrices and twiddles: natural order out."""
    n = z.shape[-1]
    r = _radices(n)[0]
    m = n // r
    Z = z.reshape(z.shape[:-1] + (r, m))
    if m > 1:
        Z = inverse(Z, rnd)
        w = rnd(np.exp(2j * np.pi * np.outer(np.arange(r), np.arange(m)) / n))
        Z = rnd(Z * w)
    X = rnd(_norm(np.einsum("ak,...kj->...aj", _dft(r, rnd, inverse=True), Z)))
    return X.reshape(z.shape)


def _perm(n):
    rs = _radices(n)
    if len(rs) == 1:
        return np.arange(n)
    r, m = rs[0], n // rs[0]
    sub = _perm(m)
    # output (ka, kj) holds bin ka + r * sub[kj]
    return (np.arange(r)[:, None] + r * sub[None, :]).reshape(n)


def error(n, io="bfloat16", rows=2, seed=0, rounding=True):
    """Relative L2 error of the emulated engine: circular convolution of size n (rounding
    False: float64 throughout, the check of the decomposition itself; io None: no output
    rounding)."""
    from fftconv_cupy.runtime import arrays

    def io_round(v):
        if io is None:
            return v
        return arrays.bits16_to_float(arrays.float_to_bits16(v, io), io).astype(np.float64)

    rnd = _r16 if rounding else (lambda v: v)

    rng = np.random.default_rng(seed)
    x = io_round(rng.standard_normal((rows, n)))
    k = rng.standard_normal(n) * np.exp(-np.arange(n) / (n / 8))
    K = np.fft.fft(k)
    perm = _perm(n)
    Kp = rnd(_norm(K[perm]))
    z = x[0::2] + 1j * x[1::2]
    Z = forward(rnd(_norm(z)), rnd)
    y = inverse(rnd(_norm(Z * Kp)), rnd)
    ref = np.fft.ifft(np.fft.fft(z) * K)
    # undo the exact power-of-two scales by a least-squares factor (exact up to rounding)
    s = np.vdot(y.ravel(), ref.ravel()) / np.vdot(y.ravel(), y.ravel())
    s = 2.0 ** np.round(np.log2(abs(s)))
    y = y * s
    out = np.concatenate([io_round(y.real), io_round(y.imag)])
    want = np.concatenate([ref.real, ref.imag])
    return np.linalg.norm(out - want) / np.linalg.norm(want)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=2)
    a = p.parse_args()
    print("n (complex points per row pair) | stages each way | bf16 I/O | fp16 I/O")
    for n in (256, 4096, 8192, 65536, 1 << 20, 1 << 22):
        st = len(_radices(n))
        print(f"{n:>8} | {st} | {error(n, 'bfloat16', a.rows):.2e} | {error(n, 'float16', a.rows):.2e}")


if __name__ == "__main__":
    main()
