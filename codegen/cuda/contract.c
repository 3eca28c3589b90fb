/* CUDA kernels of the contract family (see kernel.h): matmul (and the
 * dispatch of linear, conv and conv_transpose), with the semantics of the
 * CPU backend (codegen/llvm/contract.c) and shapes of ir/infer.c.
 *
 * matmul (NumPy semantics: batch dims broadcast, a 1-d a is [1, K], a 1-d b
 * is [K, 1]) runs one block per output tile (a 1-d grid of at most
 * UG_CUDA_MAX_GRID blocks striding over batch x tiles, rows grouped by 8
 * for L2 reuse).
 *  - f16 / bf16: tensor cores.  128x128x32 block tiles, 8 warps of 64x32,
 *    mma.sync m16n8k16 with f32 accumulators; a 4-stage cp.async pipeline
 *    (zero-filling loads past the M/N/K edges) into XOR-swizzled shared
 *    memory, read with ldmatrix (.trans for B, which is [K, N] row-major).
 *    The 16-byte copies need K and N multiples of 8 and 16-byte aligned
 *    operands; otherwise the same pipeline loads element by element with
 *    bounds checks.  The result is rounded once from f32, as on the CPU.
 *    Below sm_80 (no cp.async / m16n8k16) each thread computes tile
 *    elements with scalar loops.
 *  - f32: tensor cores as well (sm_80 and newer), 128x128x16 block tiles
 *    on the same 8 warps, f32 kept in shared memory: 3xTF32 by default and for
 *    --precision=fp32, tf32 / f16 / bf16 rounding otherwise (mm_f32_tc);
 *    exact f32 on a SIMT tile below sm_80.
 *  - f64 and integers: a shared-memory tiled SIMT kernel, 64x64x16
 *    tiles, 4x4 results per thread.  Integers accumulate in unsigned
 *    arithmetic of at least 32 bits and are truncated to the result type:
 *    the same wrap-around as the CPU's accumulation in the operand type.
 * linear (x @ w^T with the weight in its storage layout, float or
 * block-quantized) is linear.c's; this file only routes it there.
 * conv and conv_transpose are conv.c's (their f16 / bf16 implicit GEMM
 * runs this file's tensor-core main loop, ug_cuda_mma16_loop). */
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda/kernel.h"
#include "codegen/kir_lower.h"

#define TEXT UG_CUDA_PROD

/* The type the SIMT matmul accumulates in. */
static const char *acc_type(ug_dtype_t dt) {
  switch (dt) {
  case UG_DTYPE_F64: return "double";
  case UG_DTYPE_F32: case UG_DTYPE_F16: case UG_DTYPE_BF16: return "float";
  case UG_DTYPE_I64: case UG_DTYPE_U64: return "unsigned long long";
  default: return "unsigned int";
  }
}

/* ---- matmul ---- */

typedef struct {
  char M[64], N[64], K[64];
  ug_dim_t dM, dN, batch;
  int ob; /* batch rank of the result */
} mm_shape_t;

static ug_status_t mm_shape(ug_cuda_kctx_t *k, mm_shape_t *s) {
  const ug_type_t *a = ug_value_type(k->g, k->ops[0]), *b = ug_value_type(k->g, k->ops[1]);
  const ug_type_t *o = ug_value_type(k->g, k->res[0]);
  if (a->rank < 1 || b->rank < 1) return ug_node_error(k->g, k->n, UG_ERR_SHAPE, "matmul of a scalar");
  bool a2 = a->rank >= 2, b2 = b->rank >= 2;
  s->dM = a2 ? a->dims[a->rank - 2] : 1;
  s->dN = b2 ? b->dims[b->rank - 1] : 1;
  ug_cuda_dimstr(s->dM, s->M, sizeof s->M);
  ug_cuda_dimstr(s->dN, s->N, sizeof s->N);
  ug_cuda_dimstr(a->dims[a->rank - 1], s->K, sizeof s->K);
  s->ob = o->rank - (a2 ? 1 : 0) - (b2 ? 1 : 0);
  if (s->ob < 0) return ug_node_error(k->g, k->n, UG_ERR_SHAPE, "matmul result rank");
  s->batch = 1;
  for (int i = 0; i < s->ob; i++) s->batch = ug_dim_mul(k->m->dims, s->batch, o->dims[i]);
  return NULL;
}

/* Opens the loop over output tiles of `tile` x `tile` (a 1-d grid striding
 * over batch x row tiles x column tiles): A, B and C point at this batch's
 * matrices, m0 / n0 are the tile's first row and column.  Within a batch,
 * groups of 8 row tiles sweep the column tiles together, so the blocks
 * running at once share their A rows and B columns in L2.  With split > 1
 * (mm_tc's split-K) the blocks of each cluster of `split` take the same
 * tiles; below sm_90 (no clusters) all but the first of them return.
 * Closed by mm_close. */
static void mm_open(ug_cuda_kctx_t *k, const mm_shape_t *s, int tile, int split) {
  const ug_type_t *a = ug_value_type(k->g, k->ops[0]), *b = ug_value_type(k->g, k->ops[1]);
  const ug_type_t *o = ug_value_type(k->g, k->res[0]);
  char nb[TEXT];
  ug_cuda_prodstr(o, 0, s->ob, nb, sizeof nb);
  fprintf(k->f, "  const int64_t M = %s, N = %s, K = %s, nb = %s;\n", s->M, s->N, s->K, nb);
  fprintf(k->f, "  const int64_t tm = (M + %d) / %d, tn = (N + %d) / %d, per = tm * tn;\n", tile - 1, tile, tile - 1,
          tile);
  ug_cuda_tile_loop(k->f, "per * nb", split);
  fprintf(k->f, "    const int64_t bi = tile / per, id = tile - bi * per, gid = id / (8 * tn), in = id - gid * 8 * tn;\n");
  fprintf(k->f, "    const int64_t gs = tm - gid * 8 < 8 ? tm - gid * 8 : 8, mt = gid * 8 + in %% gs, nt = in / gs;\n");
  /* batch offsets of a and b (in matrices), broadcasting as NumPy does */
  ug_type_t ab = *a, bb = *b, obt = *o;
  ab.rank = a->rank >= 2 ? a->rank - 2 : 0;
  bb.rank = b->rank >= 2 ? b->rank - 2 : 0;
  obt.rank = s->ob;
  char (*st)[UG_MAX_RANK][UG_CUDA_STRIDE] = calloc(2, sizeof *st);
  for (int i = 0; i < s->ob; i++) {
    ug_cuda_bstride(&ab, &obt, i, st[0][i], sizeof st[0][i]);
    ug_cuda_bstride(&bb, &obt, i, st[1][i], sizeof st[1][i]);
  }
  fprintf(k->f, "    int64_t ao, bo;\n    {\n    const %s i = (%s)bi;\n", k->ix, k->ix);
  ug_cuda_decompose(k, &obt, 2, st);
  free(st);
  fprintf(k->f, "    ao = o0; bo = o1; (void)t;\n    }\n");
  const char *at = ug_cuda_stype(a->dtype), *ot = ug_cuda_stype(o->dtype);
  fprintf(k->f, "    const %s *__restrict__ A = a%d + ao * (M * K);\n", at, k->mm_arg[0]);
  fprintf(k->f, "    const %s *__restrict__ B = a%d + bo * (K * N);\n", at, k->mm_arg[1]);
  if (k->mm_arg[2] >= 0) fprintf(k->f, "    %s *__restrict__ C = a%d + bi * (M * N);\n", ot, k->mm_arg[2]);
  else fprintf(k->f, "    %s *__restrict__ C = nullptr;\n", ot);
  /* every result element goes through UG_PUT(index in C, value) */
  if (k->epilogue) {
    fprintf(k->f, "#define UG_PUT(i, v) ug_epi(bi * (M * N) + (i), (float)(v))\n");
  } else {
    char sc[128];
    ug_cuda_store_expr(o->dtype, "(v)", sc, sizeof sc);
    fprintf(k->f, "#define UG_PUT(i, v) (C[i] = %s)\n", sc);
  }
  fprintf(k->f, "#define UG_PAIRS %d\n", k->epilogue ? 0 : 1);
  fprintf(k->f, "    {\n      const int64_t m0 = mt * %d, n0 = nt * %d;\n", tile, tile);
}

