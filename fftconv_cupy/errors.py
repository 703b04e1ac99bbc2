"""Exception types.

Input errors raise the builtin types SciPy raises (ValueError, TypeError) so
code written against ``scipy.signal`` keeps working; the classes below cover
what SciPy has no word for.
"""


class FFTConvError(Exception):
    """Base class of the errors specific to fftconv_cupy."""


class UnsupportedPlanError(FFTConvError, ValueError):
    """The requested plan (size, precision, order, sparsity) is outside the support table."""


class FFTConvCompileError(FFTConvError, RuntimeError):
    """NVRTC rejected a generated kernel.

    Carries the plan description, the compiler log and a numbered excerpt of the
    source around the first reported error line.
    """

    def __init__(self, message, *, plan=None, log="", excerpt=""):
        self.plan = plan
        self.log = log
        self.excerpt = excerpt
        parts = [message]
        if plan is not None:
            parts.append(f"plan: {plan}")
        if log:
            parts.append("NVRTC log:\n" + log.rstrip())
        if excerpt:
            parts.append("source:\n" + excerpt.rstrip())
        super().__init__("\n".join(parts))


class FFTConvLaunchError(FFTConvError, RuntimeError):
    """A kernel launch failed (bad configuration, device fault)."""


class NoDeviceError(FFTConvError, RuntimeError):
    """No CUDA device is available for a GPU-only operation."""
