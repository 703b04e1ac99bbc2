// Direct column stages of the three-pass layout (Plan.direct_columns).
//
// A block owns C adjacent columns; thread (t, c) = (threadIdx.x / C, threadIdx.x % C)
// runs butterflies of column c, so a warp's loads and stores touch consecutive points
// of one row of the (b, a) view.  The first stage reads global memory and the last one
// writes it through the caller's `load` / `store`; stages between exchange through
// shared memory laid out [point][column] (consecutive lanes, consecutive words).
#pragma once
#include "stockham.cuh"

namespace fc {

// One radix-R Stockham stage of an S-point column (the indexing of `stage`): butterfly
// j reads points j + r S/R through load(p) and hands point (j/NS) NS R + j%NS + r NS to
// store(p, v).  Inputs at r S/R >= NZ are implicit zeros (never loaded); outputs at
// r NS >= NOUT are never stored (last stage only, where j < NS), so their arithmetic
// is dead code.  SYNC: a barrier between the loads and the stores (both in shared memory).
template <class T, int S, int R, int NS, int THREADS, int SIGN, int NZ, int NOUT, bool SYNC,
          int Q, int LO_BITS, int TAB, class Load, class Store>
__device__ __forceinline__ void col_stage(int t, const cx<T>* __restrict__ lo, const cx<T>* __restrict__ hi,
                                          Load load, Store store) {
  constexpr int J = S / R;
  constexpr int IT = (J + THREADS - 1) / THREADS;
  cx<T> v[IT][R];
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const int j = t + it * THREADS;
    if (J % THREADS == 0 || j < J) {
#pragma unroll
      for (int r = 0; r < R; ++r) v[it][r] = r * J < NZ ? load(j + r * J) : zero<T>();
      twiddle_inputs<R, NS, J, NZ, SIGN, Q, LO_BITS, TAB>(v[it], j % NS, lo, hi);
    }
  }
  if constexpr (SYNC) __syncthreads();
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const int j = t + it * THREADS;
    if (J % THREADS == 0 || j < J) {
      dft<R, SIGN>(v[it]);
      const int base = (j / NS) * NS * R + (j % NS);
#pragma unroll
      for (int r = 0; r < R; ++r)
        if (r * NS < NOUT) store(base + r * NS, v[it][r]);
    }
  }
}

// Row of point k in the [point][column] buffer with the swizzle of Plan.col_swizzle_bit:
// rows of C columns narrower than a 128-byte line share it, and the bits that pick the row
// within its line are XORed with the bits of k from SWZ up, so points k and k + 2^SWZ of
// one half-warp land on different banks (plan/banks.py column_cost).
template <int SWZ, int C, class T>
__device__ __forceinline__ int col_row(int k) {
  constexpr int PER_LINE = 128 / int(sizeof(cx<T>)) / C;
  constexpr int MASK = (PER_LINE > 1 ? PER_LINE : 1) - 1;
  return k ^ ((k >> SWZ) & MASK);
}

// w_m^(SIGN a kb) for a = C blk + c from the split column tables (Plan.column_twiddles):
// t1 = T1 + c (row kb at kb C), t2 = T2 + blk B (entry kb).
template <int C, int SIGN, class T>
__device__ __forceinline__ cx<T> column_twiddle(const cx<T>* __restrict__ t1, const cx<T>* __restrict__ t2,
                                                int kb) {
  const cx<T> w = ldg(t1 + kb * C) * ldg(t2 + kb);
  return SIGN < 0 ? w : conj(w);
}

}  // namespace fc
