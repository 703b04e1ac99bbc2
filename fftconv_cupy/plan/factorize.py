"""Transform sizes and their Monarch factorizations."""
from __future__ import annotations

from ..errors import UnsupportedPlanError
from .support import MAX_RADIX, SMOOTH_PRIMES


def factor_smooth(n: int) -> dict[int, int] | None:
    """Exponents of 2, 3, 5, 7 in n, or None when n has another prime factor."""
    if n < 1:
        return None
    exps = {}
    for p in SMOOTH_PRIMES:
        e = 0
        while n % p == 0:
            n //= p
            e += 1
        exps[p] = e
    return exps if n == 1 else None


def next_smooth(n: int) -> int:
    """Smallest 7-smooth integer >= n."""
    n = max(int(n), 1)
    while factor_smooth(n) is None:
        n += 1
    return n


def _split_bits(bits: int, stages: int, max_radix: int = MAX_RADIX) -> list[int]:
    """Split 2**bits into `stages` radices of at most max_radix, as even as possible."""
    max_bits = max_radix.bit_length() - 1
    if stages == 0:
        return [] if bits == 0 else None
    if bits < stages or bits > stages * max_bits:
        return None
    base, extra = divmod(bits, stages)
    return [1 << (base + (1 if i < extra else 0)) for i in range(stages)]


def min_order(size: int, max_radix: int = MAX_RADIX) -> int:
    exps = factor_smooth(size)
    if exps is None:
        raise UnsupportedPlanError(f"transform size {size} is not 7-smooth")
    max_bits = max_radix.bit_length() - 1
    return exps[3] + exps[5] + exps[7] + -(-exps[2] // max_bits)


def radices(size: int, order: int | None = None, max_radix: int = MAX_RADIX) -> tuple[int, ...]:
    """Radix of each Stockham stage for a DFT of `size` points.

    `order` is the number of stages (the Monarch order p); None picks the fewest.
    Odd radices are single stages; the power-of-two part is split evenly into radices of
    at most max_radix.
    """
    exps = factor_smooth(size)
    if exps is None:
        raise UnsupportedPlanError(f"transform size {size} is not 7-smooth")
    odd = [3] * exps[3] + [5] * exps[5] + [7] * exps[7]
    p = min_order(size, max_radix) if order is None else order
    pow2 = _split_bits(exps[2], p - len(odd), max_radix)
    if pow2 is None:
        raise UnsupportedPlanError(
            f"a {size}-point transform cannot be written as {order} stages of radix "
            f"<= {max_radix} (orders {min_order(size, max_radix)}..{exps[2] + len(odd)} work)"
        )
    return tuple(_matched_ends(pow2) + odd)


def radix_orders(size: int, max_radix: int = MAX_RADIX) -> list[tuple[int, ...]]:
    """`radices(size)` (the fewest stages, even split) first, then the other splits of the
    power of two over the same number of stages (each part <= max_radix, ends matched)."""
    first = radices(size, None, max_radix)
    exps = factor_smooth(size)
    odd = first[len(first) - (exps[3] + exps[5] + exps[7]):] if len(first) else ()
    parts = len(first) - len(odd)
    max_bits = max_radix.bit_length() - 1
    out = [first]

    def splits(bits, k, hi):                  # non-increasing parts of at most hi bits
        if k == 0:
            if bits == 0:
                yield []
            return
        for b in range(min(hi, bits - (k - 1)), 0, -1):
            for rest in splits(bits - b, k - 1, b):
                yield [b] + rest

    for bits in splits(exps[2], parts, max_bits):
        cand = tuple(_matched_ends([1 << b for b in bits])) + tuple(odd)
        if cand not in out:
            out.append(cand)
    return out


def _matched_ends(pow2: list[int]) -> list[int]:
    """The radices ordered so the first equals the last where the multiset allows: the
    largest one present twice at both ends, the rest between in descending order ([16, 8, 8]
    -> [8, 16, 8], [16, 16, 8, 8] -> [16, 8, 8, 16]; no repeat: descending).  The forward
    transform's last stage then holds what the inverse's first stage reads, and fused rows
    keep the product between them in registers (Plan.fused_middle)."""
    twice = [r for r in set(pow2) if pow2.count(r) >= 2]
    if len(pow2) < 2 or not twice:
        return sorted(pow2, reverse=True)
    end = max(twice)
    rest = list(pow2)
    rest.remove(end)
    rest.remove(end)
    return [end] + sorted(rest, reverse=True) + [end]


def divisors_smooth(n: int) -> list[int]:
    """All divisors of a 7-smooth n, ascending."""
    divs = [1]
    for p, e in factor_smooth(n).items():
        divs = [d * p**k for d in divs for k in range(e + 1)]
    return sorted(divs)
