// On-chip Stockham stages, the pointwise product in the transform's own order,
// and the loads/stores that pack real rows into complex points.
//
// Shared memory holds one transform per "group" of threads; element e lives at
// pad(e) = e + e/16, which keeps strided butterfly accesses free of bank conflicts.
#pragma once
#include "complex.cuh"
#include "dft.cuh"
#include "io.cuh"

namespace fc {

__device__ __forceinline__ int pad(int e) { return e + (e >> 4); }


// w_Q^(SIGN*t), 0 <= t < Q, from two tables: lo[t % 2^LO_BITS] * hi[t >> LO_BITS].
// Both tables are correctly rounded, so every twiddle is within ~2 ulp.
template <int LO_BITS, int SIGN, class T>
__device__ __forceinline__ cx<T> twiddle(const cx<T>* __restrict__ lo, const cx<T>* __restrict__ hi,
                                         unsigned t) {
  const cx<T> w = ldg(lo + (t & ((1u << LO_BITS) - 1u))) * ldg(hi + (t >> LO_BITS));
  return SIGN < 0 ? w : conj(w);
}

#ifndef FC_FULL_TABLE_BYTES
#define FC_FULL_TABLE_BYTES 0x7fffffff   // stage tables above this hold powers of two only
#endif

__host__ __device__ constexpr int ilog2(int n) { return n <= 1 ? 0 : 1 + ilog2(n / 2); }

// Entries per class of the (R, NS) stage table (Plan.table_exponents): R, or the log2 R
// powers of two where a power-of-two radix's full table exceeds FC_FULL_TABLE_BYTES.
template <int R, int NS, class T>
__host__ __device__ constexpr int table_entries() {
  return (R > 1 && (R & (R - 1)) == 0 && (long long)NS * R * sizeof(cx<T>) > FC_FULL_TABLE_BYTES) ? ilog2(R) : R;
}

// w[r] = w[hb] * w[r - hb] for r that are not powers of two (hb = highest power of two <= r).
// Powers amplify relative error (|d(w^r)| ~ r |dw|), so exact values at the powers of two
// keep every twiddle within a few ulp.
template <int R, class T>
__device__ __forceinline__ void twiddle_products(cx<T>* w) {
#pragma unroll
  for (int r = 3; r < R; ++r) {
    const int hb = 1 << (31 - __clz(r));
    if (hb != r) w[r] = w[hb] * w[r - hb];
  }
}

// The R twiddles of butterfly class c from a stage table stored [i / 2][c][i % 2], entry i =
// power table_exponents[i] (Plan.stage_tables): a warp's consecutive classes read
// consecutive 16-byte pairs.  Conjugated for SIGN > 0.
template <int R, int NS, int SIGN, class T>
__device__ __forceinline__ void table_row(cx<T>* w, const cx<T>* __restrict__ t, int c) {
  constexpr int E = table_entries<R, NS, T>();
  constexpr bool POW = E != R;
  // entry i holds the power k(i): i, or 2^i for a table of powers
#pragma unroll
  for (int i = 0; i < E; i += 2) {
    const cx<T>* p = t + (i / 2) * 2 * NS + 2 * c;
    const int k0 = POW ? 1 << i : i, k1 = POW ? 2 << i : i + 1;
    if constexpr (sizeof(T) == 4) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(p));
      w[k0] = {v.x, v.y};
      if (i + 1 < E) w[k1] = {v.z, v.w};
    } else {
      w[k0] = ldg(p);
      if (i + 1 < E) w[k1] = ldg(p + 1);
    }
  }
  if constexpr (SIGN > 0) {
#pragma unroll
    for (int r = 0; r < R; ++r)
      if (!POW || (r > 0 && (r & (r - 1)) == 0)) w[r] = conj(w[r]);
  }
  if constexpr (POW) twiddle_products<R>(w);
}

// &buf[pad(e + r * STRIDE)], r constant after unrolling.
template <int STRIDE, class T>
__device__ __forceinline__ T* at_r(T* buf, int e, int pe, int r) {
  if constexpr (STRIDE % 16 == 0) return buf + pe + r * (STRIDE + (STRIDE >> 4));
  else return buf + pad(e + r * STRIDE);
}

// Frequency classes of a sparse plan (see plan/sparsity.py): spectrum index k is
// in class k mod P; cls(i) lists the NK kept classes first, then the skipped ones.
// Dense plans use P = NK = 1.
struct Dense {
  static constexpr int P = 1, NK = 1;
  __device__ static __forceinline__ int cls(int) { return 0; }
};

