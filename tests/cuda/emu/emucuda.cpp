// A fake libcuda for libugrt (runtime/src/cuda_driver.h lists what it
// uses): "device" memory is host memory and cuLaunchKernel runs the kernel
// of one model, compiled for the host with cuda_emu.h, on the calling
// thread (the threads of a block as fibers, the blocks one after the other,
// last first).  Built per model by
// emu_build.py, selected with UGRT_LIBCUDA; it lets the CUDA code path of
// libugrt and the generated kernels run, slowly, on a machine without a GPU.
// The image given to cuModuleLoadDataEx (a cubin or PTX) is not looked at:
// cuModuleGetFunction finds the kernel by name in the table the wrapper
// defines.  Graph capture records the launches and replays them.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "cuda_emu.h"


ugemu_dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace {

// The threads of a block are fibers run by one host thread, in order, each
// until it reaches a barrier or returns; a barrier releases its waiters once
// every thread of its scope that has not returned waits there.  Only one
// launch runs at a time (g_launch_mu).
enum { RUN, AT_BLOCK, AT_WARP, DONE };

// A fiber switch: saves the callee-saved registers on the current stack,
// stores the stack pointer in *from, continues on the stack `to` (x86-64
// System V; the kernels change neither MXCSR nor the x87 control word).
extern "C" void ugemu_switch(void **from, void *to);
asm(R"(
  .text
  .globl ugemu_switch
  .type ugemu_switch, @function
ugemu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size ugemu_switch, .-ugemu_switch
  .section .note.GNU-stack,"",@progbits
  .text
)");

struct Fiber {
  void *sp;
  int state;
  int result;  // the barrier's combined value, when released
};

struct Block {
  const ugemu_kernel_t *k;
  void **params;
  unsigned nt;
  std::vector<Fiber> f;
  std::vector<std::unique_ptr<char[]>> stacks;
  void *sched;
  unsigned cur;
  int acc, arrived;             // the block barrier being gathered
  unsigned long long slot[1024];  // warp exchanges, by thread
};

Block *g_blk;
unsigned char *g_smem;
std::mutex g_launch_mu;

[[noreturn]] void entry() {
  Block *b = g_blk;
  b->k->call(b->params);
  b->f[b->cur].state = DONE;
  ugemu_switch(&b->f[b->cur].sp, b->sched);
  std::abort();  // a finished fiber is never resumed
}

void yield_as(int state) {
  Block *b = g_blk;
  Fiber &me = b->f[b->cur];
  me.state = state;
  ugemu_switch(&me.sp, b->sched);
  threadIdx = {b->cur, 0, 0};
}

// A fresh fiber on stack [lo, lo + size): the first switch to it "returns"
// into entry, with the stack aligned as after a call.
void *fresh_stack(char *lo, size_t size) {
  uintptr_t top = ((uintptr_t)(lo + size)) & ~(uintptr_t)15;
  uintptr_t *sp = (uintptr_t *)top;
  *--sp = 0;                     // entry's return address: it never returns
  *--sp = (uintptr_t)&entry;     // popped by ugemu_switch's ret
  for (int i = 0; i < 6; i++) *--sp = 0;  // rbp rbx r12 r13 r14 r15
  return sp;
}

struct Launch {
  const ugemu_kernel_t *k;
  unsigned grid, block, smem;
  std::vector<unsigned long long> args;
};

// Releases the barriers every live thread of whose scope waits at; false
// when nothing can run (a deadlock: threads at different barriers).
bool release(Block &b) {
  bool any = false;
  bool all = true, some = false;
  for (auto &f : b.f) {
    if (f.state == RUN || f.state == AT_WARP) all = false;
    some = some || f.state == AT_BLOCK;
  }
  if (all && some) {
    for (auto &f : b.f)
      if (f.state == AT_BLOCK) f.state = RUN, f.result = b.acc;
    b.arrived = 0;
    any = true;
  }
  for (unsigned w = 0; w * 32 < b.nt; w++) {
    unsigned lo = 32 * w, hi = lo + 32 < b.nt ? lo + 32 : b.nt;
    bool wall = true, wsome = false;
    for (unsigned t = lo; t < hi; t++) {
      if (b.f[t].state == RUN || b.f[t].state == AT_BLOCK) wall = false;
      wsome = wsome || b.f[t].state == AT_WARP;
    }
    if (wall && wsome) {
      for (unsigned t = lo; t < hi; t++)
        if (b.f[t].state == AT_WARP) b.f[t].state = RUN;
      any = true;
    }
  }
  return any;
}

void run(const Launch &L) {
  std::lock_guard<std::mutex> lk(g_launch_mu);
  const unsigned nt = L.block;
  const size_t stack = 256 * 1024;
  blockDim = {nt, 1, 1};
  gridDim = {L.grid, 1, 1};
  std::vector<unsigned char> smem(L.smem + 16, 0xcd);  // stale bytes are not zeros on a GPU either
  g_smem = smem.data();
  std::vector<unsigned long long> vals = L.args;
  std::vector<void *> params(vals.size());
  for (size_t i = 0; i < vals.size(); i++) params[i] = &vals[i];
  Block b;
  b.k = L.k;
  b.params = params.data();
  b.nt = nt;
  b.f.resize(nt);
  for (unsigned t = 0; t < nt; t++) b.stacks.emplace_back(new char[stack]);
  g_blk = &b;
  // blocks in reverse order: a kernel that relies on blocks running in
  // order (which a GPU does not promise) fails here
  for (unsigned i = 0; i < L.grid; i++) {
    const unsigned blk = L.grid - 1 - i;
    blockIdx = {blk, 0, 0};
    b.acc = 0;
    b.arrived = 0;
    for (unsigned t = 0; t < nt; t++) {
      b.f[t].sp = fresh_stack(b.stacks[t].get(), stack);
      b.f[t].state = RUN;
    }
    for (;;) {
      bool ran = false;
      for (unsigned t = 0; t < nt; t++) {
        if (b.f[t].state != RUN) continue;
        b.cur = t;
        threadIdx = {t, 0, 0};
        ugemu_switch(&b.sched, b.f[t].sp);
        ran = true;
      }
      bool done = true;
      for (auto &f : b.f) done = done && f.state == DONE;
      if (done) break;
      if (!release(b) && !ran) {
        std::fprintf(stderr, "emucuda: kernel %s, block %u: threads wait at different barriers\n", L.k->name, blk);
        std::abort();
      }
    }
  }
  g_blk = nullptr;
}

struct Graph {
  std::vector<Launch> launches;
};
bool g_capturing;
Graph *g_capture;

}  // namespace

