// Complex arithmetic on a two-member struct (8- or 16-byte aligned, so a complex
// moves as one vector load).
#pragma once

namespace fc {

template <class T>
struct alignas(2 * sizeof(T)) cx {
  T re, im;
};

template <class T> __device__ __forceinline__ cx<T> operator+(cx<T> a, cx<T> b) { return {a.re + b.re, a.im + b.im}; }
template <class T> __device__ __forceinline__ cx<T> operator-(cx<T> a, cx<T> b) { return {a.re - b.re, a.im - b.im}; }
template <class T> __device__ __forceinline__ cx<T> operator*(cx<T> a, cx<T> b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
template <class T> __device__ __forceinline__ cx<T> operator*(cx<T> a, T s) { return {a.re * s, a.im * s}; }
template <class T> __device__ __forceinline__ cx<T> conj(cx<T> a) { return {a.re, -a.im}; }
template <class T> __device__ __forceinline__ cx<T> zero() { return {T(0), T(0)}; }
// S*i*a for S = +1 or -1
template <int S, class T> __device__ __forceinline__ cx<T> mul_si(cx<T> a) {
  if constexpr (S > 0) return {-a.im, a.re};
  else return {a.im, -a.re};
}

// Read-only cached loads of a complex value.
__device__ __forceinline__ cx<float> ldg(const cx<float>* p) {
  float2 v = __ldg(reinterpret_cast<const float2*>(p));
  return {v.x, v.y};
}
__device__ __forceinline__ cx<double> ldg(const cx<double>* p) {
  double2 v = __ldg(reinterpret_cast<const double2*>(p));
  return {v.x, v.y};
}

// The two coefficients of one bin of a real plan's spectrum (plan/spectrum.py),
// one 16-byte load in fp32.
template <class T>
struct alignas(4 * sizeof(T)) coef {
  cx<T> a, g;
};

__device__ __forceinline__ coef<float> ldg(const coef<float>* p) {
  const float4 v = __ldg(reinterpret_cast<const float4*>(p));
  return {{v.x, v.y}, {v.z, v.w}};
}
__device__ __forceinline__ coef<double> ldg(const coef<double>* p) {
  const cx<double>* q = reinterpret_cast<const cx<double>*>(p);
  return {ldg(q), ldg(q + 1)};
}

// VP consecutive complex points as one vector access (VP = 2: 16 bytes of fp32).
template <class T, int VP>
__device__ __forceinline__ void load_pts(cx<T>* out, const cx<T>* p) {
  if constexpr (VP == 2 && sizeof(T) == 4) {
    const float4 v = __ldg(reinterpret_cast<const float4*>(p));
    out[0] = {v.x, v.y};
    out[1] = {v.z, v.w};
  } else {
#pragma unroll
    for (int u = 0; u < VP; ++u) out[u] = ldg(p + u);
  }
}

template <class T, int VP>
__device__ __forceinline__ void store_pts(cx<T>* p, const cx<T>* in) {
  if constexpr (VP == 2 && sizeof(T) == 4) {
    *reinterpret_cast<float4*>(p) = make_float4(in[0].re, in[0].im, in[1].re, in[1].im);
  } else {
#pragma unroll
    for (int u = 0; u < VP; ++u) p[u] = in[u];
  }
}

}  // namespace fc
