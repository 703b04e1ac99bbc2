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

}  // namespace fc
