"""NVRTC: CUDA C++ source to cubin, without a GPU.

NVRTC is called directly through ``cupy_backends`` rather than through
``cupy.RawModule``: CuPy adds options of its own and keeps its own cache, and
we want both the exact flags and the cache key under our control.
"""

from __future__ import annotations

import functools
import re

from fftconv_cupy.codegen.render import include_dir
from fftconv_cupy.errors import FFTConvCompileError

try:
    from cupy_backends.cuda.libs import nvrtc as _nvrtc
except ImportError:  # CuPy missing: report NVRTC as unavailable instead of failing at import.
    _nvrtc = None

# Numerics flags, spelled out rather than left to NVRTC's defaults or to
# whatever CuPy would add, so they are fixed and part of the cache key. The
# fp32 accuracy target (relative L2 error 1e-6 against float64) leaves no room
# for approximations:
#   -fmad=true       FMA contraction rounds once per multiply-add: more accurate,
#                    not less, and needed for speed in the butterflies.
#   -ftz=false       keep denormals; flushing them loses the tails of small signals.
#   -prec-div=true   IEEE round-to-nearest division (no approximate reciprocal).
#   -prec-sqrt=true  IEEE round-to-nearest square root.
# --use_fast_math is deliberately absent: it would turn on all of the above
# approximations plus fast sin/cos, which break twiddle accuracy.
DEFAULT_OPTIONS: tuple[str, ...] = (
    "--std=c++17",
    "-fmad=true",
    "-ftz=false",
    "-prec-div=true",
    "-prec-sqrt=true",
)

_ARCH_RE = re.compile(r"sm_\d+[af]?")
_EXCERPT_CONTEXT = 5


@functools.cache
def nvrtc_version() -> tuple[int, int] | None:
    """NVRTC's (major, minor), or None when the library cannot be loaded."""
    if _nvrtc is None:
        return None
    try:
        return tuple(_nvrtc.getVersion())
    except Exception:  # The loader raises RuntimeError/OSError variants depending on the build.
        return None


def nvrtc_available() -> bool:
    return nvrtc_version() is not None


@functools.cache
def supported_archs() -> tuple[int, ...]:
    """Compute capabilities NVRTC can target (e.g. ``(75, ..., 90, 100, 120)``); empty if unknown."""
    if _nvrtc is None or not hasattr(_nvrtc, "getSupportedArchs"):
        return ()
    try:
        return tuple(sorted(int(a) for a in _nvrtc.getSupportedArchs()))
    except Exception:
        return ()


def effective_options(options: tuple[str, ...] = ()) -> tuple[str, ...]:
    """DEFAULT_OPTIONS followed by ``options``, duplicates dropped (first kept).

    The compile key sorts the options, so none may depend on its order: one macro defined
    or undefined twice (-D / -U / --define-macro / --undefine-macro), or one flag given two
    values (--fmad=true, -fmad=false), is refused.  Include paths (-I) may repeat; the
    package's own headers are searched first and digested into the key."""
    opts = tuple(dict.fromkeys((*DEFAULT_OPTIONS, *options)))
    seen: dict[str, tuple[str, str]] = {}
    for o in opts:
        setting = _option_setting(o)
        if setting is not None:
            name, value = setting
            first, first_value = seen.setdefault(name, (o, value))
            if first_value != value:
                raise ValueError(f"conflicting NVRTC options {first!r} and {o!r}")
    return opts


def _option_setting(option: str) -> tuple[str, str] | None:
    """(what an option sets, the value it sets): a macro for -D / -U and their long forms
    (an undefine's value is None), a flag for the others (-x and --x alike); None for include
    paths, which may repeat."""
    for prefix, undef in (("--define-macro=", False), ("--undefine-macro=", True),
                          ("-D", False), ("-U", True)):
        if option.startswith(prefix):
            name, _, value = option[len(prefix):].partition("=")
            return "macro " + name, None if undef else value
    if option.startswith(("-I", "--include-path")):
        return None
    name, _, value = option.lstrip("-").partition("=")
    return "flag " + name, value


def source_excerpt(source: str, line: int, context: int = _EXCERPT_CONTEXT) -> str:
    """Lines ``line - context .. line + context`` of ``source``, numbered, with
    the given (1-based) line marked by ``>``."""
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    lo = max(1, line - context)
    hi = min(len(lines), line + context)
    width = len(str(hi))
    return "\n".join(
        f"{'>' if n == line else ' '} {n:>{width}} | {lines[n - 1]}"
        for n in range(lo, hi + 1)
    )


def first_error_line(log: str, name: str) -> int | None:
    """Line of the first error NVRTC reports in the main source ``name``
    (errors inside included headers are skipped: we cannot excerpt them)."""
    pattern = re.compile(rf"^{re.escape(name)}\((\d+)\): (?:\w+ )?error", re.MULTILINE)
    match = pattern.search(log)
    return int(match.group(1)) if match else None


def compile_cubin(
    source: str,
    *,
    name: str = "fftconv.cu",
    options: tuple[str, ...] = (),
    arch: str,
    plan: str | None = None,
) -> bytes:
    """Compile ``source`` to a cubin for ``arch`` (e.g. ``'sm_90'``).

    Raises FFTConvCompileError carrying the plan, the full NVRTC log and a
    numbered excerpt around the first error.
    """
    if not _ARCH_RE.fullmatch(arch):
        raise ValueError(f"arch must look like 'sm_90', got {arch!r}")
    if not nvrtc_available():
        raise FFTConvCompileError(
            "NVRTC could not be loaded; install the 'nvidia-cuda-nvrtc' wheel or a CUDA toolkit",
            plan=plan,
        )
    flags = [f"-arch={arch}", f"-I{include_dir()}", *effective_options(tuple(options))]
    prog = _nvrtc.createProgram(source, name, [], [])
    try:
        try:
            _nvrtc.compileProgram(prog, flags)
        except _nvrtc.NVRTCError as exc:
            log = _program_log(prog)
            line = first_error_line(log, name)
            excerpt = source_excerpt(source, line) if line is not None else ""
            raise FFTConvCompileError(
                f"NVRTC failed to compile {name} for {arch} ({exc})",
                plan=plan,
                log=log,
                excerpt=excerpt,
            ) from exc
        return bytes(_nvrtc.getCUBIN(prog))
    finally:
        _nvrtc.destroyProgram(prog)


def _program_log(prog) -> str:
    try:
        log = _nvrtc.getProgramLog(prog)
    except Exception:  # A missing log must not hide the compile error itself.
        return ""
    return log.decode(errors="replace") if isinstance(log, bytes) else str(log)