int ugemu_block_sync(int pred, int op) {
  Block *b = g_blk;
  if (b->arrived++ == 0) b->acc = op == 2 ? 1 : 0;
  b->acc = op == 1 ? (b->acc | pred) : op == 2 ? (b->acc & pred) : b->acc + pred;
  yield_as(AT_BLOCK);
  return b->f[b->cur].result;
}
void ugemu_warp_sync() { yield_as(AT_WARP); }
unsigned long long ugemu_warp_exchange(unsigned long long v, int src) {
  Block *b = g_blk;
  const unsigned me = b->cur, base = me & ~31u;
  b->slot[me] = v;
  yield_as(AT_WARP);
  unsigned long long r = b->slot[base + (unsigned)(src & 31)];
  yield_as(AT_WARP);
  return r;
}
unsigned char *ugemu_dynamic_smem() { return g_smem; }

// ---- the driver API (the driver's ABI: handles are pointers, results ints) ----
extern "C" {
typedef unsigned long long cu_ptr_t;

int cuInit(unsigned) { return 0; }
int cuGetErrorName(int r, const char **out) {
  *out = r == 0 ? "CUDA_SUCCESS" : r == 500 ? "CUDA_ERROR_NOT_FOUND" : "CUDA_ERROR_EMULATED";
  return 0;
}
int cuGetErrorString(int r, const char **out) {
  *out = r == 0 ? "no error" : "error in the CUDA emulation (tests/cuda/emu)";
  return 0;
}
int cuDeviceGetCount(int *n) {
  *n = 1;
  return 0;
}
int cuDeviceGet(int *d, int ordinal) {
  *d = ordinal;
  return ordinal == 0 ? 0 : 101;
}
int cuDeviceGetAttribute(int *out, int attr, int) {
  *out = attr == 75 ? 9 : attr == 76 ? 0 : 0;  // compute capability 9.0
  return 0;
}
int cuDevicePrimaryCtxRetain(void **ctx, int) {
  static int c;
  *ctx = &c;
  return 0;
}
int cuDevicePrimaryCtxRelease_v2(int) { return 0; }
int cuCtxPushCurrent_v2(void *) { return 0; }
int cuCtxPopCurrent_v2(void **ctx) {
  if (ctx) *ctx = nullptr;
  return 0;
}
int cuModuleLoadDataEx(void **mod, const void *, unsigned, int *, void **) {
  static int m;
  *mod = &m;
  return 0;
}
int cuModuleUnload(void *) { return 0; }
int cuModuleGetFunction(const ugemu_kernel_t **f, void *, const char *name) {
  for (int i = 0; i < ugemu_num_kernels; i++)
    if (std::strcmp(ugemu_kernels[i].name, name) == 0) {
      *f = &ugemu_kernels[i];
      return 0;
    }
  std::fprintf(stderr, "emucuda: no kernel %s in this emulation library\n", name);
  return 500;
}
int cuFuncSetAttribute(void *, int, int) { return 0; }
int cuMemAlloc_v2(cu_ptr_t *out, size_t size) {
  void *p = std::aligned_alloc(256, (size + 255) / 256 * 256 + 256);
  if (!p) return 2;
  std::memset(p, 0xcd, (size + 255) / 256 * 256 + 256);
  *out = (cu_ptr_t)(uintptr_t)p;
  return 0;
}
int cuMemFree_v2(cu_ptr_t p) {
  std::free((void *)(uintptr_t)p);
  return 0;
}
int cuMemcpyHtoDAsync_v2(cu_ptr_t dst, const void *src, size_t n, void *) {
  if (n) std::memcpy((void *)(uintptr_t)dst, src, n);
  return 0;
}
int cuMemcpyHtoD_v2(cu_ptr_t dst, const void *src, size_t n) {
  if (n) std::memcpy((void *)(uintptr_t)dst, src, n);
  return 0;
}
int cuMemcpyDtoHAsync_v2(void *dst, cu_ptr_t src, size_t n, void *) {
  if (n) std::memcpy(dst, (const void *)(uintptr_t)src, n);
  return 0;
}
int cuStreamCreate(void **s, unsigned) {
  static int st;
  *s = &st;
  return 0;
}
int cuStreamDestroy_v2(void *) { return 0; }
int cuStreamSynchronize(void *) { return 0; }
int cuLaunchKernel(const ugemu_kernel_t *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                   unsigned bz, unsigned shared, void *, void **params, void **) {
  if (gy != 1 || gz != 1 || by != 1 || bz != 1 || bx == 0 || bx > 1024) return 1;
  Launch L{f, gx, bx, shared, {}};
  for (int i = 0; i < f->num_params; i++) L.args.push_back(*(unsigned long long *)params[i]);
  if (std::getenv("UGEMU_TRACE")) {
    std::fprintf(stderr, "emucuda: %s grid %u block %u shared %u args", f->name, gx, bx, shared);
    for (unsigned long long a : L.args) std::fprintf(stderr, " %#llx", a);
    std::fprintf(stderr, "%s\n", g_capturing ? " (captured)" : "");
  }
  if (g_capturing) {
    g_capture->launches.push_back(L);
    return 0;
  }
  run(L);
  return 0;
}
int cuStreamBeginCapture_v2(void *, int) {
  g_capturing = true;
  g_capture = new Graph;
  return 0;
}
int cuStreamEndCapture(void *, Graph **out) {
  g_capturing = false;
  *out = g_capture;
  g_capture = nullptr;
  return 0;
}
int cuGraphInstantiateWithFlags(Graph **out, Graph *g, unsigned long long) {
  *out = new Graph(*g);
  return 0;
}
int cuGraphLaunch(Graph *g, void *) {
  for (const Launch &L : g->launches) run(L);
  return 0;
}
int cuGraphExecDestroy(Graph *g) {
  delete g;
  return 0;
}
int cuGraphDestroy(Graph *g) {
  delete g;
  return 0;
}
}
