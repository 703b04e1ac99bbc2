// fftconv_cupy generated kernel: three_pass real fp32 n=2097152 m=1048576 [32x16 | 16x8x16] x=1048576 k=1048576 out=[0:1048576]
// Every size below is a compile-time constant of this plan; batch and channel
// counts are launch arguments.
#include "fftconv/stockham.cuh"
#include "fftconv/columns.cuh"

using namespace fc;
using T = float;
using IO = Native<float>;
using XT = IO::raw;           // real samples, packed two per complex point on chip
using HS = coef<T>;           // spectrum: (A, G) per bin, the packed-real product

constexpr int M = 1048576;            // complex points of the transform
constexpr int Q = 2097152;            // twiddle base
constexpr int LO_BITS = 11;
constexpr int NZ = 524288;          // nonzero input points; the rest is implicit padding
constexpr int LEN_X = 1048576;
constexpr int OUT_START = 0;
constexpr int OUT_LEN = 1048576;

// Virtual row v is channel-major (v = h * batch + b), so the blocks in flight
// share one channel's spectrum, which stays in L2 across the batch.
__device__ __forceinline__ long long data_row(int v, int batch, int channels, int& h) {
  h = v / batch;
  return (long long)(v - h * batch) * channels + h;
}

using Cls = Dense;

constexpr int A = 2048;            // row transform (middle pass)
constexpr int B = 512;            // column transform (first and last pass)
constexpr int RT = 128; // threads per row, two rows per block
constexpr int CT = 16; // threads per column
constexpr int C = 16;       // columns per block
constexpr int STRIDE_A = 2177;
constexpr int STRIDE_B = 545;
constexpr int NZB = (NZ + A - 1) / A; // columns are zero below row NZB
constexpr int VPT = 2;     // points per access of the intermediate
constexpr int VPX = 2;      // points per access of a signal row (0: per sample)
constexpr int VPY = 2;     // points per access of an output row (0: per sample)
constexpr bool SPARSE = Cls::P > 1;
constexpr int NKB = B / Cls::P * Cls::NK; // rows kb of kept classes (all B when dense)

// A replayed CUDA graph keeps the arguments it was captured with, so its kernels take the
// call's arrays from `args` (x, y, spectrum, pre-gate, post-gate), which fftconv_args writes
// before each replay; direct launches pass them as arguments and args == nullptr.
enum { ARG_X, ARG_Y, ARG_HS, ARG_GPRE, ARG_GPOST };   // 5 pointers (executor.py)
extern "C" __global__ void fftconv_args(void** args, void* x, void* y, void* hs, void* gpre,
                                        void* gpost) {
  args[ARG_X] = x; args[ARG_Y] = y; args[ARG_HS] = hs; args[ARG_GPRE] = gpre; args[ARG_GPOST] = gpost;
}
template <class P>
__device__ __forceinline__ void call_arg(P& p, void* const* args, int i) {
  if (args) p = reinterpret_cast<P>(args[i]);
}

// Move `n` rows x C columns of points between global memory (row stride A, VP points
// per access) and the block's column buffers (column c at c * STRIDE_B, row kb at pad(kb)).
// f(q, kb, p) maps the VP points starting at column q*VP of row kb.
template <int N, int VP, class F>
__device__ __forceinline__ void for_tile(F f) {
  constexpr int NV = N * (C / VP);
#pragma unroll
  for (int it = 0; it < (NV + C * CT - 1) / (C * CT); ++it) {
    const int i = threadIdx.x + it * C * CT;
    if (NV % (C * CT) == 0 || i < NV) f((i % (C / VP)) * VP, i / (C / VP));
  }
}

// Direct column passes (columns.cuh): thread (t, c) runs butterflies of column blockIdx.x * C + c.
constexpr int NOUTB = ((OUT_START + OUT_LEN + 1) / 2 + A - 1) / A;   // rows bb holding outputs