// The idx-th kept (or skipped) index of the form lo + G*(class + P*u), lo < G:
// consecutive idx walk the classes first, so a warp's accesses stay close.
template <class K, int G, bool SKIPPED = false>
__device__ __forceinline__ int class_member(int idx) {
  constexpr int N = SKIPPED ? K::P - K::NK : K::NK;
  const int lo = idx % G, rest = idx / G;
  const int c = K::cls((SKIPPED ? K::NK : 0) + rest % N);
  return lo + G * (c + K::P * (rest / N));
}

// The twiddles w_(NS R)^(SIGN c r), r < R, of butterfly class c: from the stage's own
// table (TAB >= 0, plan.stage_tables), or lo/hi values at the powers of two r = 1, 2, 4, 8
// and products between (twiddle_products): 2 log2(R) entries read instead of 2(R - 1).
template <int R, int NS, int SIGN, int Q, int LO_BITS, int TAB, class T>
__device__ __forceinline__ void stage_twiddles(cx<T>* w, int c, const cx<T>* __restrict__ lo,
                                               const cx<T>* __restrict__ hi) {
  if constexpr (TAB >= 0) {
    table_row<R, NS, SIGN>(w, lo + TAB, c);
  } else {
    constexpr unsigned TW = Q / (NS * R);
#pragma unroll
    for (int r = 1; r < R; r *= 2) w[r] = twiddle<LO_BITS, SIGN>(lo, hi, unsigned(c * r) * TW);
    twiddle_products<R>(w);
  }
}

// v[r] *= w_(NS R)^(SIGN c r) for the inputs a stage reads (r J < NZ, J = S / R); nothing
// for a first stage (NS = 1).
template <int R, int NS, int J, int NZ, int SIGN, int Q, int LO_BITS, int TAB, class T>
__device__ __forceinline__ void twiddle_inputs(cx<T>* v, int c, const cx<T>* __restrict__ lo,
                                               const cx<T>* __restrict__ hi) {
  if constexpr (NS > 1) {
    cx<T> w[R];
    stage_twiddles<R, NS, SIGN, Q, LO_BITS, TAB>(w, c, lo, hi);
#pragma unroll
    for (int r = 1; r < R; ++r)
      if (r * J < NZ) v[r] = v[r] * w[r];
  }
}

// One radix-R Stockham stage of an S-point transform (Ns = product of the earlier
// radices).  Butterfly j reads j + r*S/R, multiplies by w_(Ns*R)^(j%Ns * r) and
// writes (j/Ns)*Ns*R + j%Ns + r*Ns: the output is in natural order after the last
// stage, so no permutation pass exists.  Inputs at index >= NZ are implicit
// zeros and are never read.  Q is the twiddle base (a multiple of S).
//
// MODE (sparse plans, classes K): 1 forward stage whose butterfly j feeds only
// bins of class j mod P: masked classes are not computed; 2 inverse stage whose
// butterfly j sees only bins of class (j / Ns) mod P: masked ones are all zero and
// skipped; 3 the same, and the skipped butterflies' outputs are written as zeros
// for the next (dense) stage.
//
// TAB >= 0: the stage's own twiddle table w_(NS R)^(c r) from lo + TAB
// (plan.stage_tables); otherwise twiddles are formed from the lo/hi tables.
template <class T, int S, int R, int NS, int THREADS, int SIGN, int NZ, int Q, int LO_BITS,
          int MODE = 0, class K = Dense, int TAB = -1>
