// Small DFTs in registers: the dense blocks of the Monarch decomposition.
// Powers of two recurse radix-2 (decimation in time); odd radices are dense,
// using the cos/sin symmetry of conjugate pairs.  SIGN = -1 forward, +1 inverse
// (unnormalized).  Every loop is fully unrolled, so twiddle indices are
// constants and the trivial rotations (1, +-i, (1+-i)/sqrt2) cost no multiplies.
#pragma once
#include "complex.cuh"
#include "roots.cuh"

namespace fc {

// w_R^(SIGN*k) * v for 0 <= k < R, R a power of two <= 32.
template <int R, int SIGN, class T>
__device__ __forceinline__ cx<T> rotate(int k, cx<T> v) {
  static_assert(R <= 32 && (R & (R - 1)) == 0, "rotations are tabulated in 32nds of a turn");
  constexpr int N = R > 16 ? 32 : 16;  // angle in N-ths of a turn
  const int q = k * (N / R);
  constexpr int Q4 = N / 4, Q8 = N / 8;
  if (q == 0) return v;
  if (q == Q4) return mul_si<SIGN>(v);
  if (q == 2 * Q4) return {-v.re, -v.im};
  if (q == 3 * Q4) return mul_si<-SIGN>(v);
  const T c = T(root_cos<N>(q));
  const T s = T(SIGN) * T(root_sin<N>(q));
  if (q % Q8 == 0) {                    // odd multiples of pi/4: |c| == |s|
    const bool first = q == Q8 || q == 5 * Q8;
    const T u = first ? (v.re - T(SIGN) * v.im) : (v.re + T(SIGN) * v.im);
    const T w = first ? (v.im + T(SIGN) * v.re) : (v.im - T(SIGN) * v.re);
    return {u * c, w * c};
  }
  return {v.re * c - v.im * s, v.re * s + v.im * c};
}

template <int R, int SIGN, class T>
__device__ __forceinline__ void dft(cx<T>* v) {
  if constexpr (R == 1) {
  } else if constexpr (R == 2) {
    const cx<T> a = v[0], b = v[1];
    v[0] = a + b;
    v[1] = a - b;
  } else if constexpr ((R & (R - 1)) == 0) {
    cx<T> e[R / 2], o[R / 2];
#pragma unroll
    for (int i = 0; i < R / 2; ++i) {
      e[i] = v[2 * i];
      o[i] = v[2 * i + 1];
    }
    dft<R / 2, SIGN>(e);
    dft<R / 2, SIGN>(o);
#pragma unroll
    for (int k = 0; k < R / 2; ++k) {
      const cx<T> t = rotate<R, SIGN>(k, o[k]);
      v[k] = e[k] + t;
      v[k + R / 2] = e[k] - t;
    }
  } else {
    static_assert(R == 3 || R == 5 || R == 7, "unsupported radix");
    constexpr int H = (R - 1) / 2;
    cx<T> s[H + 1], d[H + 1];
    cx<T> out[R];
    out[0] = v[0];
#pragma unroll
    for (int j = 1; j <= H; ++j) {
      s[j] = v[j] + v[R - j];
      d[j] = v[j] - v[R - j];
      out[0] = out[0] + s[j];
    }
#pragma unroll
    for (int k = 1; k < R; ++k) {
      cx<T> acc = v[0];
#pragma unroll
      for (int j = 1; j <= H; ++j) {
        const int m = (j * k) % R;
        const T c = T(root_cos<R>(m));
        const T sn = T(SIGN) * T(root_sin<R>(m));
        // v_j w^(jk) + v_(R-j) w^(-jk) = s_j cos + i sn d_j
        acc.re += s[j].re * c - sn * d[j].im;
        acc.im += s[j].im * c + sn * d[j].re;
      }
      out[k] = acc;
    }
#pragma unroll
    for (int k = 0; k < R; ++k) v[k] = out[k];
  }
}

}  // namespace fc
