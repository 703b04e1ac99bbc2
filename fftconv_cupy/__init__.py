"""fftconv_cupy: fused Monarch FFT convolutions for NVIDIA GPUs, SciPy-compatible."""
from ._version import __version__
from .api import FFTConv, causal_conv, correlate, fftconvolve
from .plan.sparsity import Sparsity
from .errors import (FFTConvCompileError, FFTConvError, FFTConvLaunchError, NoDeviceError,
                     UnsupportedPlanError)

__all__ = ["fftconvolve", "correlate", "causal_conv", "FFTConv", "Sparsity", "FFTConvError", "UnsupportedPlanError",
           "FFTConvCompileError", "FFTConvLaunchError", "NoDeviceError", "__version__"]