__device__ __forceinline__ void stage(cx<T>* buf, int tid, const cx<T>* __restrict__ lo,
                                      const cx<T>* __restrict__ hi) {
  constexpr int J = S / R;
  constexpr int G = MODE >= 2 ? NS : 1;
  constexpr int JK = MODE ? J / K::P * K::NK : J;     // butterflies computed
  constexpr int IT = (JK + THREADS - 1) / THREADS;
  static_assert(MODE == 0 || J % (G * K::P) == 0, "sparse stage needs whole classes");
  cx<T> v[IT][R];
  int jj[IT];
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const int idx = tid + it * THREADS;
    const int j = MODE ? class_member<K, G>(idx) : idx;
    jj[it] = j;
    if (JK % THREADS == 0 || idx < JK) {
      const int pj = pad(j);
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int e = j + r * J;
        if (r * J >= NZ) {
          v[it][r] = zero<T>();
        } else if (NZ < S && e >= NZ) {
          v[it][r] = zero<T>();
        } else {
          v[it][r] = *at_r<J>(buf, j, pj, r);
        }
      }
      twiddle_inputs<R, NS, J, NZ, SIGN, Q, LO_BITS, TAB>(v[it], j % NS, lo, hi);
    }
  }
  __syncthreads();
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const int j = jj[it];
    if (JK % THREADS == 0 || tid + it * THREADS < JK) {
      dft<R, SIGN>(v[it]);
      const int base = (j / NS) * NS * R + (j % NS);
      const int pb = pad(base);
#pragma unroll
      for (int r = 0; r < R; ++r) *at_r<NS>(buf, base, pb, r) = v[it][r];
    }
  }
  if constexpr (MODE == 3) {
    constexpr int JS = J / K::P * (K::P - K::NK);
    for (int idx = tid; idx < JS; idx += THREADS) {
      const int j = class_member<K, G, true>(idx);
      const int base = (j / NS) * NS * R + (j % NS);
      const int pb = pad(base);
#pragma unroll
      for (int r = 0; r < R; ++r) *at_r<NS>(buf, base, pb, r) = zero<T>();
    }
  }
  __syncthreads();
}

// The first stage (Ns = 1) of an S-point transform with its inputs from load(e): the
// row in global memory, never staged through shared memory (Plan.direct_rows).  Every
// load of a thread is issued before its arithmetic; nothing reads buf before the
// closing barrier, so none is needed between the loads and the stores.  (columns.cuh
// col_stage has the same shape with accessors on both sides; built on it, these two end
// stages lose the at_r address folding: +2.5 % instructions at 4K, so they stay separate.)
template <class T, int S, int R, int THREADS, int SIGN, int NZ, class Load>
__device__ __forceinline__ void first_stage_in(cx<T>* buf, int tid, Load load) {
  constexpr int J = S / R;
  constexpr int IT = (J + THREADS - 1) / THREADS;
  cx<T> v[IT][R];
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const int j = tid + it * THREADS;
    if (J % THREADS == 0 || j < J) {
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int e = j + r * J;
        v[it][r] = (r * J < NZ && (NZ >= S || e < NZ)) ? load(e) : zero<T>();
      }
    }
  }
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const int j = tid + it * THREADS;
    if (J % THREADS == 0 || j < J) {
      dft<R, SIGN>(v[it]);
      const int pb = pad(j * R);
#pragma unroll
      for (int r = 0; r < R; ++r) *at_r<1>(buf, j * R, pb, r) = v[it][r];
    }
  }
  __syncthreads();
}

// The last stage (Ns = S/R) handing its outputs to store(e, v): the output row in global
// memory.  Butterfly j writes points j + r Ns (consecutive lanes, consecutive points);
// points at or past NOUT are never stored, so their arithmetic is dead code.  Nothing
// writes buf afterwards, so no barrier follows.
template <class T, int S, int R, int THREADS, int SIGN, int NOUT, int Q, int LO_BITS, int TAB, class Store>
__device__ __forceinline__ void last_stage_out(cx<T>* buf, int tid, const cx<T>* __restrict__ lo,
                                               const cx<T>* __restrict__ hi, Store store) {
  constexpr int J = S / R;
  constexpr int IT = (J + THREADS - 1) / THREADS;
  cx<T> v[IT][R];
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const int j = tid + it * THREADS;
    if (J % THREADS == 0 || j < J) {
      const int pj = pad(j);
#pragma unroll
      for (int r = 0; r < R; ++r) v[it][r] = *at_r<J>(buf, j, pj, r);
      twiddle_inputs<R, J, J, S, SIGN, Q, LO_BITS, TAB>(v[it], j, lo, hi);
    }
  }
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const int j = tid + it * THREADS;
    if (J % THREADS == 0 || j < J) {
      dft<R, SIGN>(v[it]);
#pragma unroll
      for (int r = 0; r < R; ++r)
        if (r * J < NOUT) store(j + r * J, v[it][r]);
    }
  }
}