static void mm_close(ug_cuda_kctx_t *k) { fprintf(k->f, "    }\n  }\n#undef UG_PUT\n#undef UG_PAIRS\n"); }

/* The launch: one block per tile (split blocks per tile for a split-K
 * matmul), at most UG_CUDA_MAX_GRID, a multiple of split (blocks loop). */
static void mm_launch(ug_cuda_kctx_t *k, const mm_shape_t *s, int tile, uint32_t shared, int split) {
  ug_dims_t *d = k->m->dims;
  ug_dim_t tiles = ug_dim_mul(d, ug_dim_ceildiv(d, s->dN, tile), ug_dim_ceildiv(d, s->dM, tile));
  k->custom_launch = true;
  k->grid[0] = ug_dim_min(d, ug_dim_mul(d, ug_dim_mul(d, tiles, s->batch), split), UG_CUDA_MAX_GRID);
  k->cluster = split > 1 ? (uint32_t)split : 0;
  k->grid[1] = 1;
  k->grid[2] = 1;
  k->block = 256;
  k->shared_bytes = shared;
}

/* SIMT: 64x64 tiles, k in steps of 16, thread (ty, tx) owns rows ty + 16i
 * and columns tx + 16j (conflict-free shared reads, coalesced stores). */
static ug_status_t mm_simt(ug_cuda_kctx_t *k, const mm_shape_t *s) {
  ug_dtype_t dt = ug_value_type(k->g, k->ops[0])->dtype, odt = ug_value_type(k->g, k->res[0])->dtype;
  const char *acc = acc_type(dt), *ct = ug_cuda_ctype(dt);
  char la[128], lb[128], sc[128], v[64];
  ug_cuda_load_expr(dt, "A[gm * K + gk]", la, sizeof la);
  ug_cuda_load_expr(dt, "B[gk * N + gn]", lb, sizeof lb);
  snprintf(v, sizeof v, "(%s)acc[i][j]", ug_cuda_ctype(odt));
  ug_cuda_store_expr(odt, v, sc, sizeof sc);
  fprintf(k->f, "  __shared__ %s As[16][65], Bs[16][64];\n", acc);
  fprintf(k->f, "  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;\n");
  mm_open(k, s, 64, 1);
  fprintf(k->f,
          "      %s acc[4][4];\n"
          "#pragma unroll\n"
          "      for (int i = 0; i < 4; i++)\n"
          "#pragma unroll\n"
          "        for (int j = 0; j < 4; j++) acc[i][j] = 0;\n"
          "      for (int64_t k0 = 0; k0 < K; k0 += 16) {\n"
          "#pragma unroll\n"
          "        for (int h = 0; h < 4; h++) {\n"
          "          const int e = tid + h * 256;\n"
          "          {\n"
          "            const int64_t gm = m0 + (e >> 4), gk = k0 + (e & 15);\n"
          "            As[e & 15][e >> 4] = gm < M && gk < K ? (%s)(%s)%s : (%s)0;\n"
          "          }\n"
          "          {\n"
          "            const int64_t gk = k0 + (e >> 6), gn = n0 + (e & 63);\n"
          "            Bs[e >> 6][e & 63] = gk < K && gn < N ? (%s)(%s)%s : (%s)0;\n"
          "          }\n"
          "        }\n"
          "        __syncthreads();\n"
          "#pragma unroll\n"
          "        for (int kk = 0; kk < 16; kk++) {\n"
          "          %s x[4], y[4];\n"
          "#pragma unroll\n"
          "          for (int i = 0; i < 4; i++) x[i] = As[kk][ty + 16 * i], y[i] = Bs[kk][tx + 16 * i];\n"
          "#pragma unroll\n"
          "          for (int i = 0; i < 4; i++)\n"
          "#pragma unroll\n"
          "            for (int j = 0; j < 4; j++) acc[i][j] += x[i] * y[j];\n"
          "        }\n"
          "        __syncthreads();\n"
          "      }\n"
          "#pragma unroll\n"
          "      for (int i = 0; i < 4; i++)\n"
          "#pragma unroll\n"
          "        for (int j = 0; j < 4; j++) {\n"
          "          const int64_t r = m0 + ty + 16 * i, c = n0 + tx + 16 * j;\n"
          "          if (r < M && c < N) UG_PUT(r * N + c, %s);\n"
          "        }\n",
          acc, acc, ct, la, acc, acc, ct, lb, acc, acc, v);
  mm_close(k);
  mm_launch(k, s, 64, 0, 1);
  return NULL;
}

/* The tensor-core kernel (sm_80 and newer): loaders, the main loop (over
 * UG_LOAD, one of the loaders, and UG_STASH) and the epilogue.  T is the
 * element type, UG_MMA the mma instruction for it.  UG_LOAD(stage, kt) starts
 * k tile kt's copies into stage; a loader that goes through registers (the
 * implicit GEMM of conv) writes them to the stage in UG_STASH(stage), which
 * the main loop calls after the math of the current tile.  The store adds
 * UG_CBIAS(column) to each accumulator (0 for the matmul).  conv.c shares
 * the main loop (mm_tc_body[1]) and, for conv_nhwc, the store. */
