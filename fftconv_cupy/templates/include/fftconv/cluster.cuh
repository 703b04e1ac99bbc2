// Distributed shared memory of a thread-block cluster (sm_90), by 32-bit
// shared::cluster addresses: cheaper in registers and instructions than generic
// pointers from __cluster_map_shared_rank.
#pragma once
#include "complex.cuh"

namespace fc {

// Address of `p` (in this block's shared memory) inside block `rank`'s shared memory.
__device__ __forceinline__ unsigned dsmem_addr(const void* p, int rank) {
  const unsigned local = static_cast<unsigned>(__cvta_generic_to_shared(p));
  unsigned remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(local), "r"(rank));
  return remote;
}

__device__ __forceinline__ void dsmem_st(unsigned addr, cx<float> v) {
  asm volatile("st.shared::cluster.v2.f32 [%0], {%1, %2};" ::"r"(addr), "f"(v.re), "f"(v.im) : "memory");
}
__device__ __forceinline__ void dsmem_st(unsigned addr, cx<double> v) {
  asm volatile("st.shared::cluster.v2.f64 [%0], {%1, %2};" ::"r"(addr), "d"(v.re), "d"(v.im) : "memory");
}

template <class T>
__device__ __forceinline__ cx<T> dsmem_ld(unsigned addr);
template <>
__device__ __forceinline__ cx<float> dsmem_ld<float>(unsigned addr) {
  cx<float> v;
  asm volatile("ld.shared::cluster.v2.f32 {%0, %1}, [%2];" : "=f"(v.re), "=f"(v.im) : "r"(addr));
  return v;
}
template <>
__device__ __forceinline__ cx<double> dsmem_ld<double>(unsigned addr) {
  cx<double> v;
  asm volatile("ld.shared::cluster.v2.f64 {%0, %1}, [%2];" : "=d"(v.re), "=d"(v.im) : "r"(addr));
  return v;
}

// Whole-cluster barrier: arrive releases this thread's writes (shared memory of any
// block included), wait acquires everyone's.
__device__ __forceinline__ void cluster_arrive() { asm volatile("barrier.cluster.arrive.release.aligned;" ::: "memory"); }
__device__ __forceinline__ void cluster_wait() { asm volatile("barrier.cluster.wait.acquire.aligned;" ::: "memory"); }

}  // namespace fc
