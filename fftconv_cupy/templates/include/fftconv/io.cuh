// Element types of real signal rows in global memory.  Rows are read and written
// in their own dtype and converted on chip: fp32/fp64 as they are, fp16 and bf16
// (raw 16-bit patterns, no CUDA headers needed) to and from fp32.
#pragma once

namespace fc {

template <class T>
struct Native {
  using raw = T;
  __device__ static __forceinline__ T ld(const raw* p) { return __ldg(p); }
  __device__ static __forceinline__ void st(raw* p, T v) { *p = v; }
  // N consecutive samples from / to an N-aligned address
  template <int N>
  __device__ static __forceinline__ void ldv(const raw* p, T* out) {
    if constexpr (N == 4 && sizeof(T) == 4) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(p));
      out[0] = v.x; out[1] = v.y; out[2] = v.z; out[3] = v.w;
    } else if constexpr (N == 2 && sizeof(T) == 4) {
      const float2 v = __ldg(reinterpret_cast<const float2*>(p));
      out[0] = v.x; out[1] = v.y;
    } else if constexpr (N == 2) {
      const double2 v = __ldg(reinterpret_cast<const double2*>(p));
      out[0] = v.x; out[1] = v.y;
    } else {
#pragma unroll
      for (int u = 0; u < N; ++u) out[u] = __ldg(p + u);
    }
  }
  template <int N>
  __device__ static __forceinline__ void stv(raw* p, const T* in) {
    if constexpr (N == 4 && sizeof(T) == 4) {
      *reinterpret_cast<float4*>(p) = make_float4(in[0], in[1], in[2], in[3]);
    } else if constexpr (N == 2 && sizeof(T) == 4) {
      *reinterpret_cast<float2*>(p) = make_float2(in[0], in[1]);
    } else if constexpr (N == 2) {
      *reinterpret_cast<double2*>(p) = make_double2(in[0], in[1]);
    } else {
#pragma unroll
      for (int u = 0; u < N; ++u) p[u] = in[u];
    }
  }
};

// 16-bit rows: HALF = 1 IEEE fp16, 0 bfloat16.  Vectors of 2 and 4 samples move as
// one 4- or 8-byte access.
template <int HALF>
struct Bits16 {
  using raw = unsigned short;
  __device__ static __forceinline__ float cvt(unsigned short b) {
    if constexpr (HALF) {
      float f;
      asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(b));
      return f;
    } else {
      return __uint_as_float(unsigned(b) << 16);
    }
  }
  __device__ static __forceinline__ unsigned short cvt(float f) {
    unsigned short b;
    if constexpr (HALF) asm("cvt.rn.f16.f32 %0, %1;" : "=h"(b) : "f"(f));
    else asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(b) : "f"(f));
    return b;
  }
  __device__ static __forceinline__ float ld(const raw* p) { return cvt(__ldg(p)); }
  __device__ static __forceinline__ void st(raw* p, float v) { *p = cvt(v); }
  template <int N>
  __device__ static __forceinline__ void ldv(const raw* p, float* out) {
    if constexpr (N == 4) {
      const uint2 v = __ldg(reinterpret_cast<const uint2*>(p));
      out[0] = cvt((unsigned short)(v.x & 0xffffu)); out[1] = cvt((unsigned short)(v.x >> 16));
      out[2] = cvt((unsigned short)(v.y & 0xffffu)); out[3] = cvt((unsigned short)(v.y >> 16));
    } else if constexpr (N == 2) {
      const unsigned v = __ldg(reinterpret_cast<const unsigned*>(p));
      out[0] = cvt((unsigned short)(v & 0xffffu)); out[1] = cvt((unsigned short)(v >> 16));
    } else {
#pragma unroll
      for (int u = 0; u < N; ++u) out[u] = ld(p + u);
    }
  }
  template <int N>
  __device__ static __forceinline__ void stv(raw* p, const float* in) {
    if constexpr (N == 4) {
      *reinterpret_cast<uint2*>(p) = make_uint2(unsigned(cvt(in[0])) | (unsigned(cvt(in[1])) << 16),
                                                unsigned(cvt(in[2])) | (unsigned(cvt(in[3])) << 16));
    } else if constexpr (N == 2) {
      *reinterpret_cast<unsigned*>(p) = unsigned(cvt(in[0])) | (unsigned(cvt(in[1])) << 16);
    } else {
#pragma unroll
      for (int u = 0; u < N; ++u) st(p + u, in[u]);
    }
  }
};
using Half = Bits16<1>;
using BHalf = Bits16<0>;

}  // namespace fc