static const char *const mm_tc_body[] = {
    "      extern __shared__ __align__(128) unsigned char ug_contract_smem[];\n"
    "      // per stage: A [128][32] at byte 8192 * stage, B [32][128] at 32768 + 8192 * stage;\n"
    "      // A chunk (r, c) of 8 elements lives at chunk c ^ ((r >> 1) & 3) of row r,\n"
    "      // B chunk (r, c) at c ^ (r & 7): ldmatrix's 8 row reads hit 8 bank groups\n"
    "      const unsigned sbase = (unsigned)__cvta_generic_to_shared(ug_contract_smem);\n"
    "      const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, wm = warp >> 2, wn = warp & 3;\n"
    "      // this block's k tiles [KT0, KT0 + KT): all, or its share of a split-K cluster (mm_tc)\n"
    "      const int KTA = (int)((K + 31) / 32), KT0 = (int)((int64_t)KTA * UG_SPLIT_I / UG_SPLIT);\n"
    "      const int KT = (int)((int64_t)KTA * (UG_SPLIT_I + 1) / UG_SPLIT) - KT0;\n"
    "      // this thread copies A rows ar and ar + 64 at k chunk ac, B k rows br and br + 16 at n chunk bc\n"
    "      const int ar = tid >> 2, ac = tid & 3, br = tid >> 4, bc = tid & 15;\n"
    "      const unsigned da = sbase + (unsigned)(ar * 32 + ((ac ^ ((ar >> 1) & 3)) << 3)) * 2u;\n"
    "      const unsigned db = sbase + 32768u + (unsigned)(br * 128 + ((bc ^ (br & 7)) << 3)) * 2u;\n"
    "      const bool ra0 = m0 + ar < M, ra1 = m0 + ar + 64 < M, cb = n0 + bc * 8 < N;\n"
    "      const T *ga = A + (m0 + ar) * K + ac * 8;\n"
    "      const T *gb = B + (int64_t)br * N + n0 + bc * 8;\n"
    "      const unsigned short *Au = reinterpret_cast<const unsigned short *>(A);\n"
    "      const unsigned short *Bu = reinterpret_cast<const unsigned short *>(B);\n"
    "      float acc[4][4][4];\n"
    "#pragma unroll\n"
    "      for (int i = 0; i < 4; i++)\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < 4; j++)\n"
    "#pragma unroll\n"
    "          for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;\n"
    "      // 16 bytes global -> shared; n = 0 writes zeros (p is then any valid address)\n"
    "      auto cp = [](unsigned d, const T *p, bool ok) {\n"
    "        asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16, %2;\\n\" :: \"r\"(d), \"l\"(p), \"r\"(ok ? 16 : 0) : \"memory\");\n"
    "      };\n"
    "      // k tile kt into stage st, zeros outside the matrices: 16-byte copies\n"
    "      auto load_v = [&](int st, int kt) {\n"
    "        const int64_t k0 = (int64_t)kt * 32;\n"
    "        const unsigned so = (unsigned)st * 8192u;\n"
    "        const bool ka = k0 + ac * 8 < K, kb0 = k0 + br < K, kb1 = k0 + br + 16 < K;\n"
    "        cp(da + so, ra0 && ka ? ga + k0 : A, ra0 && ka);\n"
    "        cp(da + so + 4096u, ra1 && ka ? ga + 64 * K + k0 : A, ra1 && ka);\n"
    "        cp(db + so, cb && kb0 ? gb + k0 * N : B, cb && kb0);\n"
    "        cp(db + so + 4096u, cb && kb1 ? gb + (k0 + 16) * N : B, cb && kb1);\n"
    "      };\n"
    "      // the same with element loads (misaligned operands, K or N not a multiple of 8)\n"
    "      auto load_s = [&](int st, int kt) {\n"
    "        const int64_t k0 = (int64_t)kt * 32;\n"
    "        const unsigned so = (unsigned)st * 8192u;\n"
    "#pragma unroll 1\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          const int64_t gm = m0 + ar + 64 * h, gk = k0 + ac * 8, gkb = k0 + br + 16 * h, gn = n0 + bc * 8;\n"
    "          const int64_t ra = gm < M ? K - gk : 0, rb = gkb < K ? N - gn : 0;\n"
    "          const unsigned short *pa = Au + (ra > 0 ? gm * K + gk : 0), *pb = Bu + (rb > 0 ? gkb * N + gn : 0);\n"
    "          unsigned wa[4], wb[4];\n"
    "#pragma unroll\n"
    "          for (int e = 0; e < 4; e++) {\n"
    "            wa[e] = (2 * e < ra ? (unsigned)pa[2 * e] : 0u) | (2 * e + 1 < ra ? (unsigned)pa[2 * e + 1] : 0u) << 16;\n"
    "            wb[e] = (2 * e < rb ? (unsigned)pb[2 * e] : 0u) | (2 * e + 1 < rb ? (unsigned)pb[2 * e + 1] : 0u) << 16;\n"
    "          }\n"
    "          asm volatile(\"st.shared.v4.u32 [%0], {%1, %2, %3, %4};\\n\" :: \"r\"(da + so + 4096u * h),\n"
    "                       \"r\"(wa[0]), \"r\"(wa[1]), \"r\"(wa[2]), \"r\"(wa[3]) : \"memory\");\n"
    "          asm volatile(\"st.shared.v4.u32 [%0], {%1, %2, %3, %4};\\n\" :: \"r\"(db + so + 4096u * h),\n"
    "                       \"r\"(wb[0]), \"r\"(wb[1]), \"r\"(wb[2]), \"r\"(wb[3]) : \"memory\");\n"
    "        }\n"
    "      };\n",
    "      // 3 tiles in flight; the stage refilled at step kt is the one computed\n"
    "      // at kt - 1, which every warp has left once past the barrier\n"
    "#pragma unroll\n"
    "      for (int s = 0; s < 3; s++) {\n"
    "        if (s < KT) {\n"
    "          UG_LOAD(s, KT0 + s);\n"
    "          UG_STASH(s);\n"
    "        }\n"
    "        asm volatile(\"cp.async.commit_group;\\n\" ::: \"memory\");\n"
    "      }\n"
    "#pragma unroll 1\n"
    "      for (int kt = 0; kt < KT; kt++) {\n"
    "        asm volatile(\"cp.async.wait_group 2;\\n\" ::: \"memory\");\n"
    "        __syncthreads();\n"
    "        const bool more = kt + 3 < KT;\n"
    "        if (more) UG_LOAD((kt + 3) & 3, KT0 + kt + 3);\n"
    "        asm volatile(\"cp.async.commit_group;\\n\" ::: \"memory\");\n"
    "        const unsigned As = sbase + (unsigned)(kt & 3) * 8192u, Bs = As + 32768u;\n"
    "#pragma unroll\n"
    "        for (int kk = 0; kk < 2; kk++) {\n"
    "          unsigned af[4][4], bf[4][2];\n"
    "#pragma unroll\n"
    "          for (int mi = 0; mi < 4; mi++) {\n"
    "            // lanes 0-15: rows 0-15 at k 0-7, lanes 16-31: the same rows at k 8-15\n"
    "            const int r = wm * 64 + mi * 16 + (lane & 15), c = kk * 2 + (lane >> 4);\n"
    "            const unsigned p = As + (unsigned)(r * 32 + ((c ^ ((r >> 1) & 3)) << 3)) * 2u;\n"
    "            asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\\n\"\n"
    "                         : \"=r\"(af[mi][0]), \"=r\"(af[mi][1]), \"=r\"(af[mi][2]), \"=r\"(af[mi][3]) : \"r\"(p) : \"memory\");\n"
    "          }\n"
    "#pragma unroll\n"
    "          for (int nj = 0; nj < 2; nj++) {\n"
    "            // k rows 0-15 of columns 0-7 (lanes 0-15) and 8-15 (lanes 16-31), transposed\n"
    "            const int r = kk * 16 + (lane & 15), c = wn * 4 + nj * 2 + (lane >> 4);\n"
    "            const unsigned p = Bs + (unsigned)(r * 128 + ((c ^ (r & 7)) << 3)) * 2u;\n"
    "            asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\\n\"\n"
    "                         : \"=r\"(bf[2 * nj][0]), \"=r\"(bf[2 * nj][1]), \"=r\"(bf[2 * nj + 1][0]), \"=r\"(bf[2 * nj + 1][1])\n"
    "                         : \"r\"(p) : \"memory\");\n"
    "          }\n"
    "#pragma unroll\n"
    "          for (int mi = 0; mi < 4; mi++)\n"
    "#pragma unroll\n"
    "            for (int ni = 0; ni < 4; ni++)\n"
    "              asm(UG_MMA \" {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\\n\"\n"
    "                  : \"+f\"(acc[mi][ni][0]), \"+f\"(acc[mi][ni][1]), \"+f\"(acc[mi][ni][2]), \"+f\"(acc[mi][ni][3])\n"
    "                  : \"r\"(af[mi][0]), \"r\"(af[mi][1]), \"r\"(af[mi][2]), \"r\"(af[mi][3]), \"r\"(bf[ni][0]), \"r\"(bf[ni][1]));\n"
    "        }\n"
    "        // loaders that stage through registers write the next stage now, their\n"
    "        // global loads having had the tile's math to arrive\n"
    "        if (more) UG_STASH((kt + 3) & 3);\n"
    "      }\n"
    "      asm volatile(\"cp.async.wait_group 0;\\n\" ::: \"memory\");\n",
    "      // c0 c1 at (row g, columns 2t, 2t+1), c2 c3 at row g + 8\n"
    "      const bool pair = N % 2 == 0 && ((unsigned long long)C & 3) == 0;\n"
    "#pragma unroll\n"
    "      for (int mi = 0; mi < 4; mi++)\n"
    "#pragma unroll\n"
    "        for (int ni = 0; ni < 4; ni++)\n"
    "#pragma unroll\n"
    "          for (int h = 0; h < 2; h++) {\n"
    "            const int64_t r = m0 + wm * 64 + mi * 16 + (lane >> 2) + 8 * h;\n"
    "            const int64_t c = n0 + wn * 32 + ni * 8 + (lane & 3) * 2;\n"
    "            if (r >= M) continue;\n"
    "            const float x = acc[mi][ni][2 * h] + UG_CBIAS(c), y = acc[mi][ni][2 * h + 1] + UG_CBIAS(c + 1);\n"
    "            T *p = C + r * N + c;\n"
    "            if (UG_PAIRS && pair && c + 1 < N) {\n"
    "              *reinterpret_cast<T2 *>(p) = UG_CVT2(x, y);\n"
    "            } else {\n"
    "              if (c < N) UG_PUT(r * N + c, x);\n"
    "              if (c + 1 < N) UG_PUT(r * N + c + 1, y);\n"
    "            }\n"
    "          }\n"
    "      __syncthreads();  // every warp is done with shared memory before the next tile\n"};

