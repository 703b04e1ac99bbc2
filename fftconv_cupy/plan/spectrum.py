"""The kernel spectrum, in the layout the generated kernels consume.

Computed once per plan in float64 (the FFT library of the array's module) and
rounded once to the plan's precision, with every normalization folded in.

complex plans  Hs[k] = H[k] / m: the product is W[k] = Hs[k] Z[k].
real plans     the m-point spectrum Z of the packed pairs z[j] = x[2j] + i x[2j+1]
               goes to the packed inverse input W through
                   W[k] = A[k] Z[k] + i G[k] conj(Z[-k])            (indices mod m)
               (unpacking X[k], X[m-k], the product with H, and repacking are all
               linear in Z[k] and conj(Z[-k])).  With P = H[k], Q = conj(H[m-k]) (rfft
               bins, /4m) and theta = pi k / m:
                   A[k] = 2 (P + Q) - 2 sin(theta) (P - Q),   G[k] = 2 cos(theta) (P - Q),
               stored interleaved, (A[k], G[k]) one vector load apart.  G[-k] = conj(G[k]).
three_pass,    the same values permuted to the middle pass's row order:
cluster        row kb holds k = kb + b * ka, rows contiguous.
"""
from __future__ import annotations


def kernel_spectrum(plan, k_rows, xp, mask=None):
    """Spectrum rows for kernel rows `k_rows` (shape (h, len_k), any float/complex dtype):
    shape (h, m) complex, or (h, 2m) for real plans (A and G interleaved).

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
        h /= 4 * m
        k = xp.arange(m)
        p, q = h[..., :m], xp.conj(h[..., m - k])
        theta = xp.pi * k / m
        hs = xp.stack([2 * (p + q) - 2 * xp.sin(theta) * (p - q), 2 * xp.cos(theta) * (p - q)], axis=-1)
    else:
        hs = xp.fft.fft(k_rows.astype(xp.complex128, copy=False), n=n, axis=-1) / m
        if mask is not None:
            hs = hs * xp.asarray(mask)
        hs = hs[..., None]
    lead, c = hs.shape[:-2], hs.shape[-1]
    if plan.layout in ("three_pass", "cluster"):
        hs = hs.reshape(lead + (plan.a, plan.b, c)).swapaxes(-2, -3)
    return xp.ascontiguousarray(hs.astype(plan.prec.complex_dtype)).reshape(lead + (plan.m * c,))


def natural_coefficients(plan, hs):
    """Spectrum rows -> natural order k = 0..m-1: Hs (complex plans) or (A, G) (real plans)."""
    rows = hs.shape[:-1]
    c = 2 if plan.real else 1
    v = hs.reshape(rows + (plan.m, c))
    if plan.layout in ("three_pass", "cluster"):
        v = v.reshape(rows + (plan.b, plan.a, c)).swapaxes(-2, -3).reshape(rows + (plan.m, c))
    return (v[..., 0], v[..., 1]) if plan.real else v[..., 0]