// Rows of [16 x 2 x R] on one warp each (Plan.lane_pairs): the radix-2 stage (Ns = 16)
// pairs stage-1 butterflies a and a + 16, held by two lanes of the warp, so it runs on
// shuffles instead of a shared-memory round trip.  v: the 16 outputs of this lane's
// stage-1 butterfly a (slot b: point 16 a + b); partner: the lane holding a ^ 16.  The
// lane of a < 16 computes the stage's butterflies b < 8 of the pair, its partner b >= 8
// (b = k + 8: twiddle w_32^(SIGN k) times w_32^(8 SIGN) = SIGN i); outputs go to their
// Stockham places 32 (a mod 16) + b and + 16 in buf.
template <class T, int SIGN>
__device__ __forceinline__ void pair_stage_store(cx<T>* buf, const cx<T>* v, int a, int partner) {
  const bool low = a < 16;
  const int base = 32 * (a & 15) + (low ? 0 : 8);
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    const cx<T> recv = shfl_from(low ? v[8 + k] : v[k], partner);
    const cx<T> u0 = low ? v[k] : recv;
    cx<T> u1 = rotate<32, SIGN>(k, low ? recv : v[8 + k]);
    if (!low) u1 = mul_si<SIGN>(u1);
    buf[pad(base + k)] = u0 + u1;
    buf[pad(base + k + 16)] = u0 - u1;
  }
}

// The first two stages of a [16 x 2 x R] row (Plan.lane_pairs) from load(e): lane t
// transforms points t + 32 r, then the radix-2 stage with lane t ^ 16.
template <class T, int S, int NZ, class Load>
__device__ __forceinline__ void first_pair_in(cx<T>* buf, int tid, Load load) {
  static_assert(S == 512, "16 x 32: one stage-1 butterfly per lane of a warp");
  cx<T> v[16];
#pragma unroll
  for (int r = 0; r < 16; ++r) {
    const int e = tid + 32 * r;
    v[r] = (32 * r < NZ && (NZ >= S || e < NZ)) ? load(e) : zero<T>();
  }
  dft<16, -1>(v);
  pair_stage_store<T, -1>(buf, v, tid, tid ^ 16);
  __syncthreads();
}

// The packed-real product (plan/spectrum.py): W[k] = A[k] Z[k] + i G[k] conj(Z[-k]),
// one R-linear map per pair (k, -k), with unpacking, the kernel and repacking folded
// into the coefficients.  A self-paired index (k == -k) passes the same value twice.
template <class T>
__device__ __forceinline__ void real_pair(cx<T>& zk, cx<T>& zr, coef<T> ck, coef<T> cr) {
  const cx<T> wk = ck.a * zk + mul_si<1>(ck.g * conj(zr));
  const cx<T> wr = cr.a * zr + mul_si<1>(cr.g * conj(zk));
  zk = wk;
  zr = wr;
}

// Whole packed-real spectrum of one row in natural order (fused layout): pairs k, m-k.
// Sparse plans visit the kept classes only (closed under k -> m-k); each pair once.
template <class T, int M, int THREADS, class K = Dense>
__device__ __forceinline__ void multiply_real_row(cx<T>* buf, const coef<T>* __restrict__ hs, int tid) {
  constexpr bool SPARSE = K::P > 1;
  constexpr int P = SPARSE ? M / K::P * K::NK : M / 2 + 1;
#pragma unroll 2
  for (int it = 0; it < (P + THREADS - 1) / THREADS; ++it) {
    const int idx = tid + it * THREADS;
    const int k = SPARSE ? class_member<K, 1>(idx) : idx;
    if (idx < P && (!SPARSE || k <= M - k)) {
      const int kr = k == 0 ? 0 : M - k;
      cx<T> zk = buf[pad(k)], zr = buf[pad(kr)];
      real_pair(zk, zr, ldg(hs + k), ldg(hs + kr));
      buf[pad(kr)] = zr;
      buf[pad(k)] = zk;
    }
  }
  __syncthreads();
}

// Fused real rows whose first and last radix agree: the forward transform's last
// stage, the packed-real product and the inverse transform's first stage, in
// registers.  Butterfly j of the last forward stage holds Z[j + r J] (J = S/R), which
// is exactly what butterfly j of the first inverse stage reads; Z[-k] of those is in
// butterfly J - j, slot R-1-r.  Butterflies are laid out so that partners sit in lanes
// l and 31 - l of one warp (j = 16w + l for l < 16, J - (16w + 31 - l) above), and one
// shuffle per value brings each its partner.  The two self-paired butterflies (0, whose
// partner slot is (R - r) mod R, and J/2, slot R-1-r) take lanes 0 and 31 of warp 0.
template <int J>
__device__ __forceinline__ int paired_butterfly(int p) {
  const int l = p & 31, w = p >> 5;
  return l < 16 ? 16 * w + l : (p == 31 ? J / 2 : J - (16 * w + 31 - l));
}