/* Split-K for matmuls of few output tiles (sm_90 and newer): the kernel
 * IR's rule (ug_kir_gpu_split, codegen/kir_contract.c) picks `split`
 * blocks a tile, each over its share of K; the cluster's block 0 adds the
 * others' accumulators through distributed shared memory (MM_SPLIT_REDUCE)
 * and stores, in a fixed order, so results do not vary between runs. */
int ug_cuda_mma16_split(ug_dim_t tiles, ug_dim_t ktiles) { return ug_kir_gpu_split(tiles, ktiles); }

void ug_cuda_tile_loop(FILE *f, const char *count, int split) {
  if (split > 1)
    fprintf(f,
            "#if !(__CUDA_ARCH__ >= 900)\n"
            "  if (blockIdx.x %% %d != 0) return;\n"
            "#endif\n"
            "  for (int64_t tile = blockIdx.x / %d; tile < %s; tile += gridDim.x / %d) {\n",
            split, split, count, split);
  else
    fprintf(f, "  for (int64_t tile = blockIdx.x; tile < %s; tile += gridDim.x) {\n", count);
}

void ug_cuda_mma16_split_open(FILE *f, int split) {
  if (split > 1)
    fprintf(f, "#if __CUDA_ARCH__ >= 900\n#define UG_SPLIT %du\n#define UG_SPLIT_I (blockIdx.x %% UG_SPLIT)\n#else\n"
               "#define UG_SPLIT 1u\n#define UG_SPLIT_I 0u\n#endif\n",
            split);
  else
    fputs("#define UG_SPLIT 1u\n#define UG_SPLIT_I 0u\n", f);
}

static int mm_split(ug_cuda_kctx_t *k, const mm_shape_t *s) {
  ug_dims_t *d = k->m->dims;
  const ug_type_t *a = ug_value_type(k->g, k->ops[0]);
  ug_dim_t tiles = ug_dim_mul(d, ug_dim_mul(d, ug_dim_ceildiv(d, s->dM, 128), ug_dim_ceildiv(d, s->dN, 128)), s->batch);
  return ug_cuda_mma16_split(tiles, ug_dim_ceildiv(d, a->dims[a->rank - 1], 32));
}

/* The split-K reduction (after the main loop, before the store; sbase is
 * the pipeline's 64 KB of shared memory, exactly the 128x128 f32 tile):
 * blocks 1.. of the cluster leave their accumulators there (float4 j of
 * thread t at 16 * (256 j + t): conflict-free), block 0 adds them in rank
 * order through distributed shared memory (mapa + ld.shared::cluster) and
 * goes on to the store; the second cluster barrier keeps the others'
 * shared memory until it has read. */
static const char mm_split_reduce[] =
    "#if __CUDA_ARCH__ >= 900\n"
    "      {\n"
    "        __syncthreads();  // every warp is done with the pipeline's shared memory\n"
    "        const unsigned red = sbase + (unsigned)tid * 16u;\n"
    "        const unsigned rank = blockIdx.x % UG_SPLIT;\n"
    "        if (rank != 0) {\n"
    "#pragma unroll\n"
    "          for (int j = 0; j < 16; j++) {\n"
    "            const float *v = acc[j >> 2][j & 3];\n"
    "            asm volatile(\"st.shared.v4.f32 [%0], {%1, %2, %3, %4};\\n\" :: \"r\"(red + 4096u * j),\n"
    "                         \"f\"(v[0]), \"f\"(v[1]), \"f\"(v[2]), \"f\"(v[3]) : \"memory\");\n"
    "          }\n"
    "        }\n"
    "        asm volatile(\"barrier.cluster.arrive.release.aligned;\\nbarrier.cluster.wait.acquire.aligned;\\n\" ::: \"memory\");\n"
    "        if (rank == 0) {\n"
    "#pragma unroll 1\n"
    "          for (unsigned p = 1; p < UG_SPLIT; p++) {\n"
    "            unsigned ra;\n"
    "            asm volatile(\"mapa.shared::cluster.u32 %0, %1, %2;\\n\" : \"=r\"(ra) : \"r\"(red), \"r\"(p));\n"
    "#pragma unroll\n"
    "            for (int j = 0; j < 16; j++) {\n"
    "              float x, y, z, w;\n"
    "              asm volatile(\"ld.shared::cluster.v4.f32 {%0, %1, %2, %3}, [%4];\\n\"\n"
    "                           : \"=f\"(x), \"=f\"(y), \"=f\"(z), \"=f\"(w) : \"r\"(ra + 4096u * j) : \"memory\");\n"
    "              float *v = acc[j >> 2][j & 3];\n"
    "              v[0] += x;\n"
    "              v[1] += y;\n"
    "              v[2] += z;\n"
    "              v[3] += w;\n"
    "            }\n"
    "          }\n"
    "        }\n"
    "        asm volatile(\"barrier.cluster.arrive.release.aligned;\\nbarrier.cluster.wait.acquire.aligned;\\n\" ::: \"memory\");\n"
    "        if (rank != 0) continue;\n"
    "      }\n"
    "#endif\n";

