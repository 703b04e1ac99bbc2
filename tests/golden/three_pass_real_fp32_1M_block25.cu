// fftconv_cupy generated kernel: three_pass real fp32 n=2097152 m=1048576 [32x16 | 16x8x16] x=1048576 k=1048576 out=[0:1048576] sparse=8/32
// Every size below is a compile-time constant of this plan; batch and channel
// counts are launch arguments.
#include "fftconv/stockham.cuh"

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

// Frequency-sparse plan: classes k mod P of the spectrum that are computed; the
// kept ones first, then the skipped ones, as runs of consecutive classes.
struct Cls {
  static constexpr int P = 32, NK = 8;
  __device__ static __forceinline__ int cls(int i) {
if (i < 4) return 0 + (i - 0);
if (i < 5) return 16 + (i - 4);
if (i < 8) return 29 + (i - 5);
if (i < 20) return 4 + (i - 8);
return 17 + (i - 20);
  }
};

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
  const int g = threadIdx.x / CT, tid = threadIdx.x % CT;
  cx<T>* buf = smem + g * STRIDE_B;
  const int a0 = blockIdx.x * C;
  int h;
  const long long row = data_row(v0 + blockIdx.y, batch, channels, h);
  const XT* xr = x + row * LEN_X;

  // whole points (packed sample pairs for real rows); points at or past NZ are padding
  for_tile<NZB, VPX>([&](int c, int bb) {
    const long long e = (long long)A * bb + a0 + c;
    cx<T> p[VPX];
    if (e + VPX <= NZ) {
      load_row_pts<T, IO, VPX>(p, xr, e);
    } else {
#pragma unroll
      for (int u = 0; u < VPX; ++u) {
        if (e + u < NZ) load_row_pts<T, IO, 1>(p + u, xr, e + u); else p[u] = zero<T>();
      }
    }
#pragma unroll
    for (int u = 0; u < VPX; ++u) smem[(c + u) * STRIDE_B + pad(bb)] = p[u];
  });
  __syncthreads();
  stage<T, 512, 32, 1, CT, -1, NZB, Q, LO_BITS>(buf, tid, twlo, twhi);
  stage<T, 512, 16, 32, CT, -1, 512, Q, LO_BITS, 1, Cls, 4224>(buf, tid, twlo, twhi);

  cx<T>* out = tmp + (long long)blockIdx.y * M;
  // rows kb of masked classes are never read: only the kept ones are stored
  for_tile<NKB, VPT>([&](int c, int i) {
    const int kb = SPARSE ? class_member<Cls, 1>(i) : i;
    cx<T> p[VPT];
#pragma unroll
    for (int u = 0; u < VPT; ++u) {
      const unsigned t = unsigned(a0 + c + u) * unsigned(kb) * unsigned(Q / M);
      p[u] = smem[(c + u) * STRIDE_B + pad(kb)] * twiddle<LO_BITS, -1>(twlo, twhi, t);
    }
    store_pts<T, VPT>(out + (long long)kb * A + a0 + c, p);
  });
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
  stage<T, 2048, 16, 128, RT, -1, 2048, Q, LO_BITS, 0, Dense, 2176>(buf, tid, twlo, twhi);

  if (self)
    multiply_row_self<T, A, RT>(buf, hrow + (long long)(g ? kb1 : kb) * A, g ? kb1 : kb, tid);
  else
    multiply_rows<T, A, 2 * RT>(smem, smem + STRIDE_A, hrow + (long long)kb * A, hrow + (long long)kb1 * A,
                                kb, threadIdx.x);
  stage<T, 2048, 16, 1, RT, 1, 2048, Q, LO_BITS>(buf, tid, twlo, twhi);
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
  const int g = threadIdx.x / CT, tid = threadIdx.x % CT;
  cx<T>* buf = smem + g * STRIDE_B;
  const int a0 = blockIdx.x * C;
  int h;
  const long long row = data_row(v0 + blockIdx.y, batch, channels, h);
  const cx<T>* in = tmp + (long long)blockIdx.y * M;

  // masked rows are zero; the first inverse stage reads them
  for_tile<B - NKB, 1>([&](int c, int i) {
    smem[c * STRIDE_B + pad(class_member<Cls, 1, true>(i))] = zero<T>();
  });
  for_tile<NKB, VPT>([&](int c, int i) {
    const int kb = SPARSE ? class_member<Cls, 1>(i) : i;
    cx<T> p[VPT];
    load_pts<T, VPT>(p, in + (long long)kb * A + a0 + c);
#pragma unroll
    for (int u = 0; u < VPT; ++u) {
      const unsigned t = unsigned(a0 + c + u) * unsigned(kb) * unsigned(Q / M);
      smem[(c + u) * STRIDE_B + pad(kb)] = p[u] * twiddle<LO_BITS, 1>(twlo, twhi, t);
    }
  });
  __syncthreads();
  stage<T, 512, 32, 1, CT, 1, 512, Q, LO_BITS>(buf, tid, twlo, twhi);
  stage<T, 512, 16, 32, CT, 1, 512, Q, LO_BITS, 0, Dense, 4224>(buf, tid, twlo, twhi);

  XT* yr = y + row * OUT_LEN;
  // whole points; for real rows OUT_START and OUT_LEN are even, so points map to sample pairs
  constexpr int P0 = OUT_START / 2, PN = OUT_LEN / 2;
  for_tile<B, VPY>([&](int c, int bb) {
    const long long o = (long long)A * bb + a0 + c - P0;
    cx<T> p[VPY];
#pragma unroll
    for (int u = 0; u < VPY; ++u) p[u] = smem[(c + u) * STRIDE_B + pad(bb)];
    if (o >= 0 && o + VPY <= PN) {
      store_row_pts<T, IO, VPY>(yr, p, o);
    } else {
#pragma unroll
      for (int u = 0; u < VPY; ++u) {
        if (o + u >= 0 && o + u < PN) store_row_pts<T, IO, 1>(yr, p + u, o + u);
      }
    }
  });
}