template <class T>
__device__ __forceinline__ cx<T> shfl_from(cx<T> v, int lane) {
  return {__shfl_sync(0xffffffffu, v.re, lane), __shfl_sync(0xffffffffu, v.im, lane)};
}

// The pieces of the fused middles.  Butterfly j of the last forward stage of an
// S-point transform (J = S/R) into registers: v[r] holds Z[j + r J].
template <class T, int S, int R, int Q, int LO_BITS, int TAB>
__device__ __forceinline__ void last_forward(cx<T>* v, cx<T>* buf, int j, const cx<T>* __restrict__ lo,
                                             const cx<T>* __restrict__ hi) {
  constexpr int J = S / R;
  const int pj = pad(j);
#pragma unroll
  for (int r = 0; r < R; ++r) v[r] = *at_r<J>(buf, j, pj, r);
  twiddle_inputs<R, J, J, S, -1, Q, LO_BITS, TAB>(v, j, lo, hi);
  dft<R, -1>(v);
}

// The packed-real product of butterfly j's slots, then the first inverse stage's DFT.
// Slot r's partner is slot R-1-r of lane src (every lane shuffles); butterfly 0 of a row
// paired with itself as (A - ka) mod A (row0) pairs its own slots r and (R - r) mod R.
template <class T, int R, int J>
__device__ __forceinline__ void pair_product(cx<T>* v, const coef<T>* __restrict__ h, int j, int src,
                                             bool row0) {
#pragma unroll
  for (int r = 0; r < R / 2; ++r) {
    const int q = R - 1 - r;
    const cx<T> s0 = shfl_from(v[q], src), s1 = shfl_from(v[r], src);
    if (!(row0 && j == 0)) {
      const coef<T> c0 = ldg(h + j + r * J), c1 = ldg(h + j + q * J);
      v[r] = c0.a * v[r] + mul_si<1>(c0.g * conj(s0));
      v[q] = c1.a * v[q] + mul_si<1>(c1.g * conj(s1));
    }
  }
  if (row0 && j == 0) {
    // Z[r J] pairs with Z[(R - r) J]
#pragma unroll
    for (int r = 0; r <= R / 2; ++r) {
      const int q = (R - r) % R;
      real_pair(v[r], v[q], ldg(h + r * J), ldg(h + q * J));
    }
  }
  dft<R, 1>(v);
}

// What butterfly j of the first inverse stage writes (Ns = 1: points j R + r).
template <class T, int R>
__device__ __forceinline__ void first_inverse_store(cx<T>* buf, const cx<T>* v, int j) {
  const int pb = pad(j * R);
#pragma unroll
  for (int r = 0; r < R; ++r) *at_r<1>(buf, j * R, pb, r) = v[r];
}

template <class T, int S, int R, int THREADS, int Q, int LO_BITS, int TAB, bool PAIRS = false>
__device__ __forceinline__ void middle_real(cx<T>* buf, const coef<T>* __restrict__ hs, int tid,
                                            const cx<T>* __restrict__ lo, const cx<T>* __restrict__ hi) {
  constexpr int J = S / R;
  constexpr int IT = J / THREADS;
  static_assert(J % 32 == 0 && THREADS % 32 == 0 && J % THREADS == 0 && R % 2 == 0,
                "whole warps of butterfly pairs, slots paired r <-> R-1-r");
  cx<T> v[IT][R];
  int jj[IT];
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    jj[it] = paired_butterfly<J>(tid + it * THREADS);
    last_forward<T, S, R, Q, LO_BITS, TAB>(v[it], buf, jj[it], lo, hi);
  }
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    // partners in lane 31 - l; butterflies 0 and J/2 hold their own
    const int j = jj[it];
    pair_product<T, R, J>(v[it], hs, j, (j == 0 || j == J / 2) ? lane : lane ^ 31, true);
  }
  __syncthreads();                         // every read of buf is done
  if constexpr (PAIRS) {
    // Plan.lane_pairs: the inverse's radix-2 stage too; butterfly j sits in lane j (j < 16),
    // 31 (j = 16) or j - 1 (paired_butterfly), so its partner j ^ 16 is in lane j + 15
    // (31 for j = 0) or j - 16
    static_assert(S / R == 32 && THREADS == 32 && R == 16, "one warp per [16 x 2 x 16] row");
    const int j = jj[0];
    pair_stage_store<T, 1>(buf, v[0], j, j < 16 ? (j == 0 ? 31 : j + 15) : j - 16);
  } else {
#pragma unroll
    for (int it = 0; it < IT; ++it) first_inverse_store<T, R>(buf, v[it], jj[it]);
  }
  __syncthreads();
}