/* f16 / bf16 on tensor cores. */
static ug_status_t mm_tc(ug_cuda_kctx_t *k, const mm_shape_t *s, ug_dtype_t dt) {
  bool bf = dt == UG_DTYPE_BF16;
  const char *T = ug_cuda_stype(dt);
  int split = mm_split(k, s);
  fprintf(k->f, "  typedef %s T;\n  typedef %s T2;\n", T, bf ? "__nv_bfloat162" : "__half2");
  /* this block's share of K (mm_tc_body[0]): all of it but on sm_90 with a split */
  ug_cuda_mma16_split_open(k->f, split);
  mm_open(k, s, 128, split);
  fprintf(k->f, "      const bool vec = K %% 8 == 0 && N %% 8 == 0 && "
                "((unsigned long long)A %% 16 | (unsigned long long)B %% 16) == 0;\n");
  fprintf(k->f, "#if __CUDA_ARCH__ >= 800\n");
  fprintf(k->f, "#define UG_MMA \"mma.sync.aligned.m16n8k16.row.col.f32.%s.%s.f32\"\n", bf ? "bf16" : "f16",
          bf ? "bf16" : "f16");
  fprintf(k->f, "#define UG_CVT %s\n#define UG_CVT2 %s\n", bf ? "__float2bfloat16_rn" : "__float2half_rn",
          bf ? "__floats2bfloat162_rn" : "__floats2half2_rn");
  /* the main loop twice, with 16-byte copies or element loads, so that
   * neither path's registers add to the other's */
  fputs(mm_tc_body[0], k->f);
  fputs("#define UG_STASH(st) ((void)0)\n      if (vec) {\n#define UG_LOAD load_v\n", k->f);
  fputs(mm_tc_body[1], k->f);
  fputs("#undef UG_LOAD\n      } else {\n#define UG_LOAD load_s\n", k->f);
  fputs(mm_tc_body[1], k->f);
  fputs("#undef UG_LOAD\n      }\n#undef UG_STASH\n", k->f);
  if (split > 1) fputs(mm_split_reduce, k->f);
  fputs("#define UG_CBIAS(c) 0.0f\n", k->f);
  fputs(mm_tc_body[2], k->f);
  fprintf(k->f, "#undef UG_CBIAS\n#undef UG_MMA\n#undef UG_CVT\n#undef UG_CVT2\n");
  /* older GPUs: scalar dot products over the tile */
  char la[64], lb[64];
  ug_cuda_load_expr(dt, "A[r * K + q]", la, sizeof la);
  ug_cuda_load_expr(dt, "B[q * N + c]", lb, sizeof lb);
  fprintf(k->f,
          "#else\n"
          "      (void)vec;\n"
          "      for (int e = threadIdx.x; e < 128 * 128; e += blockDim.x) {\n"
          "        const int64_t r = m0 + (e >> 7), c = n0 + (e & 127);\n"
          "        if (r >= M || c >= N) continue;\n"
          "        float acc = 0.0f;\n"
          "        for (int64_t q = 0; q < K; q++) acc += %s * %s;\n"
          "        UG_PUT(r * N + c, acc);\n"
          "      }\n"
          "#endif\n",
          la, lb);
  mm_close(k);
  fputs("#undef UG_SPLIT\n#undef UG_SPLIT_I\n", k->f);
  mm_launch(k, s, 128, 2u * 4u * 128u * 32u * 2u, split);
  return NULL;
}

/* f32 on tensor cores (sm_80 and newer), the arithmetic chosen by
 * --precision (docs/cuda.md, "Contractions"):
 *  - MM_3XTF32 (the default and fp32): each operand x is split into
 *    big = tf32(x) and small = tf32(x - big); three m16n8k8 tf32 products
 *    small*big' + big*small' + big*big' (the small*small' term, 2^-22 of
 *    the product, is dropped) give about f32 accuracy.  An inf or NaN
 *    operand makes the split meaningless (inf - inf, inf * 0), so a NaN
 *    result is recomputed as a plain f32 dot product, which gives the CPU's
 *    inf / NaN;
 *  - MM_TF32: operands rounded to tf32 (cvt.rna), one m16n8k8 product;
 *  - MM_F16 / MM_BF16: operands rounded to f16 / bf16 (round to nearest
 *    even), m16n8k16 with f32 accumulation.
 * The tiles stay f32 in shared memory and are rounded or split as the
 * fragments are read; the result is the f32 accumulator. */
typedef enum { MM_3XTF32, MM_TF32, MM_F16, MM_BF16 } mm_math_t;

static mm_math_t mm_math(ug_precision_t p) {
  switch (p) {
  case UG_PRECISION_TF32: return MM_TF32;
  case UG_PRECISION_FP16: return MM_F16;
  case UG_PRECISION_BF16: return MM_BF16;
  default: return MM_3XTF32; /* UG_PRECISION_DEFAULT, UG_PRECISION_FP32 */
  }
}

/* Shared memory of one pipeline stage: A [128][24] floats (k 0-15 of 128
 * rows, padded), then B [16][132] floats (16 k rows of 128 columns). */
#define MM_F32_STAGE 20736u
#define MM_F32_STAGES 3u

/* The f32 tile pipeline's set-up (mm_f32_body[0]), matmul loaders
 * (mm_f32_body[1]), main loop (mm_f32_body[2] + the math + [3]); conv.c
 * reuses all but the loaders (ug_cuda_mma32_setup / _loop). */