// Pass 1: b-point DFTs down columns a0..a0+C of the (b, a) view, times w_m^(a*kb).
extern "C" __global__ void __launch_bounds__(C * CT, 2)
fftconv_col_fwd(const XT* __restrict__ x, cx<T>* __restrict__ tmp,
                const cx<T>* __restrict__ twlo, const cx<T>* __restrict__ twhi,
                int batch, int channels, int v0, const XT* __restrict__ gpre,
                void* const* __restrict__ args) {
  call_arg(x, args, ARG_X);
  call_arg(gpre, args, ARG_GPRE);
  extern __shared__ __align__(16) unsigned char smem_raw[];
  cx<T>* smem = reinterpret_cast<cx<T>*>(smem_raw);
  const int c = threadIdx.x % C, t = threadIdx.x / C;
  __builtin_assume(t < CT);            // blocks of C * CT threads: lets j % NS fold in the stages
  const int a = blockIdx.x * C + c;
  int h;
  const long long row = data_row(v0 + blockIdx.y, batch, channels, h);
  const XT* xr = x + row * LEN_X;
  const long long at = (long long)A * t + a;      // the thread's own point (t, c)
  // in(i): point at + A * (i - t) of the transform's input, zero outside the signal
  const XT* const xb = xr + 2 * (long long)(at);   // sample of point at
  auto in = [&](int i) {
    const long long d = (long long)A * (i - t), e = at + d;
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
  // point k of column c relative to the thread's own point (t, c): k - t folds to a constant
  // in the unrolled stages, so every access is one base register plus an immediate offset
  cx<T>* const smem_t = smem + t * C + c;
  auto ld_smem = [&](int k) { return smem_t[(k - t) * C]; };
  auto st_smem = [&](int k, cx<T> v) { smem_t[(k - t) * C] = v; };

  const cx<T>* t1 = twlo + 4736 + c + t * C;
  const cx<T>* t2 = twlo + 12928 + blockIdx.x * B + t;
  cx<T>* out = tmp + (long long)blockIdx.y * M + at;
  auto st_tmp = [&](int kb, cx<T> v) {
    const int d = kb - t;
    out[(long long)d * A] = v * column_twiddle<C, -1>(t1, t2, d);
  };
  col_stage<T, B, 32, 1, CT, -1, NZB, B, false, Q, LO_BITS, -1>(t, twlo, twhi, in, st_smem);
  __syncthreads();

  col_stage<T, B, 16, 32, CT, -1, B, B, false, Q, LO_BITS, 4224>(t, twlo, twhi, ld_smem, st_tmp);

}

// Pass 2: rows kb and (b-kb)%b (block 0 of a dense plan: rows 0 and b/2, each paired with
// itself): a-point DFTs, product with the spectrum, inverse, in place.
extern "C" __global__ void __launch_bounds__(2 * RT, 4)
fftconv_rows(cx<T>* __restrict__ tmp, const HS* __restrict__ hs,
             const cx<T>* __restrict__ twlo, const cx<T>* __restrict__ twhi,
             int batch, int channels, int v0, void* const* __restrict__ args) {
  call_arg(hs, args, ARG_HS);
  extern __shared__ __align__(16) unsigned char smem_raw[];
  cx<T>* smem = reinterpret_cast<cx<T>*>(smem_raw);
  const int g = threadIdx.x / RT, tid = threadIdx.x % RT;
  cx<T>* buf = smem + g * STRIDE_A;
  // blockIdx.x walks the rows of one kb, so blocks in flight share spectrum rows kb, b-kb
  const bool self = !SPARSE && blockIdx.y == 0;
  const int kb = SPARSE ? class_member<Cls, 1>(blockIdx.y) : blockIdx.y;
  const int kb1 = self ? (B % 2 ? 0 : B / 2) : (B - kb) % B;
  if (SPARSE && kb > kb1) return;      // the pair's other row leads it (whole block)
  int h;
  data_row(v0 + blockIdx.x, batch, channels, h);
  cx<T>* rowp = tmp + (long long)blockIdx.x * M + (long long)(g ? kb1 : kb) * A;

  // a row held by both groups (kb = kb1: row 0 when b is odd, or a sparse plan's self-paired row): one stores it
  const bool stores = g == 0 || kb != kb1;
  // the first stage reads the row and the last one writes it back (no staging); the read-only
  // path is safe: a row belongs to one block, and every read precedes the first stage's barrier
  // point e relative to the thread's first point tid: e - tid folds to an immediate offset
  cx<T>* const rowt = rowp + tid;
  auto in = [&](int e) { return ldg(rowt + (e - tid)); };
  auto out = [&](int e, cx<T> p) { if (stores) rowt[e - tid] = p; };
  // Rows kb (smem) and kb1 (smem + STRIDE_A) of channel h, group g of RT threads each: forward
  // a-point DFTs, the product with the spectrum, the inverse DFTs, in place.
  const HS* hrow = hs + (long long)h * M;
  first_stage_in<T, 2048, 16, RT, -1, A>(buf, tid, in);
  stage<T, 2048, 8, 16, RT, -1, 2048, Q, LO_BITS, 0, Dense, 2048>(buf, tid, twlo, twhi);

  // last forward stage, product, first inverse stage: in registers
  middle_pairs<T, A, 16, RT, Q, LO_BITS, 2176>(smem, smem + STRIDE_A,
      hrow + (long long)kb * A, hrow + (long long)kb1 * A, self, twlo, twhi, g, tid);
  stage<T, 2048, 8, 16, RT, 1, 2048, Q, LO_BITS, 0, Dense, 2048>(buf, tid, twlo, twhi);

  last_stage_out<T, 2048, 16, RT, 1, A, Q, LO_BITS, 2176>(buf, tid, twlo, twhi, out);

}

// Pass 3: conjugate twiddles, inverse b-point DFTs down the columns, store the outputs.
extern "C" __global__ void __launch_bounds__(C * CT, 2)
fftconv_col_inv(const cx<T>* __restrict__ tmp, XT* __restrict__ y,
                const cx<T>* __restrict__ twlo, const cx<T>* __restrict__ twhi,
                int batch, int channels, int v0, const XT* __restrict__ gpost,
                void* const* __restrict__ args) {
  call_arg(y, args, ARG_Y);
  call_arg(gpost, args, ARG_GPOST);
  extern __shared__ __align__(16) unsigned char smem_raw[];
  cx<T>* smem = reinterpret_cast<cx<T>*>(smem_raw);
  const int c = threadIdx.x % C, t = threadIdx.x / C;
  __builtin_assume(t < CT);            // blocks of C * CT threads: lets j % NS fold in the stages
  const int a = blockIdx.x * C + c;
  int h;
  const long long row = data_row(v0 + blockIdx.y, batch, channels, h);
  // pointers of this thread's first point t: kb - t is a compile-time offset in the unrolled stage
  const cx<T>* t1 = twlo + 4736 + c + t * C;
  const cx<T>* t2 = twlo + 12928 + blockIdx.x * B + t;
  const long long at = (long long)A * t + a;      // the thread's own point (t, c)
  const cx<T>* src = tmp + (long long)blockIdx.y * M + at;
  auto in = [&](int kb) {
    const int d = kb - t;
    return ldg(src + (long long)d * A) * column_twiddle<C, 1>(t1, t2, d);
  };
  // point k of column c relative to the thread's own point (t, c): k - t folds to a constant
  // in the unrolled stages, so every access is one base register plus an immediate offset
  cx<T>* const smem_t = smem + t * C + c;
  auto ld_smem = [&](int k) { return smem_t[(k - t) * C]; };
  auto st_smem = [&](int k, cx<T> v) { smem_t[(k - t) * C] = v; };

  XT* yr = y + row * OUT_LEN;
  // out(i, p): point at + A * (i - t) of the transform's output (samples from OUT_START on)
  XT* const yb = yr + (2 * (long long)(at) - OUT_START);   // output sample of point at
  auto out = [&](int i, cx<T> p) {
    const long long d = (long long)A * (i - t), e = at + d;
    const long long s = 2 * e - OUT_START;
    if (VPY && s >= 0 && s + 1 < OUT_LEN) {
      store_row_pts<T, IO, 1>(yb, &p, d);   // s is even here
    } else {
      if (s >= 0 && s < OUT_LEN) IO::st(yb + 2 * d, p.re);
      if (s + 1 >= 0 && s + 1 < OUT_LEN) IO::st(yb + 2 * d + 1, p.im);
    }
  };
  col_stage<T, B, 32, 1, CT, 1, B, B, false, Q, LO_BITS, -1>(t, twlo, twhi, in, st_smem);
  __syncthreads();

  col_stage<T, B, 16, 32, CT, 1, B, NOUTB, false, Q, LO_BITS, 4224>(t, twlo, twhi, ld_smem, out);

}
