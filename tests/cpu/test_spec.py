"""ConvSpec (fftconv_cupy.plan.spec) against scipy.signal, on small NumPy arrays."""

import itertools
import warnings
import zlib

import numpy as np
import pytest
import scipy.signal as ss

from fftconv_cupy.plan.spec import (
    SUPPORTED_DTYPES,
    ConvSpec,
    conv_spec,
    correlate_result_dtype,
    correlate_spec,
    result_dtype,
    scipy_same_truncates,
)

MODES = ("full", "same", "valid")
DTYPES = [np.dtype(d) for d in SUPPORTED_DTYPES]


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def _rand(shape, dtype, rng):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        return rng.integers(0, 4, shape).astype(dtype)
    x = rng.uniform(-1, 1, shape)
    if dtype.kind == "c":
        x = x + 1j * rng.uniform(-1, 1, shape)
    return x.astype(dtype)


def _seed(*key):
    return zlib.crc32(repr(key).encode())


def _outcome(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ("ok", fn())
    except Exception as e:  # noqa: BLE001 - we compare whatever SciPy raises
        return ("err", type(e), str(e))


def _assert_same_error(scipy_fn, spec_fn):
    ref = _outcome(scipy_fn)
    got = _outcome(spec_fn)
    assert ref[0] == "err", f"SciPy did not raise (got {ref!r})"
    assert got[0] == "err", f"spec did not raise; SciPy raised {ref[1].__name__}: {ref[2]}"
    assert got[1] is ref[1], (got, ref)
    assert got[2] == ref[2], (got, ref)


def _flip_conj(b, axes):
    if axes:
        b = np.flip(b, axis=tuple(axes))
    return np.conj(b) if np.iscomplexobj(b) else b


def _full_reference(spec: ConvSpec, a, b):
    """Full N-D linear convolution over spec.axes (float64/complex128), broadcasting the rest."""
    a = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    b = b.astype(np.complex128 if np.iscomplexobj(b) else np.float64)
    if spec.correlate:
        b = _flip_conj(b, spec.flip_axes)
    if spec.axes:
        full = ss.fftconvolve(a, b, mode="full", axes=list(spec.axes))
    else:
        full = a * b
    assert full.shape == spec.full_shape
    return full


def _check_against_scipy(spec: ConvSpec, a, b, res):
    """spec vs SciPy's actual result `res` for inputs a, b."""
    assert spec.trivial is None
    assert spec.dtype == res.dtype
    assert spec.scipy_out_shape == res.shape
    if not scipy_same_truncates(spec):
        assert spec.out_shape == res.shape
        assert not spec.deviations
    # internal consistency
    assert spec.windows == tuple(spec.all_windows[ax] for ax in spec.axes)
    assert spec.out_shape == tuple(n for _, n in spec.all_windows)
    assert spec.full_lengths == tuple(spec.shape1[ax] + spec.shape2[ax] - 1 for ax in spec.axes)
    assert all(spec.shape1[ax] != 1 and spec.shape2[ax] != 1 for ax in spec.axes)
    assert list(spec.axes) == sorted(set(spec.axes))
    assert set(spec.axes) <= set(spec.requested_axes)
    for ax in spec.batch_axes:
        assert spec.full_shape[ax] == max(spec.shape1[ax], spec.shape2[ax])

    full = _full_reference(spec, a, b)
    ours = full[spec.out_slices]
    assert ours.shape == spec.out_shape
    # SciPy's own crop (differs only on axes hit by scipy#21876)
    sl = tuple(slice((n - m) // 2, (n - m) // 2 + m)
               for n, m in zip(spec.out_shape, spec.scipy_out_shape))
    ref = ours[sl]
    if spec.round_result:
        np.testing.assert_array_equal(np.round(ref).astype(spec.dtype), res)
    elif spec.dtype.kind == "b":
        pass  # correlate of bools: nonzero test of FFT noise, not checked
    else:
        # SciPy transforms each input in its own precision (float16/32 -> 32-bit)
        single = any(x.dtype.kind in "fc" and x.dtype.itemsize <= (4 if x.dtype.kind == "f" else 8)
                     for x in (a, b))
        tol = 2e-5 if single else 1e-12
        np.testing.assert_allclose(res, ref.astype(res.dtype), rtol=0, atol=tol)


# ----------------------------------------------------------------------------
# shape cases
# ----------------------------------------------------------------------------
_HAND_CASES = [
    # (shape1, shape2, axes)
    ((5,), (3,), None),
    ((3,), (5,), None),
    ((4,), (4,), None),
    ((1,), (5,), None),
    ((5,), (1,), None),
    ((1,), (1,), None),
    ((6,), (2,), 0),
    ((6,), (2,), -1),
    ((6,), (2,), [0]),
    ((6,), (2,), (-1,)),
    ((6,), (2,), np.array([0])),
    ((4, 5), (2, 3), None),
    ((2, 3), (4, 5), None),
    ((4, 5), (2, 3), [0, 1]),
    ((4, 5), (2, 3), [1, 0]),
    ((4, 5), (2, 3), [-1, -2]),
    ((4, 5), (4, 3), 1),
    ((4, 5), (1, 3), 1),
    ((1, 5), (4, 3), 1),          # scipy#21876 in 'same'
    ((1, 100), (7, 10), 1),       # the issue's example
    ((1, 5), (4, 3), None),       # axis 0 requested: SciPy's crop is right
    ((1, 5), (4, 8), None),       # valid: swap on axis 1, multiply on axis 0
    ((1, 8), (4, 5), None),
    ((3, 1, 5), (1, 4, 2), [2]),  # two broadcast batch axes
    ((3, 1, 5), (1, 4, 2), [0, 2]),
    ((3, 1, 5), (1, 4, 2), None),
    ((2, 3, 4), (2, 3, 4), None),
    ((2, 3, 4), (2, 2, 2), (1, 2)),
    ((2, 6, 4), (1, 3, 5), (1,)),
    ((5, 1), (3, 1), None),
    ((5, 1), (3, 1), 1),          # only length-1 axes requested: pure multiply
    ((1, 1), (1, 1), None),
    ((2, 2), (3, 3), None),
    ((4, 2), (2, 4), None),       # valid: neither is larger -> error
    ((4, 2), (2, 4), 0),
    ((4, 2), (3, 4), 0),          # incompatible non-convolved axis
    ((4, 5), (2, 5), 0),
    ((7, 3, 1), (2, 3, 6), (0,)),
]


def _random_cases(n, seed=1234):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        nd = int(rng.integers(1, 4))
        s1 = [int(rng.integers(1, 6)) for _ in range(nd)]
        s2 = [int(rng.integers(1, 6)) for _ in range(nd)]
        kind = rng.integers(0, 4)
        if kind == 0:
            axes = None
        else:
            k = int(rng.integers(1, nd + 1))
            axes = [int(a) for a in rng.permutation(nd)[:k]]
            # batch axes: broadcastable (or occasionally not)
            for ax in range(nd):
                if ax not in axes and rng.random() < 0.85:
                    r = rng.random()
                    if r < 0.4:
                        s2[ax] = s1[ax]
                    elif r < 0.7:
                        s1[ax] = 1
                    else:
                        s2[ax] = 1
            if rng.random() < 0.3:
                axes = [a - nd for a in axes]
            if kind == 2 and len(axes) == 1:
                axes = axes[0]
        out.append((tuple(s1), tuple(s2), axes))
    return out


_CASES = _HAND_CASES + _random_cases(150)


def _case_id(c):
    s1, s2, axes = c
    return f"{s1}x{s2}-ax{axes if not isinstance(axes, np.ndarray) else list(axes)}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", _CASES, ids=_case_id)
def test_conv_matches_scipy(case, mode):
    s1, s2, axes = case
    rng = np.random.default_rng(_seed(s1, s2, mode))
    cplx = rng.random() < 0.3
    a = _rand(s1, np.complex128 if cplx else np.float64, rng)
    b = _rand(s2, np.float64, rng)
    got = _outcome(lambda: conv_spec(a.shape, a.dtype, b.shape, b.dtype, mode, axes))
    ref = _outcome(lambda: ss.fftconvolve(a, b, mode=mode, axes=axes))
    if ref[0] == "err":
        assert got[0] == "err", f"spec accepted, SciPy raised {ref[1].__name__}: {ref[2]}"
        assert got[1:] == ref[1:]
        return
    assert got[0] == "ok", got
    spec = got[1]
    _check_against_scipy(spec, a, b, ref[1])
    assert not spec.correlate and not spec.flip_axes and not spec.conj2
    if spec.swapped:
        assert mode == "valid"
        assert (spec.shape1, spec.shape2) == (s2, s1)
    else:
        assert (spec.shape1, spec.shape2) == (s1, s2)
    if axes is None:
        assert not scipy_same_truncates(spec)


_CORR_CASES = [c for c in _CASES if c[2] is None] + [
    ((5,), (8,), None), ((2, 9), (3, 4), None), ((3, 3), (3, 3), None),
    ((1, 7), (3, 2), None), ((4, 1), (2, 6), None),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", _CORR_CASES, ids=_case_id)
@pytest.mark.parametrize("dtypes", [("f8", "f8"), ("c16", "f8"), ("f8", "c16"), ("c16", "c16")])
def test_correlate_matches_scipy(case, mode, dtypes):
    s1, s2, _ = case
    rng = np.random.default_rng(_seed(s1, s2, mode, dtypes))
    a = _rand(s1, dtypes[0], rng)
    b = _rand(s2, dtypes[1], rng)
    got = _outcome(lambda: correlate_spec(a.shape, a.dtype, b.shape, b.dtype, mode))
    ref = _outcome(lambda: ss.correlate(a, b, mode=mode, method="fft"))
    if ref[0] == "err":
        assert got[0] == "err", f"spec accepted, SciPy raised {ref[1].__name__}: {ref[2]}"
        assert got[1:] == ref[1:]
        return
    assert got[0] == "ok", got
    spec = got[1]
    assert spec.correlate and spec.flip_axes == tuple(range(len(s1)))
    assert spec.conj2 == (b.dtype.kind == "c")
    _check_against_scipy(spec, a, b, ref[1])
    assert not scipy_same_truncates(spec)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dt1,dt2", [("i2", "i2"), ("u1", "i8"), ("i4", "f4"), ("f2", "f2"),
                                     ("f4", "c8"), ("u8", "i8"), ("f2", "c8")])