static const char *const mm_f32_body[] = {
    "      // per stage (20736 bytes): A [128][24] floats, then B [16][132] floats at 12288;\n"
    "      // the padding makes the fragment reads below conflict-free: A 8-byte reads\n"
    "      // at row g * 24 + 2t, B 4-byte reads at k row 2t * 132 + column g\n"
    "      const unsigned sbase = (unsigned)__cvta_generic_to_shared(ug_contract_smem);\n"
    "      const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, wm = warp >> 2, wn = warp & 3;\n"
    "      const int KT = (int)((K + 15) / 16);\n"
    "      // this thread copies A rows ar and ar + 64 at k chunk ac (4 floats), B k rows br and br + 8 at n chunk bc\n"
    "      const int ar = tid >> 2, ac = tid & 3, br = tid >> 5, bc = tid & 31;\n"
    "      const unsigned da = sbase + (unsigned)(ar * 24 + ac * 4) * 4u;\n"
    "      const unsigned db = sbase + 12288u + (unsigned)(br * 132 + bc * 4) * 4u;\n"
    "      // fragment reads: A row g of the warp's rows at k 2t, B k row 2t at the warp's column g\n"
    "      const int ax = (wm * 64 + (lane >> 2)) * 24 + 2 * (lane & 3);\n"
    "      const int bx = 2 * (lane & 3) * 132 + wn * 32 + (lane >> 2);\n"
    "      float acc[4][4][4];\n"
    "#pragma unroll\n"
    "      for (int i = 0; i < 4; i++)\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < 4; j++)\n"
    "#pragma unroll\n"
    "          for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;\n"
    "      // 16 bytes global -> shared; n = 0 writes zeros (p is then any valid address)\n"
    "      auto cp = [](unsigned d, const float *p, bool ok) {\n"
    "        asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16, %2;\\n\" :: \"r\"(d), \"l\"(p), \"r\"(ok ? 16 : 0) : \"memory\");\n"
    "      };\n"
    "      auto st4f = [](unsigned d, const float (&v)[4]) {\n"
    "        asm volatile(\"st.shared.v4.f32 [%0], {%1, %2, %3, %4};\\n\" :: \"r\"(d), \"f\"(v[0]), \"f\"(v[1]), \"f\"(v[2]), \"f\"(v[3]) : \"memory\");\n"
    "      };\n",
    "      const bool ra0 = m0 + ar < M, ra1 = m0 + ar + 64 < M, cb = n0 + bc * 4 < N;\n"
    "      const float *ga = A + (m0 + ar) * K + ac * 4;\n"
    "      const float *gb = B + (int64_t)br * N + n0 + bc * 4;\n"
    "      // k tile kt into stage st, zeros outside the matrices: 16-byte copies\n"
    "      auto load_v = [&](int st, int kt) {\n"
    "        const int64_t k0 = (int64_t)kt * 16;\n"
    "        const unsigned so = (unsigned)st * 20736u;\n"
    "        const bool ka = k0 + ac * 4 < K, kb0 = k0 + br < K, kb1 = k0 + br + 8 < K;\n"
    "        cp(da + so, ra0 && ka ? ga + k0 : A, ra0 && ka);\n"
    "        cp(da + so + 6144u, ra1 && ka ? ga + 64 * K + k0 : A, ra1 && ka);\n"
    "        cp(db + so, cb && kb0 ? gb + k0 * N : B, cb && kb0);\n"
    "        cp(db + so + 4224u, cb && kb1 ? gb + (k0 + 8) * N : B, cb && kb1);\n"
    "      };\n"
    "      // the same with element loads (misaligned operands, K or N not a multiple of 4)\n"
    "      auto load_s = [&](int st, int kt) {\n"
    "        const int64_t k0 = (int64_t)kt * 16;\n"
    "        const unsigned so = (unsigned)st * 20736u;\n"
    "#pragma unroll 1\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          const int64_t gm = m0 + ar + 64 * h, gk = k0 + ac * 4, gkb = k0 + br + 8 * h, gn = n0 + bc * 4;\n"
    "          const int64_t ra = gm < M ? K - gk : 0, rb = gkb < K ? N - gn : 0;\n"
    "          const float *pa = A + (ra > 0 ? gm * K + gk : 0), *pb = B + (rb > 0 ? gkb * N + gn : 0);\n"
    "          float wa[4], wb[4];\n"
    "#pragma unroll\n"
    "          for (int e = 0; e < 4; e++) {\n"
    "            wa[e] = e < ra ? pa[e] : 0.0f;\n"
    "            wb[e] = e < rb ? pb[e] : 0.0f;\n"
    "          }\n"
    "          st4f(da + so + 6144u * h, wa);\n"
    "          st4f(db + so + 4224u * h, wb);\n"
    "        }\n"
    "      };\n",
    "      // 2 tiles in flight; the stage refilled at step kt is the one computed\n"
    "      // at kt - 1, which every warp has left once past the barrier\n"
    "#pragma unroll\n"
    "      for (int s = 0; s < 2; s++) {\n"
    "        if (s < KT) {\n"
    "          UG_LOAD(s, s);\n"
    "          UG_STASH(s);\n"
    "        }\n"
    "        asm volatile(\"cp.async.commit_group;\\n\" ::: \"memory\");\n"
    "      }\n"
    "      int rs = 0, ws = 2;  // the stages read and refilled at step kt: kt % 3 and (kt + 2) % 3\n"
    "#pragma unroll 1\n"
    "      for (int kt = 0; kt < KT; kt++) {\n"
    "        asm volatile(\"cp.async.wait_group 1;\\n\" ::: \"memory\");\n"
    "        __syncthreads();\n"
    "        const bool more = kt + 2 < KT;\n"
    "        const int wst = ws;\n"
    "        if (more) UG_LOAD(wst, kt + 2);\n"
    "        asm volatile(\"cp.async.commit_group;\\n\" ::: \"memory\");\n"
    "        const float *As = reinterpret_cast<const float *>(ug_contract_smem + rs * 20736) + ax;\n"
    "        const float *Bs = reinterpret_cast<const float *>(ug_contract_smem + rs * 20736 + 12288) + bx;\n"
    "        rs = rs == 2 ? 0 : rs + 1;\n"
    "        ws = ws == 2 ? 0 : ws + 1;\n",
    "        // loaders that stage through registers write the refilled stage now\n"
    "        if (more) UG_STASH(wst);\n"
    "      }\n"
    "      asm volatile(\"cp.async.wait_group 0;\\n\" ::: \"memory\");\n"};

/* The math of one k tile of 16 per mm_math_t.  For tf32 the tile is two
 * m16n8k8 steps h; physical k 8h + 2t and 8h + 2t + 1 stand for the
 * fragments' k t and t + 4 (A a0..a3: (g, t), (g + 8, t), (g, t + 4),
 * (g + 8, t + 4); B b0, b1: (t, g), (t + 4, g)), so that A's two k are one
 * 8-byte read; the same permutation on A and B leaves the sum unchanged. */
static const char mm_f32_math_tf32[] =
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "          unsigned bf[4][2];\n"
    "#pragma unroll\n"
    "          for (int ni = 0; ni < 4; ni++) {\n"
    "            const float *p = Bs + h * 8 * 132 + ni * 8;\n"
    "            bf[ni][0] = tf32(p[0]);\n"
    "            bf[ni][1] = tf32(p[132]);\n"
    "          }\n"
    "#pragma unroll\n"
    "          for (int mi = 0; mi < 4; mi++) {\n"
    "            const float2 u = *reinterpret_cast<const float2 *>(As + mi * 16 * 24 + h * 8);\n"
    "            const float2 v = *reinterpret_cast<const float2 *>(As + (mi * 16 + 8) * 24 + h * 8);\n"
    "            const unsigned af[4] = {tf32(u.x), tf32(v.x), tf32(u.y), tf32(v.y)};\n"
    "#pragma unroll\n"
    "            for (int ni = 0; ni < 4; ni++) mma(acc[mi][ni], af, bf[ni]);\n"
    "          }\n"
    "        }\n";

static const char mm_f32_math_3xtf32[] =
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++)\n"
    "          // two halves of the warp's columns, so that fewer split fragments are live\n"
    "#pragma unroll\n"
    "          for (int nh = 0; nh < 4; nh += 2) {\n"
    "            unsigned bb[2][2], bs[2][2];\n"
    "#pragma unroll\n"
    "            for (int ni = 0; ni < 2; ni++) {\n"
    "              const float *p = Bs + h * 8 * 132 + (nh + ni) * 8;\n"
    "              split(p[0], bb[ni][0], bs[ni][0]);\n"
    "              split(p[132], bb[ni][1], bs[ni][1]);\n"
    "            }\n"
    "#pragma unroll\n"
    "            for (int mi = 0; mi < 4; mi++) {\n"
    "              const float2 u = *reinterpret_cast<const float2 *>(As + mi * 16 * 24 + h * 8);\n"
    "              const float2 v = *reinterpret_cast<const float2 *>(As + (mi * 16 + 8) * 24 + h * 8);\n"
    "              unsigned ab[4], as[4];\n"
    "              split(u.x, ab[0], as[0]);\n"
    "              split(v.x, ab[1], as[1]);\n"
    "              split(u.y, ab[2], as[2]);\n"
    "              split(v.y, ab[3], as[3]);\n"
    "#pragma unroll\n"
    "              for (int ni = 0; ni < 2; ni++) {\n"
    "                // the small terms first, while the accumulator is small\n"
    "                mma(acc[mi][nh + ni], as, bb[ni]);\n"
    "                mma(acc[mi][nh + ni], ab, bs[ni]);\n"
    "                mma(acc[mi][nh + ni], ab, bb[ni]);\n"
    "              }\n"
    "            }\n"
    "          }\n";

