"""python -m fftconv_cupy.cli"""
from . import main

main(prog_name="fftconv-cli")
