// fftconv_cupy generated kernel: fused real fp32 n=16384 m=8192 [8x8x8x16] x=8192 k=8192 out=[0:8192] sparse=2/8
// Every size below is a compile-time constant of this plan; batch and channel
// counts are launch arguments.
#define FC_FULL_TABLE_BYTES 32768   // larger stage tables hold powers of two only
#include "fftconv/stockham.cuh"

using namespace fc;
using T = float;
using IO = Native<float>;
using XT = IO::raw;           // real samples, packed two per complex point on chip
using HS = coef<T>;           // spectrum: (A, G) per bin, the packed-real product

constexpr int M = 8192;            // complex points of the transform
constexpr int Q = 16384;            // twiddle base
constexpr int LO_BITS = 7;
constexpr int NZ = 4096;          // nonzero input points; the rest is implicit padding
constexpr int LEN_X = 8192;
constexpr int OUT_START = 0;
constexpr int OUT_LEN = 8192;

// Virtual row v is channel-major (v = h * batch + b), so the blocks in flight
// share one channel's spectrum, which stays in L2 across the batch.
__device__ __forceinline__ long long data_row(int v, int batch, int channels, int& h) {
  h = v / batch;
  return (long long)(v - h * batch) * channels + h;
}

// Frequency-sparse plan: classes k mod P of the spectrum that are computed; the
// kept ones first, then the skipped ones, as runs of consecutive classes.
struct Cls {
  static constexpr int P = 8, NK = 2;
  __device__ static __forceinline__ int cls(int i) {
if (i < 1) return 0 + (i - 0);
if (i < 2) return 4 + (i - 1);
if (i < 5) return 1 + (i - 2);
return 5 + (i - 5);
  }
};

constexpr int THREADS = 256;
constexpr int GROUPS = 1;
constexpr int STRIDE = 8705;

extern "C" __global__ void __launch_bounds__(GROUPS * THREADS, 3)
fftconv_fused(const XT* __restrict__ x, XT* __restrict__ y, const HS* __restrict__ hs,
              const cx<T>* __restrict__ twlo, const cx<T>* __restrict__ twhi,
              int rows, int batch, int channels,
              const XT* __restrict__ gpre, const XT* __restrict__ gpost) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int g = threadIdx.x / THREADS, tid = threadIdx.x % THREADS;
  cx<T>* buf = reinterpret_cast<cx<T>*>(smem_raw) + g * STRIDE;
  const int v = blockIdx.x * GROUPS + g;
  const bool active = v < rows;       // idle groups still reach every barrier
  int h = 0;

  const long long row = active ? data_row(v, batch, channels, h) : 0;   // idle groups read row 0
  // the first stage reads the signal row and the last one writes the outputs (no staging)
  constexpr int VPX = 2, VPY = 2;   // whole points per access (0: per sample)
  const XT* xr = x + row * LEN_X;
  XT* yr = y + row * OUT_LEN;
  // in(i): point tid + i - tid of the transform's input, zero outside the signal
  const XT* const xb = xr + 2 * (long long)(tid);   // sample of point tid
  auto in = [&](int i) {
    const long long d = i - tid, e = tid + d;
    cx<T> p = zero<T>();
    const long long s = 2 * e;     // its first sample
    if (VPX && s + 1 < LEN_X) {
      load_row_pts<T, IO, 1>(&p, xb, d);   // s is even here
    } else {
      if (s < LEN_X) p.re = IO::ld(xb + 2 * d);
      if (s + 1 < LEN_X) p.im = IO::ld(xb + 2 * d + 1);
    }
    return p;
  };
  // out(i, p): point tid + i - tid of the transform's output (samples from OUT_START on)
  XT* const yb = yr + (2 * (long long)(tid) - OUT_START);   // output sample of point tid
  auto out = [&](int i, cx<T> p) {
    if (!(active)) return;
    const long long d = i - tid, e = tid + d;
    const long long s = 2 * e - OUT_START;
    if (VPY && s >= 0 && s + 1 < OUT_LEN) {
      store_row_pts<T, IO, 1>(yb, &p, d);   // s is even here
    } else {
      if (s >= 0 && s < OUT_LEN) IO::st(yb + 2 * d, p.re);
      if (s + 1 >= 0 && s + 1 < OUT_LEN) IO::st(yb + 2 * d + 1, p.im);
    }
  };
  first_stage_in<T, 8192, 8, THREADS, -1, NZ>(buf, tid, in);
  stage<T, 8192, 8, 8, THREADS, -1, 8192, Q, LO_BITS, 1, Cls, 128>(buf, tid, twlo, twhi);
  stage<T, 8192, 8, 64, THREADS, -1, 8192, Q, LO_BITS, 1, Cls, 192>(buf, tid, twlo, twhi);
  stage<T, 8192, 16, 512, THREADS, -1, 8192, Q, LO_BITS, 1, Cls, 704>(buf, tid, twlo, twhi);

  multiply_real_row<T, M, THREADS, Cls>(buf, hs + (long long)h * M, tid);
  stage<T, 8192, 8, 1, THREADS, 1, 8192, Q, LO_BITS, 2, Cls>(buf, tid, twlo, twhi);
  stage<T, 8192, 8, 8, THREADS, 1, 8192, Q, LO_BITS, 2, Cls, 128>(buf, tid, twlo, twhi);
  stage<T, 8192, 8, 64, THREADS, 1, 8192, Q, LO_BITS, 3, Cls, 192>(buf, tid, twlo, twhi);

  // points past the last output are never stored
  last_stage_out<T, 8192, 16, THREADS, 1, 4096, Q, LO_BITS, 704>(buf, tid, twlo, twhi, out);
}