/* f16 / bf16: one m16n8k16 step, the fragments' own k (A a0a1 (g, 2t..2t+1),
 * a2a3 (g + 8, 2t..), a4a5 (g, 2t + 8..), a6a7 (g + 8, 2t + 8..); B b0b1
 * (2t..2t+1, g), b2b3 (2t + 8.., g)), packed two to a register, the lower
 * k in the low half. */
static const char mm_f32_math_16[] =
    "        {\n"
    "          unsigned bf[4][2];\n"
    "#pragma unroll\n"
    "          for (int ni = 0; ni < 4; ni++) {\n"
    "            const float *p = Bs + ni * 8;\n"
    "            bf[ni][0] = pack(p[0], p[132]);\n"
    "            bf[ni][1] = pack(p[8 * 132], p[9 * 132]);\n"
    "          }\n"
    "#pragma unroll\n"
    "          for (int mi = 0; mi < 4; mi++) {\n"
    "            const float *q = As + mi * 16 * 24;\n"
    "            const float2 u0 = *reinterpret_cast<const float2 *>(q);\n"
    "            const float2 u1 = *reinterpret_cast<const float2 *>(q + 8 * 24);\n"
    "            const float2 u2 = *reinterpret_cast<const float2 *>(q + 8);\n"
    "            const float2 u3 = *reinterpret_cast<const float2 *>(q + 8 * 24 + 8);\n"
    "            const unsigned af[4] = {pack(u0.x, u0.y), pack(u1.x, u1.y), pack(u2.x, u2.y), pack(u3.x, u3.y)};\n"
    "#pragma unroll\n"
    "            for (int ni = 0; ni < 4; ni++) mma(acc[mi][ni], af, bf[ni]);\n"
    "          }\n"
    "        }\n";

static const char *const mm_f32_epilogue[] = {
    "      // c0 c1 at (row g, columns 2t, 2t+1), c2 c3 at row g + 8\n"
    "      const bool pair = N % 2 == 0 && ((unsigned long long)C & 7) == 0;\n"
    "#pragma unroll\n"
    "      for (int mi = 0; mi < 4; mi++)\n"
    "#pragma unroll\n"
    "        for (int ni = 0; ni < 4; ni++)\n"
    "#pragma unroll\n"
    "          for (int h = 0; h < 2; h++) {\n"
    "            const int64_t r = m0 + wm * 64 + mi * 16 + (lane >> 2) + 8 * h;\n"
    "            const int64_t c = n0 + wn * 32 + ni * 8 + (lane & 3) * 2;\n"
    "            if (r >= M) continue;\n"
    "            float x = acc[mi][ni][2 * h], y = acc[mi][ni][2 * h + 1];\n",
    "            float *p = C + r * N + c;\n"
    "            if (UG_PAIRS && pair && c + 1 < N) {\n"
    "              *reinterpret_cast<float2 *>(p) = make_float2(x, y);\n"
    "            } else {\n"
    "              if (c < N) UG_PUT(r * N + c, x);\n"
    "              if (c + 1 < N) UG_PUT(r * N + c + 1, y);\n"
    "            }\n"
    "          }\n"
    "      __syncthreads();  // every warp is done with shared memory before the next tile\n"};

/* Below sm_80 (no cp.async, no tf32 / m16n8k16 mma): exact f32 on a SIMT
 * tile, thread (ty, tx) owning rows ty + 16i and columns tx + 16j. */
static const char mm_f32_simt[] =
    "      float *As = reinterpret_cast<float *>(ug_contract_smem), *Bs = As + 16 * 129;  // [16][129] k-major, [16][128]\n"
    "      const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;\n"
    "      float acc[8][8];\n"
    "#pragma unroll\n"
    "      for (int i = 0; i < 8; i++)\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;\n"
    "      for (int64_t k0 = 0; k0 < K; k0 += 16) {\n"
    "#pragma unroll 2\n"
    "        for (int h = 0; h < 8; h++) {\n"
    "          const int e = tid + h * 256;\n"
    "          {\n"
    "            const int64_t gm = m0 + (e >> 4), gk = k0 + (e & 15);\n"
    "            As[(e & 15) * 129 + (e >> 4)] = gm < M && gk < K ? A[gm * K + gk] : 0.0f;\n"
    "          }\n"
    "          {\n"
    "            const int64_t gk = k0 + (e >> 7), gn = n0 + (e & 127);\n"
    "            Bs[(e >> 7) * 128 + (e & 127)] = gk < K && gn < N ? B[gk * N + gn] : 0.0f;\n"
    "          }\n"
    "        }\n"
    "        __syncthreads();\n"
    "#pragma unroll\n"
    "        for (int kk = 0; kk < 16; kk++) {\n"
    "          float x[8], y[8];\n"
    "#pragma unroll\n"
    "          for (int i = 0; i < 8; i++) x[i] = As[kk * 129 + ty + 16 * i], y[i] = Bs[kk * 128 + tx + 16 * i];\n"
    "#pragma unroll\n"
    "          for (int i = 0; i < 8; i++)\n"
    "#pragma unroll\n"
    "            for (int j = 0; j < 8; j++) acc[i][j] += x[i] * y[j];\n"
    "        }\n"
    "        __syncthreads();\n"
    "      }\n"
    "#pragma unroll\n"
    "      for (int i = 0; i < 8; i++)\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < 8; j++) {\n"
    "          const int64_t r = m0 + ty + 16 * i, c = n0 + tx + 16 * j;\n"
    "          if (r < M && c < N) UG_PUT(r * N + c, acc[i][j]);\n"
    "        }\n";

/* The f32 pipeline's set-up and the math's helpers: tf32 rounding, the
 * 3xTF32 split, pack (f16 / bf16 rounding), the mma of the math. */