// The three-pass middle kernel's counterpart (Plan.middle_rows), for a block's two rows
// (buf0, buf1; RT threads each).  CROSS blocks hold rows kb and b - kb: element ka of one
// pairs with A-1-ka of the other, so butterfly j of the last forward stage pairs with
// butterfly J-1-j of the other row, slot R-1-r; lanes l < 16 of a warp take row kb's
// butterflies 16w + l and lanes 31 - l their partners in row b - kb.  The SELF block holds
// rows 0 and b/2, each its own partner: group 0 lays row 0 out as middle_real does (ka
// pairs with (A - ka) mod A), group 1 pairs row b/2's butterflies j and J-1-j across lanes
// l and 31 - l.  One shuffle per value brings each its partner.  g, tid: the thread's
// group (row slot) and index in it; a cluster block of one row (Plan.halves) passes its rank
// as g, so that row 1 of a (2, a) split pairs as row b/2 does.
template <class T, int S, int R, int RT, int Q, int LO_BITS, int TAB>
__device__ __forceinline__ void middle_pairs(cx<T>* buf0, cx<T>* buf1, const coef<T>* __restrict__ h0,
                                             const coef<T>* __restrict__ h1, bool self,
                                             const cx<T>* __restrict__ lo, const cx<T>* __restrict__ hi,
                                             int g, int tid) {
  constexpr int J = S / R;
  constexpr int IT = J / RT;                // 2J butterflies over 2 RT threads
  static_assert(J % 32 == 0 && RT % 32 == 0 && J % RT == 0 && R % 2 == 0,
                "whole warps of butterfly pairs, slots paired r <-> R-1-r");
  const int lane = threadIdx.x & 31;
  const bool upper = lane >= 16;
  const bool second = self ? g == 1 : upper;
  const bool row0 = self && g == 0;         // the fused row's layout (paired_butterfly)
  cx<T>* buf = second ? buf1 : buf0;
  const coef<T>* __restrict__ h = second ? h1 : h0;
  cx<T> v[IT][R];
  int jj[IT];
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    int j;
    if (row0) {
      j = paired_butterfly<J>(tid + it * RT);
    } else {
      const int q = self ? tid + it * RT : threadIdx.x + it * 2 * RT;
      const int pj = 16 * (q >> 5) + (upper ? 31 - lane : lane);
      j = upper ? J - 1 - pj : pj;
    }
    jj[it] = j;
    last_forward<T, S, R, Q, LO_BITS, TAB>(v[it], buf, j, lo, hi);
  }
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    // row 0's butterflies 0 and J/2 hold their own partners
    const int j = jj[it];
    const bool own = row0 && (j == 0 || j == J / 2);
    pair_product<T, R, J>(v[it], h, j, own ? lane : lane ^ 31, row0);
  }
  __syncthreads();                         // every read of both rows is done
#pragma unroll
  for (int it = 0; it < IT; ++it) first_inverse_store<T, R>(buf, v[it], jj[it]);
  __syncthreads();
}

template <class T, int M, int THREADS, class K = Dense>
__device__ __forceinline__ void multiply_complex_row(cx<T>* buf, const cx<T>* __restrict__ hs, int tid) {
  constexpr int N = M / K::P * K::NK;
#pragma unroll
  for (int it = 0; it < (N + THREADS - 1) / THREADS; ++it) {
    const int idx = tid + it * THREADS;
    const int k = K::P > 1 ? class_member<K, 1>(idx) : idx;
    if (idx < N) buf[pad(k)] = buf[pad(k)] * ldg(hs + k);
  }
  __syncthreads();
}

// Element ka of row kb of the (b, a) spectrum layout (Z[kb + b*ka]) pairs with
// element kr of row (b - kb) % b.
template <int A>
__device__ __forceinline__ int pair_col(int kb, int ka) { return kb == 0 ? (A - ka) % A : A - 1 - ka; }

