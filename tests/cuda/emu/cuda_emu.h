/* A CPU stand-in for the CUDA device environment, enough to compile the CUDA
 * C that ugcc generates (the `--dump-ir` source of a model) with a host C++
 * compiler and run its kernels on the host: every thread of a block is a
 * fiber of one host thread, switched at barriers, the blocks of a launch
 * run one after the other (last first), __syncthreads and warp shuffles
 * are barriers.  It checks the kernels' logic (indexing,
 * bounds, reductions, barriers, staging), not their speed, and not the
 * sm_80-only paths (`#if __CUDA_ARCH__ >= 800`: cp.async, mma, ldmatrix),
 * which take the portable branch here because __CUDA_ARCH__ is undefined.
 *
 * Used by tests/cuda/emu/emucuda.cpp (a fake libcuda for libugrt) through the
 * wrapper emu_build.py writes: this header, the generated source in a
 * namespace (its int64_t typedefs would clash with the host's), and a table
 * of its kernels. */
#ifndef UG_CUDA_EMU_H
#define UG_CUDA_EMU_H

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <cstring>

/* ---- the launch state each emulated thread sees ---- */
struct ugemu_dim3 {
  unsigned x, y, z;
};
/* The threads of a block are fibers of one host thread (emucuda.cpp), so
 * these are plain globals, set at every switch. */
extern ugemu_dim3 threadIdx, blockIdx, blockDim, gridDim;

/* Barriers of the block and of this thread's warp (emucuda.cpp).  A thread
 * that returns from the kernel leaves both, as on the GPU. */
int ugemu_block_sync(int pred, int op); /* op 0: none, 1: or, 2: and, 3: count */
unsigned long long ugemu_warp_exchange(unsigned long long v, int src_lane);
void ugemu_warp_sync();
unsigned char *ugemu_dynamic_smem();

/* The kernels of the emulated model (the wrapper of emu_build.py): name,
 * a call taking cuLaunchKernel's parameter array, the parameter count
 * (every parameter is a pointer, docs/abi.md). */
struct ugemu_kernel_t {
  const char *name;
  void (*call)(void **params);
  int num_params;
};
extern const ugemu_kernel_t ugemu_kernels[];
extern const int ugemu_num_kernels;

/* cuda_fp16.h's host_defines.h has its own meanings for these */
#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __noinline__
#undef __launch_bounds__
#undef __align__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

static inline void __syncthreads() { ugemu_block_sync(0, 0); }
static inline int __syncthreads_or(int p) { return ugemu_block_sync(p != 0, 1); }
static inline int __syncthreads_and(int p) { return ugemu_block_sync(p != 0, 2); }
static inline int __syncthreads_count(int p) { return ugemu_block_sync(p != 0, 3); }
static inline void __syncwarp(unsigned = 0xffffffffu) { ugemu_warp_sync(); }

template <class T> static inline T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
  static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
  unsigned long long u = 0;
  std::memcpy(&u, &v, sizeof(T));
  const int lane = (int)(threadIdx.x & 31), src = lane ^ mask;
  u = ugemu_warp_exchange(u, src < ((lane / width) + 1) * width ? src : lane);
  T r;
  std::memcpy(&r, &u, sizeof(T));
  return r;
}
template <class T> static inline T __shfl_sync(unsigned, T v, int src, int width = 32) {
  unsigned long long u = 0;
  std::memcpy(&u, &v, sizeof(T));
  const int lane = (int)(threadIdx.x & 31);
  u = ugemu_warp_exchange(u, (lane / width) * width + (src % width));
  T r;
  std::memcpy(&r, &u, sizeof(T));
  return r;
}
template <class T> static inline T __shfl_down_sync(unsigned, T v, unsigned d, int width = 32) {
  unsigned long long u = 0;
  std::memcpy(&u, &v, sizeof(T));
  const int lane = (int)(threadIdx.x & 31), src = lane + (int)d;
  u = ugemu_warp_exchange(u, src < ((lane / width) + 1) * width ? src : lane);
  T r;
  std::memcpy(&r, &u, sizeof(T));
  return r;
}

/* correctly rounded arithmetic: the host's, without contraction
 * (compiled with -ffp-contract=off) */
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
static inline unsigned __float_as_uint(float f) { unsigned i; std::memcpy(&i, &f, 4); return i; }
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline float __uint_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline long long __double_as_longlong(double d) { long long i; std::memcpy(&i, &d, 8); return i; }
static inline double __longlong_as_double(long long i) { double d; std::memcpy(&d, &i, 8); return d; }
template <class T> static inline T __ldg(const T *p) { return *p; }
static inline int __popc(unsigned v) { return __builtin_popcount(v); }
static inline int __ffs(int v) { return __builtin_ffs(v); }
static inline int __clz(int v) { return v ? __builtin_clz((unsigned)v) : 32; }

using std::abs;
using std::ceil;
using std::exp;
using std::floor;
using std::isinf;
using std::isnan;
using std::log;
using std::sqrt;

#endif