static void mm_f32_helpers(FILE *f, mm_math_t math) {
  if (math == MM_3XTF32 || math == MM_TF32) {
    fputs("      auto tf32 = [](float x) {\n"
          "        unsigned r;\n"
          "        asm(\"cvt.rna.tf32.f32 %0, %1;\\n\" : \"=r\"(r) : \"f\"(x));\n"
          "        return r;\n"
          "      };\n",
          f);
    if (math == MM_3XTF32)
      fputs("      auto split = [&](float x, unsigned &big, unsigned &small) {\n"
            "        big = tf32(x);\n"
            "        small = tf32(x - __uint_as_float(big));\n"
            "      };\n",
            f);
    fputs("      auto mma = [](float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {\n"
          "        asm(\"mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\\n\"\n"
          "            : \"+f\"(d[0]), \"+f\"(d[1]), \"+f\"(d[2]), \"+f\"(d[3])\n"
          "            : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"r\"(b[0]), \"r\"(b[1]));\n"
          "      };\n",
          f);
    return;
  }
  bool bf = math == MM_BF16;
  fprintf(f,
          "      // two floats rounded to %s, the first in the low half\n"
          "      auto pack = [](float lo, float hi) {\n"
          "        %s v = %s(lo, hi);\n"
          "        return *reinterpret_cast<unsigned *>(&v);\n"
          "      };\n"
          "      auto mma = [](float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {\n"
          "        asm(\"mma.sync.aligned.m16n8k16.row.col.f32.%s.%s.f32 {%%0, %%1, %%2, %%3}, {%%4, %%5, %%6, %%7}, {%%8, %%9}, {%%0, %%1, %%2, %%3};\\n\"\n"
          "            : \"+f\"(d[0]), \"+f\"(d[1]), \"+f\"(d[2]), \"+f\"(d[3])\n"
          "            : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"r\"(b[0]), \"r\"(b[1]));\n"
          "      };\n",
          bf ? "bf16" : "f16", bf ? "__nv_bfloat162" : "__half2", bf ? "__floats2bfloat162_rn" : "__floats2half2_rn",
          bf ? "bf16" : "f16", bf ? "bf16" : "f16");
}

static void mm_f32_setup(FILE *f, mm_math_t math) {
  fputs(mm_f32_body[0], f);
  mm_f32_helpers(f, math);
}

static const char *mm_f32_math(mm_math_t math) {
  return math == MM_3XTF32 ? mm_f32_math_3xtf32 : math == MM_TF32 ? mm_f32_math_tf32 : mm_f32_math_16;
}

/* The f32 main loop over UG_LOAD(stage, k tile) / UG_STASH(stage). */
static void mm_f32_loop(FILE *f, mm_math_t math) {
  fputs(mm_f32_body[2], f);
  fputs(mm_f32_math(math), f);
  fputs(mm_f32_body[3], f);
}

static ug_status_t mm_f32_tc(ug_cuda_kctx_t *k, const mm_shape_t *s, mm_math_t math) {
  mm_open(k, s, 128, 1);
  fputs("      extern __shared__ __align__(128) unsigned char ug_contract_smem[];\n#if __CUDA_ARCH__ >= 800\n", k->f);
  mm_f32_setup(k->f, math);
  fputs(mm_f32_body[1], k->f);
  if (math == MM_3XTF32)
    fputs("      // an exact f32 dot product, for the results that came out NaN\n"
          "      auto exact = [&](int64_t r, int64_t c) {\n"
          "        float v = 0.0f;\n"
          "#pragma unroll 1\n"
          "        for (int64_t q = 0; q < K; q++) v += A[r * K + q] * B[q * N + c];\n"
          "        return v;\n"
          "      };\n",
          k->f);
  /* the main loop twice, with 16-byte copies or element loads (see mm_tc) */
  fputs("      const bool vec = K % 4 == 0 && N % 4 == 0 && "
        "((unsigned long long)A % 16 | (unsigned long long)B % 16) == 0;\n",
        k->f);
  fputs("#define UG_STASH(st) ((void)(st))\n      if (vec) {\n#define UG_LOAD load_v\n", k->f);
  mm_f32_loop(k->f, math);
  fputs("#undef UG_LOAD\n      } else {\n#define UG_LOAD load_s\n", k->f);
  mm_f32_loop(k->f, math);
  fputs("#undef UG_LOAD\n      }\n#undef UG_STASH\n", k->f);
  /* the epilogue, with the NaN fix-up of 3xTF32 */
  fputs(mm_f32_epilogue[0], k->f);
  if (math == MM_3XTF32)
    fputs("            // an inf or NaN operand (inf - inf in the split, inf * 0 with a zero small part)\n"
          "            // or an overflow: the exact sum gives the CPU's inf or NaN\n"
          "            if (x != x && c < N) x = exact(r, c);\n"
          "            if (y != y && c + 1 < N) y = exact(r, c + 1);\n",
          k->f);
  fputs(mm_f32_epilogue[1], k->f);
  fputs("#else\n", k->f);
  fputs(mm_f32_simt, k->f);
  fputs("#endif\n", k->f);
  mm_close(k);
  mm_launch(k, s, 128, MM_F32_STAGES * MM_F32_STAGE, 1);
  return NULL;
}

static ug_status_t emit_matmul(ug_cuda_kctx_t *k) {
  if (k->nops != 2 || k->nres != 1) return ug_cuda_unsupported(k);
  ug_dtype_t dt = ug_value_type(k->g, k->ops[0])->dtype;
  if (ug_value_type(k->g, k->ops[1])->dtype != dt || ug_value_type(k->g, k->res[0])->dtype != dt)
    return ug_cuda_unsupported(k);
  mm_shape_t s;
  UG_RETURN_IF_ERROR(mm_shape(k, &s));
  if (dt == UG_DTYPE_F16 || dt == UG_DTYPE_BF16) return mm_tc(k, &s, dt);
  if (dt == UG_DTYPE_F32) return mm_f32_tc(k, &s, mm_math(k->precision));
  return mm_simt(k, &s);
}

void ug_cuda_mma16_loop(FILE *f) { fputs(mm_tc_body[1], f); }
void ug_cuda_mma16_split_reduce(FILE *f) { fputs(mm_split_reduce, f); }
void ug_cuda_mma32_setup(FILE *f, ug_precision_t p) { mm_f32_setup(f, mm_math(p)); }
void ug_cuda_mma32_loop(FILE *f, ug_precision_t p) { mm_f32_loop(f, mm_math(p)); }
bool ug_cuda_mma32_split(ug_precision_t p) { return mm_math(p) == MM_3XTF32; }
void ug_cuda_mma32_helpers(FILE *f, ug_precision_t p) { mm_f32_helpers(f, mm_math(p)); }
void ug_cuda_mma32_ktile(FILE *f, ug_precision_t p) { fputs(mm_f32_math(mm_math(p)), f); }
void ug_cuda_mma16_store(FILE *f) { fputs(mm_tc_body[2], f); }

ug_status_t ug_cuda_emit_contract(ug_cuda_kctx_t *k) {
  switch (k->n->op) {
  case UG_OP_MATMUL: return emit_matmul(k);
  case UG_OP_LINEAR:
    /* x, w, bias are the first params, the result follows the operands */
    k->mm_arg[0] = 0;
    k->mm_arg[1] = 1;
    k->bias_arg = k->nops == 3 ? 2 : -1;
    k->mm_arg[2] = (int)k->nops;
    return ug_cuda_emit_linear(k);
  case UG_OP_CONV:
  case UG_OP_CONV_NHWC:
  case UG_OP_CONV_TRANSPOSE:
    /* unfused: x, w, bias are the first params, the result follows them
     * (a fused conv's params are emit.c's) */
    if (!k->epilogue) {
      k->mm_arg[0] = 0;
      k->mm_arg[1] = 1;
      k->bias_arg = k->nops == 3 ? 2 : -1;
      k->mm_arg[2] = (int)k->nops;
    }
    return ug_cuda_emit_conv(k);
  default: return ug_cuda_unsupported(k);
  }
}