// Middle pass, real plans: row kb (buf0) and row (b-kb)%b (buf1).  Every element of
// one row pairs with exactly one of the other, so all threads of both groups share
// the work (a row that pairs with itself is in both buffers: each gets every result).
template <class T, int A, int THREADS>
__device__ __forceinline__ void multiply_rows(cx<T>* buf0, cx<T>* buf1, const coef<T>* __restrict__ h0,
                                              const coef<T>* __restrict__ h1, int kb, int tid) {
#pragma unroll 2
  for (int it = 0; it < (A + THREADS - 1) / THREADS; ++it) {
    const int ka = tid + it * THREADS;
    if (A % THREADS == 0 || ka < A) {
      const int kr = pair_col<A>(kb, ka);
      cx<T> zk = buf0[pad(ka)], zr = buf1[pad(kr)];
      real_pair(zk, zr, ldg(h0 + ka), ldg(h1 + kr));
      buf0[pad(ka)] = zk;
      buf1[pad(kr)] = zr;
    }
  }
  __syncthreads();
}

// A row that pairs with itself (kb = 0 or b/2) in one buffer: each pair is handled
// once, by the thread of its smaller index.
template <class T, int A, int THREADS>
__device__ __forceinline__ void multiply_row_self(cx<T>* buf, const coef<T>* __restrict__ h, int kb,
                                                  int tid) {
#pragma unroll 2
  for (int it = 0; it < (A + THREADS - 1) / THREADS; ++it) {
    const int ka = tid + it * THREADS;
    if (A % THREADS == 0 || ka < A) {
      const int kr = pair_col<A>(kb, ka);
      if (ka <= kr) {
        cx<T> zk = buf[pad(ka)], zr = buf[pad(kr)];
        real_pair(zk, zr, ldg(h + ka), ldg(h + kr));
        buf[pad(kr)] = zr;
        buf[pad(ka)] = zk;
      }
    }
  }
  __syncthreads();
}

// Gating on chip: samples [lo, hi) of a row whose sample i sits at packed index
// first + i are multiplied by g[i] (real rows: g holds samples of type IO; complex: points).
template <class T, bool REAL, class IO, class GT>
__device__ __forceinline__ void gate_samples(cx<T>* buf, int first, const GT* __restrict__ g,
                                             int lo, int hi, int tid, int threads) {
  for (int i = lo + tid; i < hi; i += threads) {
    const int s = first + i;
    if constexpr (REAL) {
      T* f = reinterpret_cast<T*>(buf) + 2 * pad(s >> 1) + (s & 1);
      *f = *f * IO::ld(g + i);
    } else {
      buf[pad(s)] = buf[pad(s)] * ldg(g + i);
    }
  }
}

// Contiguous row of complex points <-> shared memory, VP points per access (an
// even element and its successor never straddle a padding slot).  The loop
// count is a compile-time constant so every load of a thread is in flight at once.
template <class T, int COUNT, int THREADS, int VP>
__device__ __forceinline__ void load_points(cx<T>* buf, const cx<T>* __restrict__ src, int tid) {
  constexpr int NV = COUNT / VP;
#pragma unroll
  for (int it = 0; it < (NV + THREADS - 1) / THREADS; ++it) {
    const int i = tid + it * THREADS;
    if (NV % THREADS == 0 || i < NV) {
      cx<T> p[VP];
      load_pts<T, VP>(p, src + i * VP);
#pragma unroll
      for (int u = 0; u < VP; ++u) buf[pad(i * VP) + u] = p[u];
    }
  }
}

// dst[i] = point START + i, for i < COUNT (VP > 1 needs START % VP == 0).
template <class T, int START, int COUNT, int THREADS, int VP>
__device__ __forceinline__ void store_points(cx<T>* dst, const cx<T>* buf, int tid) {
  constexpr int NV = COUNT / VP;
#pragma unroll
  for (int it = 0; it < (NV + THREADS - 1) / THREADS; ++it) {
    const int i = tid + it * THREADS;
    if (NV % THREADS == 0 || i < NV) {
      cx<T> p[VP];
#pragma unroll
      for (int u = 0; u < VP; ++u) p[u] = buf[pad(START + i * VP) + u];
      store_pts<T, VP>(dst + i * VP, p);
    }
  }
}

