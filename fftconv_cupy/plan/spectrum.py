"""The kernel spectrum, in the layout the generated kernels consume.

Computed once per plan in float64 (the FFT library of the array's module) and
rounded once to the plan's precision, with every normalization folded in:

real plans     Hs[k] = H[k] / (4m) for 0 < k < m, Hs[0] = (H[0] + i H[m]) / (4m)
               (both are real for a real kernel, so bin m rides in bin 0's imaginary part)
complex plans  Hs[k] = H[k] / m
three_pass,    the same values permuted
cluster to the middle pass's row order:
               Hperm[kb, ka] = Hs[kb + b * ka], rows kb contiguous.
"""
from __future__ import annotations


def kernel_spectrum(plan, k_rows, xp, mask=None):
    """Spectrum rows for kernel rows `k_rows` (shape (h, len_k), any float/complex dtype).

    mask: boolean over the spectrum bins (rfft bins for real plans): masked bins are zero.
    """
    if k_rows.shape[-1] != plan.len_k:
        raise ValueError(f"kernel rows have {k_rows.shape[-1]} samples, plan expects {plan.len_k}")
    m, n = plan.m, plan.n
    if plan.real:
        if xp.iscomplexobj(k_rows):
            raise TypeError("a real-input plan needs a real kernel")
        h = xp.fft.rfft(k_rows.astype(xp.float64, copy=False), n=n, axis=-1)  # m + 1 bins
        if mask is not None:
            h = h * xp.asarray(mask)
        hs = h[..., :m].copy()
        hs[..., 0] = h[..., 0].real + 1j * h[..., m].real
        hs /= 4 * m
    else:
        hs = xp.fft.fft(k_rows.astype(xp.complex128, copy=False), n=n, axis=-1) / m
        if mask is not None:
            hs = hs * xp.asarray(mask)
    if plan.layout in ("three_pass", "cluster"):
        a, b = plan.a, plan.b
        hs = hs.reshape(hs.shape[:-1] + (a, b)).swapaxes(-1, -2).reshape(hs.shape[:-1] + (m,))
    return xp.ascontiguousarray(hs.astype(plan.prec.complex_dtype))
