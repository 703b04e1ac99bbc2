"""ConvSpec: the first stage of the pipeline.

:func:`conv_spec` and :func:`correlate_spec` validate the *shapes and dtypes*
of two inputs exactly like ``scipy.signal.fftconvolve`` and
``scipy.signal.correlate(..., method='fft')`` do (same exception types, same
messages, same order of checks), and describe the problem for the planner.
No array data is touched, so NumPy and CuPy inputs are served alike; nothing
here imports CuPy.

The recipe a :class:`ConvSpec` describes (non-trivial case)::

    A, B = operands          # conv: (in1, in2); correlate: (in1, reverse_conj(in2))
    F = full linear convolution of A and B along spec.axes, broadcasting
        (elementwise multiply) along every other axis      -> shape spec.full_shape
    result = F[spec.out_slices].astype(spec.dtype)       (rounded first if spec.round_result)

``spec.windows`` is the same slice restricted to the convolved axes
``spec.axes``: per axis ``(start, length)`` into the full linear convolution of
length ``shape1[a] + shape2[a] - 1``.

SciPy quirks reproduced here (see also the module-level notes below):

* ``fftconvolve`` checks ``mode`` only at the very end, after the shape checks
  (and not at all for 0-d or empty inputs); its message is lower-case without a
  final period: ``"acceptable mode flags are 'valid', 'same', or 'full'"``.
  ``correlate`` checks it right after the dimensionality check, with
  ``"Acceptable mode flags are 'valid', 'same', or 'full'."``.
* 0-d inputs: the result is ``in1 * in2`` (``in1 * conj(in2)`` for correlate),
  dtype ``np.result_type(in1, in2)``, without any mode/axes check.
* Empty inputs (``fftconvolve``): SciPy returns ``np.asarray([])``, i.e. shape
  ``(0,)`` dtype float64, whatever the inputs' shapes/dtypes/mode/axes.
* Axes where an input has length 1 are not convolved but multiplied
  (broadcast); they are dropped from ``axes`` like ``_init_freq_conv_axes``
  does.  In 'same' mode such a *requested* axis is still cropped to in1's
  length (true 'same' convolution semantics, as SciPy does).
* 'valid' mode: ``fftconvolve`` checks "one at least as large as the other"
  only on the convolved axes (length-1 axes excluded); ``correlate`` (through
  ``convolve``) checks it on *all* axes first, so it is stricter.
* ``correlate`` casts the FFT result back to ``np.result_type(in1, in2)``
  (rounding first when that is an integer or bool type; bool results become
  ``round(value) != 0``, the exact result of SciPy's default method, which
  correlates bools directly; its ``method="fft"`` compares the unrounded value).
  (SciPy also warns when the first output element is NaN/inf; that warning is
  not reproduced.)

Deliberate differences from SciPy (listed per spec in ``spec.deviations``):

* 'same' mode and broadcast batch axes (scipy/scipy#21876): SciPy crops the
  result to ``in1.shape`` on *every* axis, so on an axis the caller did not ask
  to convolve, where in1 has length 1 and in2 has length n > 1, SciPy keeps only
  the single batch entry ``(n - 1) // 2`` and drops the others.  We return the
  broadcast batch length n instead.  This can only happen with explicit
  ``axes`` (with ``axes=None`` every axis is a convolution axis).  See
  :func:`scipy_same_truncates` and ``spec.scipy_out_shape``.
* ``scipy.signal.correlate(method='fft')`` on empty inputs raises
  ``IndexError`` (its NaN check indexes element 0 of the empty result); we
  return the empty result SciPy evidently intends: shape ``(0,)``, dtype
  ``np.result_type(in1, in2)``.
* ``correlate_spec`` accepts ``axes`` (SciPy's ``correlate`` has none;
  ``axes=None`` is SciPy's behaviour).  With explicit axes, in2 is reversed and
  conjugated along the requested axes only (SciPy reverses all axes), the
  'valid' size rule is checked over the requested axes, and axes are validated
  before the empty-input shortcut.
* dtypes: only bool, int8..int64, uint8..uint64, float16, float32, float64,
  complex64 and complex128 are accepted.  long double / complex long double
  raise ``TypeError`` (SciPy computes them on the CPU; GPUs have no such
  arithmetic).  Object, string, datetime, timedelta and structured dtypes raise
  ``TypeError`` (SciPy converts their *values* to float64 and succeeds or fails
  depending on the data).  Plain void dtypes raise SciPy's own
  ``ValueError('setting an array element with a sequence.')`` when there is
  an axis to transform (``TypeError`` otherwise).  The dtype
  checks come after all of SciPy's own checks, so an input SciPy rejects for
  its shape/axes/mode is rejected with SciPy's message first.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import lru_cache
from math import prod
from numbers import Number

import numpy as np

__all__ = [
    "ConvSpec",
    "conv_spec",
    "correlate_spec",
    "result_dtype",
    "correlate_result_dtype",
    "scipy_same_truncates",
    "SUPPORTED_DTYPES",
]

_MODEDICT = {"valid": 0, "same": 1, "full": 2}

SUPPORTED_DTYPES = tuple(
    np.dtype(t)
    for t in (
        "bool", "int8", "int16", "int32", "int64",
        "uint8", "uint16", "uint32", "uint64",
        "float16", "float32", "float64", "complex64", "complex128",
    )
)
_SUPPORTED = frozenset(SUPPORTED_DTYPES)
_F4, _F8 = np.dtype(np.float32), np.dtype(np.float64)

# SciPy's messages, verbatim.
_MSG_NDIM = "in1 and in2 should have the same dimensionality"
_MSG_MODE_FFTCONVOLVE = "acceptable mode flags are 'valid', 'same', or 'full'"
_MSG_MODE_CORRELATE = "Acceptable mode flags are 'valid', 'same', or 'full'."
_MSG_AXES_TYPE = "axes must be a scalar or iterable of integers"
_MSG_AXES_RANGE = "axes exceeds dimensionality of input"
_MSG_AXES_UNIQUE = "all axes must be unique"
_MSG_AXES_EMPTY = "when provided, axes cannot be empty"
_MSG_VALID = ("For 'valid' mode, one must be at least "
              "as large as the other in every dimension")
_MSG_VOID = "setting an array element with a sequence."

_DEV_SAME = ("'same' mode keeps the broadcast batch length where in1 has length 1 "
             "on a non-convolved axis; SciPy crops it to 1 (scipy/scipy#21876)")
_DEV_CORR_EMPTY = ("scipy.signal.correlate(method='fft') raises IndexError on empty "
                   "inputs; we return an empty result")


@dataclass(frozen=True)
class ConvSpec:
    """Shape/dtype description of one convolution or correlation.

    Operand shapes ``shape1``/``shape2`` are those SciPy convolves, after its
    'valid'-mode swap (``swapped``).  For a correlation the operands are
    ``in1`` and ``reverse_conj(in2)`` (reversed along ``flip_axes``, conjugated
    if ``conj2``), and the swap, if any, exchanges those two.

    For ``trivial`` specs only ``shape1``, ``shape2``, ``dtype``, ``out_shape``,
    ``trivial`` (and ``conj2`` for correlate) are meaningful; the axis fields
    are empty:

    * ``'multiply'``: both inputs are 0-d; the result is ``in1 * in2``
      (``in1 * conj(in2)`` for correlate), shape ``()``, dtype
      ``np.result_type``.  (SciPy returns a NumPy scalar here.)
    * ``'empty'``: an input has size 0; SciPy returns ``asarray([])``: shape
      ``out_shape == (0,)``, dtype ``dtype`` (float64 for fftconvolve).
    """

    shape1: tuple[int, ...]
    shape2: tuple[int, ...]
    swapped: bool
    axes: tuple[int, ...]
    """Convolved axes (sorted, non-negative); length-1 axes are multiplied, not listed."""
    mode: str
    dtype: np.dtype
    """Result dtype, exactly what SciPy returns."""
    out_shape: tuple[int, ...]
    windows: tuple[tuple[int, int], ...]
    """Per axis of ``axes``: ``(start, length)`` into the full linear convolution."""
    trivial: str | None
    # -- extra description --------------------------------------------------
    ndim: int
    requested_axes: tuple[int, ...]
    """Axes the caller asked for (normalised, sorted); all axes for ``axes=None``."""
    full_shape: tuple[int, ...]
    """Shape of the full result: ``shape1[a]+shape2[a]-1`` on ``axes``, the broadcast length elsewhere."""
    all_windows: tuple[tuple[int, int], ...]
    """``(start, length)`` into ``full_shape`` for every axis; lengths give ``out_shape``."""
    fft_dtype: np.dtype
    """Precision the FFT works in (= fftconvolve's result dtype)."""
    round_result: bool
    """Round before the final cast (correlate with an integer result dtype)."""
    correlate: bool
    flip_axes: tuple[int, ...]
    """Axes along which in2 is reversed (correlate only)."""
    conj2: bool
    """in2 is conjugated (correlate with complex in2)."""
    scipy_out_shape: tuple[int, ...]
    """The shape SciPy returns (differs from ``out_shape`` only for the #21876 case)."""
    deviations: tuple[str, ...] = ()
    """Human-readable list of deliberate differences from SciPy for this spec."""

    # -- convenience ----------------------------------------------------------
    @property
    def batch_axes(self) -> tuple[int, ...]:
        """Axes not convolved (multiplied / broadcast), in order."""
        if self.trivial:
            return ()
        conv = set(self.axes)
        return tuple(a for a in range(self.ndim) if a not in conv)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Broadcast shape (``max(shape1[a], shape2[a])``) of the non-convolved axes."""
        return tuple(self.full_shape[a] for a in self.batch_axes)

    @property
    def mul_axes(self) -> tuple[int, ...]:
        """Requested axes SciPy only multiplies along because an input has length 1 there."""
        conv = set(self.axes)
        return tuple(a for a in self.requested_axes if a not in conv)

    @property
    def full_lengths(self) -> tuple[int, ...]:
        """Full linear-convolution length per axis of ``axes``."""
        return tuple(self.full_shape[a] for a in self.axes)

    @property
    def out_slices(self) -> tuple[slice, ...]:
        """``full[out_slices]`` is the result (non-trivial specs)."""
        return tuple(slice(s, s + n) for s, n in self.all_windows)

    @property
    def is_complex(self) -> bool:
        return self.fft_dtype.kind == "c"

    @property
    def size(self) -> int:
        return prod(self.out_shape)


def scipy_same_truncates(spec: ConvSpec) -> bool:
    """True where SciPy's 'same' mode would drop broadcast batch entries (scipy#21876).

    Then SciPy returns ``spec.scipy_out_shape`` instead of ``spec.out_shape``:
    along each affected axis it keeps only entry ``(n - 1) // 2`` of our result.
    """
    return spec.scipy_out_shape != spec.out_shape


# ----------------------------------------------------------------------------
# dtypes
# ----------------------------------------------------------------------------
def _fft_dtype_of(dt: np.dtype) -> np.dtype:
    # scipy.fft's _asfarray: float16 -> float32, non-float/complex -> float64;
    # fftconvolve also casts integers to float64.
    if dt.kind == "f":
        return _F4 if dt.itemsize <= 4 else _F8
    if dt.kind == "c":
        return dt.newbyteorder("=")
    return _F8


def _check_gpu_dtype(dt: np.dtype) -> None:
    if dt.newbyteorder("=") in _SUPPORTED:
        return
    if dt.char in "gG":
        raise TypeError(
            f"dtype {dt} (extended precision long double) is not supported: "
            "scipy.signal computes it on the CPU, but GPUs have no long double "
            "arithmetic; cast the inputs to float64/complex128 first")
    raise TypeError(
        f"unsupported dtype {dt} for FFT convolution on the GPU; supported dtypes "
        "are bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, "
        "float16, float32, float64, complex64 and complex128")


def _check_scipy_void(d1: np.dtype, d2: np.dtype) -> None:
    # SciPy fails converting a plain void array to float64 in its FFT path.
    for dt in (d1, d2):
        if dt.kind == "V" and dt.fields is None:
            raise ValueError(_MSG_VOID)


@lru_cache(maxsize=512)
def _result_dtype(d1: np.dtype, d2: np.dtype) -> np.dtype:
    _check_gpu_dtype(d1)
    _check_gpu_dtype(d2)
    return np.result_type(_fft_dtype_of(d1), _fft_dtype_of(d2)).newbyteorder("=")


@lru_cache(maxsize=512)
def _product_dtype(d1: np.dtype, d2: np.dtype) -> np.dtype:
    _check_gpu_dtype(d1)
    _check_gpu_dtype(d2)
    return np.result_type(d1, d2).newbyteorder("=")


def result_dtype(dtype1, dtype2) -> np.dtype:
    """dtype of ``scipy.signal.fftconvolve`` for non-0-d, non-empty inputs.

    Each input is promoted to its FFT precision (bool/int/uint -> float64,
    float16 -> float32, float32/float64/complex64/complex128 unchanged), then
    the two are combined with ``np.result_type``.  Hence e.g. float16*float16 ->
    float32, int8*float32 -> float64, float16*complex64 -> complex64,
    float64*complex64 -> complex128, int*complex64 -> complex128.
    Raises ``TypeError`` for unsupported dtypes.
    """
    return _result_dtype(np.dtype(dtype1), np.dtype(dtype2))


def correlate_result_dtype(dtype1, dtype2) -> np.dtype:
    """dtype of ``scipy.signal.correlate(..., method='fft')``: ``np.result_type(in1, in2)``."""
    return _product_dtype(np.dtype(dtype1), np.dtype(dtype2))


# ----------------------------------------------------------------------------
# argument normalisation
# ----------------------------------------------------------------------------
class _BadAxes:
    """Hashable marker: ``axes`` failed ``_iterable_of_int`` (error raised later, in SciPy's order)."""

    def __repr__(self):
        return "<bad axes>"


_BAD_AXES = _BadAxes()


def _canon_axes(axes):
    """SciPy's ``_iterable_of_int`` without raising; returns None, tuple[int] or _BAD_AXES."""
    if axes is None:
        return None
    if isinstance(axes, Number):
        axes = (axes,)
    try:
        return tuple([operator.index(a) for a in axes])
    except TypeError:
        return _BAD_AXES


def _canon_shape(shape) -> tuple[int, ...]:
    out = tuple([operator.index(s) for s in shape])
    for s in out:
        if s < 0:
            raise ValueError(f"negative dimensions are not allowed: {out}")
    return out


def _validate_axes(axes, ndim: int) -> list[int]:
    """``_init_nd_shape_and_axes`` for axes given explicitly (user order kept)."""
    if axes is _BAD_AXES:
        raise ValueError(_MSG_AXES_TYPE)
    ax = [a + ndim if a < 0 else a for a in axes]
    if any(a >= ndim or a < 0 for a in ax):
        raise ValueError(_MSG_AXES_RANGE)
    if len(set(ax)) != len(ax):
        raise ValueError(_MSG_AXES_UNIQUE)
    if not ax:
        raise ValueError(_MSG_AXES_EMPTY)
    return ax


def _swap_needed(mode, s1, s2, axes) -> bool:
    """``_inputs_swap_needed``."""
    if mode != "valid":
        return False
    if not s1:
        return False
    ok1 = all(s1[i] >= s2[i] for i in axes)
    ok2 = all(s2[i] >= s1[i] for i in axes)
    if not (ok1 or ok2):
        raise ValueError(_MSG_VALID)
    return not ok1


def _mode_str(mode) -> str:
    try:
        if isinstance(mode, str) and mode in _MODEDICT:
            return str(mode)
    except TypeError:
        pass
    return "full"  # SciPy ignores the mode here (trivial inputs)


def _trivial(kind, s1, s2, mode, dtype, out_shape, *, correlate, conj2=False,
             deviations=()) -> ConvSpec:
    return ConvSpec(
        shape1=s1, shape2=s2, swapped=False, axes=(), mode=_mode_str(mode),
        dtype=dtype, out_shape=out_shape, windows=(), trivial=kind,
        ndim=len(s1), requested_axes=(), full_shape=(), all_windows=(),
        fft_dtype=dtype, round_result=False, correlate=correlate, flip_axes=(),
        conj2=conj2, scipy_out_shape=out_shape, deviations=deviations)


# ----------------------------------------------------------------------------
# core
# ----------------------------------------------------------------------------
def _layout(s1, s2, in1_shape, mode, conv, requested, swapped, *, correlate,
            d1, d2, flip_axes, conj2, deviations) -> ConvSpec:
    """Windows / shapes once SciPy's checks passed.  s1, s2 post-swap; in1_shape pre-swap."""
    nd = len(s1)
    convset = set(conv)
    reqset = set(requested)
    full_shape = tuple(s1[a] + s2[a] - 1 if a in convset else max(s1[a], s2[a])
                       for a in range(nd))
    all_windows = []
    scipy_shape = []
    for a in range(nd):
        full = full_shape[a]
        if mode == "full":
            win = (0, full)
            sc = full
        elif mode == "valid":
            n = s1[a] - s2[a] + 1 if a in convset else full
            win = ((full - n) // 2, n)
            sc = n
        else:  # same: SciPy's _centered(ret, in1.shape) on every axis
            sc = in1_shape[a]
            if a in reqset:
                win = ((full - sc) // 2, sc)
            else:  # batch axis: keep the broadcast length (scipy#21876)
                win = (0, full)
        all_windows.append(win)
        scipy_shape.append(sc)
    out_shape = tuple(n for _, n in all_windows)
    scipy_out_shape = tuple(scipy_shape)
    if scipy_out_shape != out_shape:
        deviations = deviations + (_DEV_SAME,)
    fft_dt = _result_dtype(d1, d2)
    if not conv:
        # no axis left to transform: SciPy only multiplies, in the inputs' own dtype
        fft_dt = _product_dtype(d1, d2)
    if correlate or not conv:
        dtype = _product_dtype(d1, d2)
        # integers, and bools: the exact values are integer counts, so the transform's
        # round-off (~1e-16 relative) must not turn an exact 0 into True
        round_result = dtype.kind in "iub"
    else:
        dtype = fft_dt
        round_result = False
    conv_sorted = tuple(sorted(conv))
    return ConvSpec(
        shape1=s1, shape2=s2, swapped=swapped, axes=conv_sorted,
        mode=str(mode), dtype=dtype, out_shape=out_shape,
        windows=tuple(all_windows[a] for a in conv_sorted), trivial=None,
        ndim=nd, requested_axes=tuple(sorted(requested)), full_shape=full_shape,
        all_windows=tuple(all_windows), fft_dtype=fft_dt, round_result=round_result,
        correlate=correlate, flip_axes=flip_axes, conj2=conj2,
        scipy_out_shape=scipy_out_shape, deviations=deviations)


def _conv_impl(s1, d1, s2, d2, mode, axes) -> ConvSpec:
    """``scipy.signal.fftconvolve``'s checks, in its order."""
    nd = len(s1)
    if nd == len(s2) == 0:
        return _trivial("multiply", s1, s2, mode, _product_dtype(d1, d2), (),
                        correlate=False)
    if nd != len(s2):
        raise ValueError(_MSG_NDIM)
    if prod(s1) == 0 or prod(s2) == 0:
        _check_gpu_dtype(d1)
        _check_gpu_dtype(d2)
        return _trivial("empty", s1, s2, mode, _F8, (0,), correlate=False)

    # _init_freq_conv_axes
    requested = list(range(nd)) if axes is None else _validate_axes(axes, nd)
    conv = [a for a in requested if s1[a] != 1 and s2[a] != 1]
    convset = set(conv)
    if not all(s1[a] == s2[a] or s1[a] == 1 or s2[a] == 1
               for a in range(nd) if a not in convset):
        raise ValueError(f"incompatible shapes for in1 and in2: {s1} and {s2}")
    in1_shape = s1
    swapped = _swap_needed(mode, s1, s2, conv)
    if swapped:
        s1, s2 = s2, s1
    # the FFT (SciPy converts to float here; with no FFT axis it only multiplies) ...
    if conv:
        _check_scipy_void(d1, d2)
    # ... then _apply_conv_mode
    if not (mode == "full" or mode == "same" or mode == "valid"):
        raise ValueError(_MSG_MODE_FFTCONVOLVE)
    return _layout(s1, s2, in1_shape, mode, conv, requested, swapped,
                   correlate=False, d1=d1, d2=d2, flip_axes=(), conj2=False,
                   deviations=())


def _corr_impl(s1, d1, s2, d2, mode, axes) -> ConvSpec:
    """``scipy.signal.correlate(method='fft')`` = ``convolve(in1, reverse_conj(in2))``."""
    nd = len(s1)
    conj2 = d2.kind == "c"
    if nd == len(s2) == 0:
        return _trivial("multiply", s1, s2, mode, _product_dtype(d1, d2), (),
                        correlate=True, conj2=conj2)
    if nd != len(s2):
        raise ValueError(_MSG_NDIM)
    try:
        _MODEDICT[mode]
    except KeyError as e:
        raise ValueError(_MSG_MODE_CORRELATE) from e

    requested = list(range(nd)) if axes is None else _validate_axes(axes, nd)
    # convolve(): swap check over all (requested) axes, length-1 ones included
    in1_shape, in2_shape = s1, s2
    swapped = _swap_needed(mode, s1, s2, requested)
    if swapped:
        s1, s2 = s2, s1
    # fftconvolve(volume, kernel)
    if prod(s1) == 0 or prod(s2) == 0:
        dt = _product_dtype(d1, d2)
        return _trivial("empty", in1_shape, in2_shape, mode, dt, (0,),
                        correlate=True, conj2=conj2, deviations=(_DEV_CORR_EMPTY,))
    conv = [a for a in requested if s1[a] != 1 and s2[a] != 1]
    convset = set(conv)
    if not all(s1[a] == s2[a] or s1[a] == 1 or s2[a] == 1
               for a in range(nd) if a not in convset):
        raise ValueError(f"incompatible shapes for in1 and in2: {s1} and {s2}")
    if _swap_needed(mode, s1, s2, conv):  # never true after the first check
        s1, s2 = s2, s1
        swapped = not swapped
    if conv:
        _check_scipy_void(d1, d2)
    return _layout(s1, s2, in1_shape, mode, conv, requested, swapped,
                   correlate=True, d1=d1, d2=d2, flip_axes=tuple(sorted(requested)),
                   conj2=conj2, deviations=())


_conv_cached = lru_cache(maxsize=2048)(_conv_impl)
_corr_cached = lru_cache(maxsize=2048)(_corr_impl)


def _dispatch(cached, impl, shape1, dtype1, shape2, dtype2, mode, axes):
    s1 = _canon_shape(shape1)
    s2 = _canon_shape(shape2)
    d1 = np.dtype(dtype1)
    d2 = np.dtype(dtype2)
    ax = _canon_axes(axes)
    try:
        hash(mode)
    except TypeError:
        return impl(s1, d1, s2, d2, mode, ax)
    # Only str modes are cached as-is; anything else is an error path anyway.
    return cached(s1, d1, s2, d2, mode, ax)


def conv_spec(shape1, dtype1, shape2, dtype2, mode="full", axes=None) -> ConvSpec:
    """Validate and describe ``scipy.signal.fftconvolve(in1, in2, mode, axes)``.

    ``shape*`` are the input shapes, ``dtype*`` anything ``np.dtype`` accepts.
    Raises the same exceptions as SciPy (type and message); unsupported dtypes
    raise ``TypeError`` after SciPy's own checks.  See the module docstring for
    the deliberate 'same'-mode broadcasting difference (scipy#21876).
    """
    return _dispatch(_conv_cached, _conv_impl, shape1, dtype1, shape2, dtype2,
                     mode, axes)


def correlate_spec(shape1, dtype1, shape2, dtype2, mode="full", axes=None) -> ConvSpec:
    """Validate and describe ``scipy.signal.correlate(in1, in2, mode, method='fft')``.

    That is ``fftconvolve(in1, reverse_conj(in2), mode)`` with ``convolve``'s
    extra checks and its cast of the result to ``np.result_type(in1, in2)``
    (``round_result`` for integer results).  Unlike SciPy this accepts ``axes``
    (``None`` = all axes = SciPy); in2 is reversed along ``flip_axes`` (the
    requested axes) and conjugated if complex (``conj2``).  Empty inputs give an
    empty result where SciPy raises ``IndexError``.
    """
    return _dispatch(_corr_cached, _corr_impl, shape1, dtype1, shape2, dtype2,
                     mode, axes)