// Scalars s[0, COUNT) (COUNT <= 2*NZ real samples, zero past LEN) packed as complex pairs,
// times the gate g (same layout as x) when GATE: the gate is applied in registers.
// IO: the rows' element type (io.cuh).
template <class T, class IO, int LEN, int NZ, int THREADS, int VEC, bool GATE = false>
__device__ __forceinline__ void load_real_row(cx<T>* buf, const typename IO::raw* __restrict__ x, int tid,
                                              const typename IO::raw* __restrict__ g = nullptr) {
  T* f = reinterpret_cast<T*>(buf);
  constexpr int F = 2 * NZ;
  if constexpr (VEC == 1) {
#pragma unroll
    for (int it = 0; it < (F + THREADS - 1) / THREADS; ++it) {
      const int i = tid + it * THREADS;
      if (F % THREADS == 0 || i < F) {
        T v = (i < LEN) ? IO::ld(x + i) : T(0);
        if constexpr (GATE) v = (i < LEN) ? v * IO::ld(g + i) : v;
        f[2 * pad(i >> 1) + (i & 1)] = v;
      }
    }
  } else {
    // VEC scalars = VEC/2 complex points per access; LEN % VEC == 0 and the row is aligned
    constexpr int NV = F / VEC;
#pragma unroll
    for (int it = 0; it < (NV + THREADS - 1) / THREADS; ++it) {
      const int i = tid + it * THREADS;
      if (NV % THREADS == 0 || i < NV) {
        T v[VEC];
        IO::template ldv<VEC>(x + i * VEC, v);
        if constexpr (GATE) {
          T w[VEC];
          IO::template ldv<VEC>(g + i * VEC, w);
#pragma unroll
          for (int u = 0; u < VEC; ++u) v[u] *= w[u];     // real samples, not complex products
        }
#pragma unroll
        for (int u = 0; u < VEC / 2; ++u) buf[pad(i * (VEC / 2) + u)] = cx<T>{v[2 * u], v[2 * u + 1]};
      }
    }
  }
}

// out[i] = packed sample START + i (times g[i] when GATE), for i < COUNT.
template <class T, class IO, int START, int COUNT, int THREADS, int VEC, bool GATE = false>
__device__ __forceinline__ void store_real_row(typename IO::raw* __restrict__ y, const cx<T>* buf, int tid,
                                               const typename IO::raw* __restrict__ g = nullptr) {
  const T* f = reinterpret_cast<const T*>(buf);
  if constexpr (VEC == 1) {
#pragma unroll
    for (int it = 0; it < (COUNT + THREADS - 1) / THREADS; ++it) {
      const int i = tid + it * THREADS;
      const int s = START + i;
      if (COUNT % THREADS == 0 || i < COUNT) {
        T v = f[2 * pad(s >> 1) + (s & 1)];
        if constexpr (GATE) v *= IO::ld(g + i);
        IO::st(y + i, v);
      }
    }
  } else {
    constexpr int NV = COUNT / VEC;
#pragma unroll
    for (int it = 0; it < (NV + THREADS - 1) / THREADS; ++it) {
      const int i = tid + it * THREADS;
      if (NV % THREADS == 0 || i < NV) {
        const int e = (START + i * VEC) >> 1;
        T v[VEC];
#pragma unroll
        for (int u = 0; u < VEC / 2; ++u) {
          const cx<T> p = buf[pad(e + u)];
          v[2 * u] = p.re;
          v[2 * u + 1] = p.im;
        }
        if constexpr (GATE) {
          T w[VEC];
          IO::template ldv<VEC>(g + i * VEC, w);
#pragma unroll
          for (int u = 0; u < VEC; ++u) v[u] *= w[u];
        }
        IO::template stv<VEC>(y + i * VEC, v);
      }
    }
  }
}

// VP packed points (2 VP samples) of a real row from / to sample 2e, one access.
template <class T, class IO, int VP>
__device__ __forceinline__ void load_row_pts(cx<T>* out, const typename IO::raw* __restrict__ x, long long e) {
  T v[2 * VP];
  IO::template ldv<2 * VP>(x + 2 * e, v);
#pragma unroll
  for (int u = 0; u < VP; ++u) out[u] = {v[2 * u], v[2 * u + 1]};
}

template <class T, class IO, int VP>
__device__ __forceinline__ void store_row_pts(typename IO::raw* y, const cx<T>* in, long long e) {
  T v[2 * VP];
#pragma unroll
  for (int u = 0; u < VP; ++u) { v[2 * u] = in[u].re; v[2 * u + 1] = in[u].im; }
  IO::template stv<2 * VP>(y + 2 * e, v);
}

}  // namespace fc