def test_mixed_dtype_windows(dt1, dt2, mode):
    rng = np.random.default_rng(7)
    for s1, s2, axes in [((6, 4), (3, 2), None), ((2, 7), (1, 3), None), ((3, 5), (4, 9), None)]:
        a, b = _rand(s1, dt1, rng), _rand(s2, dt2, rng)
        for spec_fn, sc_fn in [
            (conv_spec, lambda: ss.fftconvolve(a, b, mode=mode, axes=axes)),
            (correlate_spec, lambda: ss.correlate(a, b, mode=mode, method="fft")),
        ]:
            ref = _outcome(sc_fn)
            if ref[0] == "err":
                _assert_same_error(sc_fn, lambda: spec_fn(s1, a.dtype, s2, b.dtype, mode, axes))
                continue
            spec = spec_fn(s1, a.dtype, s2, b.dtype, mode, axes)
            _check_against_scipy(spec, a, b, ref[1])


# ----------------------------------------------------------------------------
# dtypes
# ----------------------------------------------------------------------------
_EXPECTED_FFT = {  # per-input FFT precision (documented table)
    "b": "f8", "i": "f8", "u": "f8", "e": "f4", "f": "f4", "d": "f8", "F": "c8", "D": "c16",
}


def test_dtype_table_vs_scipy():
    a1 = np.ones(4)
    a2 = np.ones(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for d1, d2 in itertools.product(DTYPES, DTYPES):
            x, y = a1.astype(d1), a2.astype(d2)
            r = ss.fftconvolve(x, y)
            assert result_dtype(d1, d2) == r.dtype, (d1, d2)
            assert conv_spec(x.shape, d1, y.shape, d2).dtype == r.dtype
            c = ss.correlate(x, y, method="fft")
            assert correlate_result_dtype(d1, d2) == c.dtype, (d1, d2)
            assert correlate_spec(x.shape, d1, y.shape, d2).dtype == c.dtype
            # 0-d: in1 * in2
            r0 = ss.fftconvolve(np.ones((), d1), np.ones((), d2))
            s0 = conv_spec((), d1, (), d2)
            assert s0.trivial == "multiply" and s0.out_shape == np.shape(r0) == ()
            assert s0.dtype == r0.dtype
            c0 = ss.correlate(np.ones((), d1), np.ones((), d2))
            t0 = correlate_spec((), d1, (), d2)
            assert t0.trivial == "multiply" and t0.dtype == c0.dtype
            assert t0.conj2 == (d2.kind == "c")


def test_dtype_table_rule():
    for d1, d2 in itertools.product(DTYPES, DTYPES):
        k1 = _EXPECTED_FFT.get(d1.kind) if d1.kind in "biu" else _EXPECTED_FFT[d1.char]
        k2 = _EXPECTED_FFT.get(d2.kind) if d2.kind in "biu" else _EXPECTED_FFT[d2.char]
        assert result_dtype(d1, d2) == np.result_type(k1, k2)
    assert result_dtype("f2", "f2") == np.float32
    assert result_dtype("i1", "f4") == np.float64
    assert result_dtype("f2", "c8") == np.complex64
    assert result_dtype("f8", "c8") == np.complex128
    assert result_dtype(bool, "c8") == np.complex128


def test_byteorder_normalised():
    for d in (">f4", ">f8", ">c8", ">i2"):
        x = np.ones(3, d)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = ss.fftconvolve(x, x)
            c = ss.correlate(x, x, method="fft")
        s = conv_spec(x.shape, x.dtype, x.shape, x.dtype)
        t = correlate_spec(x.shape, x.dtype, x.shape, x.dtype)
        assert s.dtype == r.dtype and s.dtype.isnative
        assert t.dtype == c.dtype and t.dtype.isnative


@pytest.mark.parametrize("dt", [np.longdouble, np.clongdouble])
def test_longdouble_rejected(dt):
    if np.dtype(dt).itemsize <= np.dtype(np.complex128 if np.dtype(dt).kind == "c" else np.float64).itemsize:
        pytest.skip("long double is double on this platform")
    with pytest.raises(TypeError, match="long double"):
        conv_spec((4,), dt, (3,), "f8")
    with pytest.raises(TypeError, match="long double"):
        correlate_spec((4,), "f8", (3,), dt)
    with pytest.raises(TypeError, match="long double"):
        result_dtype(dt, "f4")
    with pytest.raises(TypeError, match="long double"):
        conv_spec((), dt, (), "f8")


@pytest.mark.parametrize("dt", [object, "U3", "S3", "datetime64[s]", "timedelta64[s]",
                                [("a", "f8")]])
def test_unsupported_dtype_rejected(dt):
    with pytest.raises(TypeError, match="unsupported dtype"):
        conv_spec((4,), dt, (3,), "f8")
    with pytest.raises(TypeError, match="unsupported dtype"):
        correlate_spec((4,), "f8", (3,), dt)
    with pytest.raises(TypeError, match="unsupported dtype"):
        conv_spec((), dt, (), "f8")
    with pytest.raises(TypeError, match="unsupported dtype"):
        conv_spec((0,), dt, (3,), "f8")


def test_void_dtype_scipy_message():
    v = np.zeros(5, "V4")
    f = np.ones(3)
    _assert_same_error(lambda: ss.fftconvolve(v, f),
                       lambda: conv_spec(v.shape, v.dtype, f.shape, f.dtype))
    _assert_same_error(lambda: ss.fftconvolve(f, v, mode="bogus"),
                       lambda: conv_spec(f.shape, f.dtype, v.shape, v.dtype, "bogus"))
    _assert_same_error(lambda: ss.correlate(v, f, method="fft"),
                       lambda: correlate_spec(v.shape, v.dtype, f.shape, f.dtype))


def test_dtype_checked_after_scipy_checks():
    # SciPy's shape/axes/mode errors win over our dtype rejection
    ld = np.longdouble
    a, b = np.ones((3, 4), ld), np.ones((2,), ld)
    _assert_same_error(lambda: ss.fftconvolve(a, b), lambda: conv_spec(a.shape, ld, b.shape, ld))
    a, b = np.ones(4, ld), np.ones(3, ld)
    _assert_same_error(lambda: ss.fftconvolve(a, b, "bogus"),
                       lambda: conv_spec(a.shape, ld, b.shape, ld, "bogus"))
    _assert_same_error(lambda: ss.fftconvolve(a, b, axes=3),
                       lambda: conv_spec(a.shape, ld, b.shape, ld, axes=3))
    _assert_same_error(lambda: ss.correlate(a, b, "bogus"),
                       lambda: correlate_spec(a.shape, ld, b.shape, ld, "bogus"))


# ----------------------------------------------------------------------------
# error paths: type and message equal to SciPy's
# ----------------------------------------------------------------------------
_CONV_ERRORS = [
    # (shape1, shape2, mode, axes)
    ((3,), (3, 1), "full", None),             # dimensionality
    ((3, 1), (3,), "bogus", 5),               # dimensionality wins
    ((), (3,), "full", None),
    ((4,), (3,), "bogus", None),              # mode (checked last)
    ((4,), (3,), "FULL", None),
    ((4,), (3,), 1, None),
    ((4,), (3,), None, None),
    ((4,), (3,), ["full"], None),
    ((4, 3), (1, 3), "bogus", 0),             # mode with no FFT axis
    ((4,), (3,), "full", 1),                  # axes out of range
    ((4,), (3,), "full", -2),
    ((4, 5), (3, 2), "full", [0, 2]),
    ((4, 5), (3, 2), "bogus", [0, 2]),        # axes before mode
    ((4, 5), (3, 2), "full", [0, 0]),         # repeated
    ((4, 5), (3, 2), "full", [1, -1]),
    ((4, 5), (3, 2), "full", [-1, -1, 0]),
    ((4, 5), (3, 2), "full", 1.5),            # non-integer
    ((4, 5), (3, 2), "full", [0, 1.0]),
    ((4, 5), (3, 2), "full", "a"),
    ((4, 5), (3, 2), "full", [[0]]),
    ((4, 5), (3, 2), "full", np.array(1)),
    ((4, 5), (3, 2), "full", [0, None]),
    ((4, 5), (3, 2), "full", []),             # empty axes
    ((4, 5), (3, 2), "same", ()),
    ((4, 5), (3, 2), "full", np.array([], int)),
    ((4, 5), (3, 2), "full", 0),              # incompatible non-convolved axis
    ((4, 5), (3, 2), "bogus", 0),
    ((4, 5, 2), (3, 5, 3), "same", [0, 1]),
    ((4, 2), (2, 4), "valid", None),          # valid rule
    ((4, 2, 3), (2, 4, 3), "valid", [0, 1]),
    ((4, 2, 3), (2, 4, 3), "valid", [-3, 1, 2]),
]


@pytest.mark.parametrize("case", _CONV_ERRORS, ids=lambda c: f"{c[0]}x{c[1]}-{c[2]!r}-{c[3]!r}")
def test_conv_errors(case):
    s1, s2, mode, axes = case
    a, b = np.ones(s1), np.ones(s2)
    _assert_same_error(lambda: ss.fftconvolve(a, b, mode=mode, axes=axes),
                       lambda: conv_spec(s1, a.dtype, s2, b.dtype, mode, axes))


_CORR_ERRORS = [
    # (shape1, shape2, mode)
    ((3,), (3, 1), "full"),
    ((3, 1), (3,), "bogus"),        # dimensionality first
    ((3,), (), "full"),
    ((4,), (3,), "bogus"),          # correlate's own message
    ((4,), (3,), "FULL"),
    ((4,), (3,), 2),
    ((4,), (3,), None),
    ((4,), (3,), ["full"]),         # unhashable: TypeError like SciPy's dict lookup
    ((0,), (3,), "bogus"),          # mode checked before the empty shortcut
    ((4, 2), (2, 4), "valid"),
    ((1, 8), (4, 5), "valid"),      # convolve() checks all axes (fftconvolve would not)
    ((5, 1), (3, 4), "valid"),
    ((0, 3), (2, 2), "valid"),      # ... even before the empty shortcut
]


@pytest.mark.parametrize("case", _CORR_ERRORS, ids=lambda c: f"{c[0]}x{c[1]}-{c[2]!r}")
def test_correlate_errors(case):
    s1, s2, mode = case
    a, b = np.ones(s1), np.ones(s2)
    _assert_same_error(lambda: ss.correlate(a, b, mode=mode, method="fft"),
                       lambda: correlate_spec(s1, a.dtype, s2, b.dtype, mode))


def test_fftconvolve_vs_correlate_valid_leniency():
    # fftconvolve ignores length-1 axes for the 'valid' rule, correlate does not
    s = conv_spec((1, 8), "f8", (4, 5), "f8", "valid")
    r = ss.fftconvolve(np.ones((1, 8)), np.ones((4, 5)), "valid")
    assert s.out_shape == r.shape == (4, 4)
    with pytest.raises(ValueError, match="For 'valid' mode"):
        correlate_spec((1, 8), "f8", (4, 5), "f8", "valid")


def test_correlate_explicit_axes_errors():
    # our extension: SciPy's messages for axes problems
    with pytest.raises(ValueError, match="^axes exceeds dimensionality of input$"):
        correlate_spec((4, 5), "f8", (2, 5), "f8", axes=2)
    with pytest.raises(ValueError, match="^when provided, axes cannot be empty$"):
        correlate_spec((4, 5), "f8", (2, 5), "f8", axes=[])
    with pytest.raises(ValueError, match="^incompatible shapes for in1 and in2"):
        correlate_spec((4, 5), "f8", (2, 3), "f8", axes=0)
    # the valid rule is checked over the requested axes only
    s = correlate_spec((4, 1), "f8", (2, 5), "f8", "valid", axes=0)
    assert s.out_shape == (3, 5) and s.flip_axes == (0,) and not s.swapped
    with pytest.raises(ValueError, match="For 'valid' mode"):
        correlate_spec((4, 1), "f8", (2, 5), "f8", "valid", axes=[0, 1])


def test_correlate_explicit_axes_values():
    rng = np.random.default_rng(3)
    a = _rand((3, 7, 1), np.complex128, rng)
    b = _rand((3, 4, 5), np.complex128, rng)
    for mode in MODES:
        s = correlate_spec(a.shape, a.dtype, b.shape, b.dtype, mode, axes=-2)
        assert s.axes == (1,) and s.flip_axes == (1,) and s.batch_axes == (0, 2)
        # reference: per batch entry, 1-D SciPy correlate
        out = np.empty(s.out_shape, s.dtype)
        for i, k in itertools.product(range(3), range(5)):
            out[i, :, k] = ss.correlate(a[i, :, 0], b[i, :, k], mode=mode, method="fft")
        full = _full_reference(s, a, b)
        np.testing.assert_allclose(full[s.out_slices], out, atol=1e-12, rtol=0)


# ----------------------------------------------------------------------------
# trivial cases and SciPy's check order
# ----------------------------------------------------------------------------
def test_zero_d_skips_all_checks():
    a, b = np.array(2.0), np.array(3 + 1j)
    for mode, axes in [("bogus", None), ("full", 5), ("valid", [0, 0]), ("same", 1.5)]:
        r = ss.fftconvolve(a, b, mode=mode, axes=axes)
        s = conv_spec((), a.dtype, (), b.dtype, mode, axes)
        assert s.trivial == "multiply" and s.out_shape == np.shape(r) and s.dtype == r.dtype
    c = ss.correlate(a, b, mode="bogus")
    t = correlate_spec((), a.dtype, (), b.dtype, "bogus")
    assert t.trivial == "multiply" and t.dtype == c.dtype and t.conj2
    assert c == a * np.conj(b)


@pytest.mark.parametrize("s1,s2", [((0,), (3,)), ((3,), (0,)), ((0,), (0,)),
                                   ((2, 0), (3, 4)), ((0, 3), (2, 2)), ((5, 1, 0), (1, 2, 3))])
@pytest.mark.parametrize("mode", MODES + ("bogus",))
def test_empty_inputs(s1, s2, mode):
    for axes in (None, 7, [0, 0], "x"):  # SciPy checks nothing for empty inputs
        r = ss.fftconvolve(np.ones(s1, "f4"), np.ones(s2, "i2"), mode=mode, axes=axes)
        s = conv_spec(s1, "f4", s2, "i2", mode, axes)
        assert s.trivial == "empty"
        assert s.out_shape == r.shape == (0,)
        assert s.dtype == r.dtype == np.float64
        assert (s.shape1, s.shape2) == (s1, s2)
    # correlate: SciPy raises IndexError (its NaN check); we return an empty result
    ref = _outcome(lambda: ss.correlate(np.ones(s1, "f4"), np.ones(s2, "i2"), mode, "fft"))
    got = _outcome(lambda: correlate_spec(s1, "f4", s2, "i2", mode))
    if ref[0] == "err" and ref[1] is IndexError:
        assert got[0] == "ok"
        t = got[1]
        assert t.trivial == "empty" and t.out_shape == (0,) and t.dtype == np.float32
        assert t.deviations
    else:
        assert ref[0] == "err" and got[1:] == ref[1:]


def test_length_one_axes_dropped():
    s = conv_spec((1, 6, 1), "f4", (3, 2, 1), "f4")
    assert s.axes == (1,) and s.requested_axes == (0, 1, 2)
    assert s.mul_axes == (0, 2) and s.batch_axes == (0, 2)
    assert s.windows == ((0, 7),)
    assert s.batch_shape == (3, 1)
    s = conv_spec((5, 1), "f4", (1, 1), "f4", "same", axes=1)
    assert s.axes == () and s.windows == () and s.mul_axes == (1,)
    r = ss.fftconvolve(np.ones((5, 1)), np.ones((1, 1)), "same", axes=1)
    assert s.out_shape == r.shape


def test_same_mode_centering():
    # SciPy's _centered: start = (full - in1) // 2
    for n1, n2 in [(5, 3), (5, 4), (3, 5), (4, 6), (1, 4), (6, 1), (7, 7)]:
        s = conv_spec((n1,), "f8", (n2,), "f8", "same")
        full = n1 + n2 - 1 if (n1 != 1 and n2 != 1) else max(n1, n2)
        assert s.all_windows == (((full - n1) // 2, n1),)
        x = np.arange(1.0, n1 + 1)
        y = np.arange(1.0, n2 + 1) ** 2
        r = ss.fftconvolve(x, y, "same")
        f = np.convolve(x, y)
        st, ln = s.all_windows[0]
        np.testing.assert_allclose(r, f[st:st + ln], atol=1e-9)


def test_valid_swap():
    s = conv_spec((3, 4), "f8", (5, 9), "f8", "valid")
    assert s.swapped and s.shape1 == (5, 9) and s.shape2 == (3, 4)
    assert s.out_shape == (3, 6) and s.windows == ((2, 3), (3, 6))
    for mode in ("full", "same"):
        assert not conv_spec((3, 4), "f8", (5, 9), "f8", mode).swapped
    t = correlate_spec((3, 4), "f8", (5, 9), "f8", "valid")
    assert t.swapped and t.out_shape == (3, 6)


def test_scipy_same_truncates_issue_21876():
    x = np.arange(100.0).reshape(1, 100)
    k = np.arange(70.0).reshape(7, 10)
    r = ss.fftconvolve(x, k, mode="same", axes=1)
    s = conv_spec(x.shape, x.dtype, k.shape, k.dtype, "same", axes=1)
    assert r.shape == (1, 100) == s.scipy_out_shape
    assert s.out_shape == (7, 100)
    assert scipy_same_truncates(s) and s.deviations
    ours = _full_reference(s, x, k)[s.out_slices]
    np.testing.assert_allclose(ours[3:4], r, atol=1e-9)  # SciPy keeps entry (7-1)//2
    for b in range(7):  # each batch row is a 1-D 'same' convolution
        np.testing.assert_allclose(ours[b], ss.fftconvolve(x[0], k[b], "same"), atol=1e-9)
    # not with axes=None, nor full/valid, nor when in2 is the length-1 side
    assert not scipy_same_truncates(conv_spec(x.shape, "f8", k.shape, "f8", "same"))
    assert not scipy_same_truncates(conv_spec(x.shape, "f8", k.shape, "f8", "full", 1))
    assert not scipy_same_truncates(conv_spec(x.shape, "f8", k.shape, "f8", "valid", 1))
    assert not scipy_same_truncates(conv_spec(k.shape, "f8", x.shape, "f8", "same", 1))


def test_argument_forms_and_cache():
    a = conv_spec([np.int64(4), 5], np.float32, (1, 3), "float32", np.str_("same"), [np.int64(-1)])
    b = conv_spec((4, 5), "f4", (1, 3), np.dtype("f4"), "same", -1)
    assert a == b and a.mode == "same" and type(a.mode) is str
    assert all(type(n) is int for n in a.out_shape + a.shape1)
    # cache keys must not let equal-but-invalid arguments through
    conv_spec((4, 5), "f4", (4, 3), "f4", "full", 1)
    with pytest.raises(ValueError, match="integers"):
        conv_spec((4, 5), "f4", (4, 3), "f4", "full", 1.0)
    with pytest.raises(ValueError, match="integers"):
        conv_spec((4, 5), "f4", (4, 3), "f4", "full", [1.0])
    assert conv_spec((4, 5), "f4", (4, 3), "f4", "full", True).axes == (1,)  # SciPy: index(True)
    with pytest.raises(ValueError, match="negative"):
        conv_spec((-1,), "f4", (3,), "f4")
    s = conv_spec((4, 5), "f4", (2, 3), "f4")
    with pytest.raises(Exception):
        s.mode = "valid"  # frozen
    hash(s)
