/* ug_codegen_emit: plans every graph, lowers the kernels into one LLVM
 * module with the ABI tables, optimizes it and writes the requested output.
 *
 * Weights are embedded as a constant global, or, when they are large and an
 * object is emitted, kept out of LLVM: the module only declares ug.weights,
 * and the blob is appended to LLVM's object file as a section defining it,
 * streamed from the weights (no copy of the blob is ever in memory); with
 * UG_WEIGHTS_EXTERNAL they go to `<output>.weights`. */
#include <elf.h>
#include <errno.h>
#include <llvm-c/Core.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "codegen/link.h"
#include "codegen/llvm/lower.h"
#include "codegen/llvm/object.h"
#include "codegen/llvm/package.h"
#include "codegen/target.h"
#include "ugrt/model_abi.h"
#ifdef UG_HAVE_CUDA
#include "codegen/cuda/emit.h"
#endif

/* Blobs larger than this stay out of LLVM when emitting an object. */
#define UG_BLOB_THRESHOLD (1u << 20)

/* The targets of one model.so: at most one CPU target and at most one CUDA
 * target spec.  The list is split at commas, but a "cuda:" spec takes the
 * architecture names that follow it ("cpu,cuda:sm_90a,sm_86"). */
typedef struct {
  const ug_target_t *cpu; /* NULL: no CPU target */
  const char *cuda;       /* the "cuda[:...]" spec, or NULL */
  size_t cuda_len;
} target_list_t;

static bool is_arch_name(const char *p, size_t len) {
  return (len > 3 && memcmp(p, "sm_", 3) == 0) || (len > 8 && memcmp(p, "compute_", 8) == 0);
}

static ug_status_t parse_targets(const char *list, target_list_t *out) {
  memset(out, 0, sizeof *out);
  if (!list || !*list) list = "cpu";
  const char *p = list;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    while (len > 0 && *p == ' ') p++, len--;
    if (len >= 4 && memcmp(p, "cuda", 4) == 0 && (len == 4 || p[4] == ':')) {
      if (out->cuda) return ug_status_make(UG_ERR_UNSUPPORTED, "--target", "only one cuda target per model.so");
      out->cuda = p;
      /* swallow the architecture names that follow */
      while (e && p[4] == ':' && is_arch_name(e + 1, strcspn(e + 1, ","))) e = strchr(e + 1, ',');
      out->cuda_len = e ? (size_t)(e - p) : strlen(p);
#ifndef UG_HAVE_CUDA
      return ug_status_make(UG_ERR_UNSUPPORTED, NULL, "target %.*s is not available in this build",
                            (int)out->cuda_len, p);
#endif
    } else if (len > 0) {
      const ug_target_t *t;
      UG_RETURN_IF_ERROR(ug_target_lookup(p, len, &t));
      if (out->cpu && out->cpu != t)
        return ug_status_make(UG_ERR_UNSUPPORTED, NULL, "only one cpu target per model.so is supported");
      out->cpu = t;
    }
    if (!e) break;
    p = e + 1;
  }
  if (!out->cpu && !out->cuda) return ug_status_make(UG_ERR_INVALID, NULL, "no target given");
  return NULL;
}

#ifdef UG_HAVE_CUDA
/* The CUDA target: one translation unit for all plans, compiled by NVRTC
 * into a cubin per architecture and a PTX image. */
static ug_status_t build_cuda(ug_module_t *m, const ug_plan_t *plans, uint32_t ng, const target_list_t *tl,
                              const ug_compile_options_t *o, ug_nvrtc_result_t *res, ug_package_gpu_t *gpu,
                              ug_package_image_t **out_images) {
  ug_cuda_target_t ct;
  UG_RETURN_IF_ERROR(ug_cuda_parse_target(tl->cuda, tl->cuda_len, &ct));
  ug_cuda_module_t cm;
  UG_RETURN_IF_ERROR(ug_cuda_emit_module(m, plans, ng, o->precision, o->prefer_kir, &cm));
  ug_nvrtc_request_t req;
  ug_nvrtc_request_init(&req);
  req.source = cm.source;
  req.target = &ct;
  req.kernels = cm.spans;
  req.num_kernels = cm.num_kernels;
  req.dump_dir = o->pass_options.dump_dir;
  req.dump_seq = 90;
  UG_RETURN_IF_ERROR(ug_nvrtc_compile(&req, res));
  ug_package_image_t *im = calloc(res->num_images + 1, sizeof *im);
  if (!im) return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  for (size_t i = 0; i < res->num_images; i++)
    im[i] = (ug_package_image_t){.name = res->images[i].name, .format = res->images[i].format,
                                 .arch = res->images[i].arch, .data = res->images[i].data,
                                 .size = res->images[i].size};
  *gpu = (ug_package_gpu_t){.abi_kind = UGRT_TARGET_CUDA, .kernel_names = cm.kernel_names,
                            .num_kernels = cm.num_kernels, .launch = cm.launch, .images = im,
                            .num_images = res->num_images};
  *out_images = im;
  return NULL;
}
#endif

/* --dump-ir: the plans as text and the LLVM module before and after the
 * optimization pipeline go into the dump directory as codegen-*. */
static void dump_text(const char *dir, const char *name, const char *text) {
  if (!dir) return;
  size_t n = strlen(dir) + strlen(name) + 2;
  char *path = malloc(n);
  snprintf(path, n, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  free(path);
}

static void dump_plans(ug_module_t *m, const ug_plan_t *plans, uint32_t ng, const char *dir) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return;
  for (uint32_t i = 0; i < ng; i++) ug_plan_print(m, &plans[i], f);
  fclose(f);
  dump_text(dir, "codegen-plan.txt", text);
  free(text);
}

static void dump_module(LLVMModuleRef mod, const char *dir, const char *name) {
  if (!dir) return;
  char *text = LLVMPrintModuleToString(mod);
  dump_text(dir, name, text);
  LLVMDisposeMessage(text);
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static ug_status_t write_side_weights(ug_module_t *m, const ug_weight_layout_t *wl, const char *path,
                                      char **out_tmp) {
  char *tmp;
  UG_RETURN_IF_ERROR(ug_tmpfile_create(path, ".w", &tmp));
  FILE *f = fopen(tmp, "wb");
  ug_status_t st = f ? ug_weight_layout_write(m, wl, f) : ug_status_make(UG_ERR_IO, tmp, "cannot open");
  if (f && fclose(f) != 0 && !st) st = ug_status_make(UG_ERR_IO, tmp, "cannot write");
  if (st) {
    remove(tmp);
    free(tmp);
    return st;
  }
  *out_tmp = tmp;
  return NULL;
}

/* Writes the x86-64 ELF relocatable `obj` (LLVM's, which declares ug.weights
 * and holds no weights) to a temporary file with the weight blob appended as
 * section .rodata.ug_weights (64-byte aligned) defining ug.weights.  The blob
 * streams from the weights to the file; the object's own bytes stay where they
 * are, and a new section name table and section header table follow the blob. */
static ug_status_t write_object_with_weights(const uint8_t *obj, size_t size, ug_module_t *m,
                                             const ug_weight_layout_t *wl, const char *base,
                                             char **out_tmp) {
  static const char name[] = ".rodata.ug_weights";
  Elf64_Ehdr eh;
  if (size < sizeof eh) goto bad;
  memcpy(&eh, obj, sizeof eh);
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_type != ET_REL || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 ||
      eh.e_shnum >= SHN_LORESERVE - 1 || eh.e_shstrndx >= eh.e_shnum || eh.e_shoff > size ||
      (size - eh.e_shoff) / sizeof(Elf64_Shdr) < eh.e_shnum)
    goto bad;
  size_t nsh = eh.e_shnum;
  Elf64_Shdr *sh = calloc(nsh + 1, sizeof *sh);
  uint8_t *copy = malloc(size);
  if (!sh || !copy) {
    free(sh);
    free(copy);
    return ug_status_make(UG_ERR_NOMEM, NULL, "out of memory");
  }
  memcpy(copy, obj, size);
  memcpy(sh, obj + eh.e_shoff, nsh * sizeof *sh);
  /* the undefined symbol ug.weights becomes the new section's start */
  bool found = false;
  for (size_t i = 0; i < nsh && !found; i++) {
    if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= nsh || sh[i].sh_offset > size ||
        sh[i].sh_size > size - sh[i].sh_offset)
      continue;
    const Elf64_Shdr *str = &sh[sh[i].sh_link];
    if (str->sh_offset > size || str->sh_size > size - str->sh_offset) continue;
    for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); k++) {
      Elf64_Sym sym;
      uint8_t *at = copy + sh[i].sh_offset + k * sizeof sym;
      memcpy(&sym, at, sizeof sym);
      if (sym.st_shndx != SHN_UNDEF || sym.st_name >= str->sh_size ||
          str->sh_size - sym.st_name < sizeof "ug.weights" ||
          memcmp(obj + str->sh_offset + sym.st_name, "ug.weights", sizeof "ug.weights") != 0)
        continue;
      sym.st_shndx = (Elf64_Section)nsh;
      sym.st_value = 0;
      sym.st_size = wl->size;
      sym.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
      memcpy(at, &sym, sizeof sym);
      found = true;
      break;
    }
  }
  Elf64_Shdr *shstr = &sh[eh.e_shstrndx];
  if (!found || shstr->sh_offset > size || shstr->sh_size > size - shstr->sh_offset) {
    free(sh);
    free(copy);
    goto bad;
  }
  uint64_t blob_off = (size + 63) & ~(uint64_t)63, str_off = blob_off + wl->size;
  uint64_t old_str = shstr->sh_offset, old_len = shstr->sh_size;
  uint64_t sh_off = (str_off + old_len + sizeof name + 7) & ~(uint64_t)7;
  sh[nsh] = (Elf64_Shdr){.sh_name = (Elf64_Word)old_len, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
                         .sh_offset = blob_off, .sh_size = wl->size, .sh_addralign = 64};
  shstr->sh_offset = str_off;
  shstr->sh_size = old_len + sizeof name;
  eh.e_shoff = sh_off;
  eh.e_shnum = (Elf64_Half)(nsh + 1);
  memcpy(copy, &eh, sizeof eh);
  char *tmp = NULL;
  ug_status_t st = ug_tmpfile_create(base, ".o", &tmp);
  FILE *f = st ? NULL : fopen(tmp, "wb");
  bool ok = f && fwrite(copy, 1, size, f) == size && fseek(f, (long)blob_off, SEEK_SET) == 0;
  if (ok) st = ug_weight_layout_write(m, wl, f);
  ok = ok && !st && fwrite(obj + old_str, 1, old_len, f) == old_len &&
       fwrite(name, sizeof name, 1, f) == 1 && fseek(f, (long)sh_off, SEEK_SET) == 0 &&
       fwrite(sh, sizeof *sh, nsh + 1, f) == nsh + 1;
  if (f && fclose(f) != 0) ok = false;
  free(sh);
  free(copy);
  if (st || !ok) {
    if (!st) st = ug_status_make(UG_ERR_IO, tmp, "cannot write the object file");
    if (tmp) {
      remove(tmp);
      free(tmp);
    }
    return st;
  }
  *out_tmp = tmp;
  return NULL;
bad:
  return ug_status_make(UG_ERR_INTERNAL, NULL, "LLVM's object file has an unexpected layout");
}

ug_status_t ug_codegen_emit(ug_module_t *m, const ug_compile_options_t *o) {
  target_list_t tl;
  UG_RETURN_IF_ERROR(parse_targets(o->targets, &tl));
  /* the ABI tables are host code: without a CPU target they use the default one */
  const ug_target_t *target = tl.cpu ? tl.cpu : &ug_target_cpu_x86_64;
  if (!o->output_path) return ug_status_make(UG_ERR_INVALID, NULL, "no output path");
  if (m->graphs.len == 0) return ug_status_make(UG_ERR_INVALID, NULL, "the module has no graph");

  /* A GGUF model refers to its own file unless asked to embed the weights. */
  bool from_source = m->source.path && o->weights != UG_WEIGHTS_EMBED;
  ug_weight_layout_t wl;
  UG_RETURN_IF_ERROR(from_source ? ug_weight_layout_build_source(m, &wl) : ug_weight_layout_build(m, &wl));
  char *source_abs = NULL;
  if (from_source && !(source_abs = realpath(m->source.path, NULL)))
    return ug_status_make(UG_ERR_IO, m->source.path, "cannot resolve the path: %s", strerror(errno));
  uint32_t ng = (uint32_t)m->graphs.len;
  ug_plan_t *plans = calloc(ng, sizeof *plans);
  LLVMValueRef **fns = calloc(ng, sizeof *fns);
  ug_status_t st = NULL;
  for (uint32_t i = 0; i < ng && !st; i++)
    /* scratch is for the CPU kernels (im2col, f16 widening); the CUDA
     * kernels ignore theirs, so a CUDA-only model.so asks for none */
    st = ug_plan_build(m, m->graphs.items[i], i, &wl, tl.cpu ? ug_cg_contract_scratch : NULL, &plans[i]);

  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("model", ctx);
  LLVMSetSourceFileName(mod, "model", 5);
  LLVMTargetMachineRef tm = NULL;
  ug_cg_t cg;
  ug_cg_init(&cg, ctx, mod, m, target, o->opt_level);
  cg.prefer_kir = o->prefer_kir;
  char *side_tmp = NULL, *obj_tmp = NULL, *ll_tmp = NULL;
  LLVMMemoryBufferRef obj = NULL;
  bool want_obj = o->emit == UG_EMIT_SO || o->emit == UG_EMIT_OBJ;

  ug_package_gpu_t gpu = {0};
  ug_package_image_t *images = NULL;
#ifdef UG_HAVE_CUDA
  ug_nvrtc_result_t nvrtc = {0};
  /* first: an op the CUDA emitter does not handle fails before any LLVM work */
  if (!st && tl.cuda) st = build_cuda(m, plans, ng, &tl, o, &nvrtc, &gpu, &images);
#endif
  if (!st) st = ug_llvm_target_machine(target, o->opt_level, &tm);
  if (!st) ug_llvm_setup_module(mod, tm);
  for (uint32_t i = 0; i < ng && !st && tl.cpu; i++) {
    fns[i] = calloc(plans[i].steps.len + 1, sizeof(LLVMValueRef));
    st = ug_cg_lower_plan(&cg, &plans[i], fns[i]);
  }
  ug_package_desc_t d = {.plans = plans, .num_plans = ng, .kernel_fns = tl.cpu ? fns : NULL,
                         .gpu = tl.cuda ? &gpu : NULL, .wl = &wl, .place = UG_WEIGHTS_IN_MODULE};
  char *side_name = NULL;
  if (from_source) {
    d.weights_file = source_abs; /* the tail, if any, stays in the module */
  } else if (!st && o->weights == UG_WEIGHTS_EXTERNAL) {
    d.place = UG_WEIGHTS_SIDE_FILE;
    side_name = malloc(strlen(o->output_path) + 16);
    sprintf(side_name, "%s.weights", o->output_path);
    d.weights_file = base_name(side_name);
    st = write_side_weights(m, &wl, side_name, &side_tmp);
  } else if (!st && want_obj && wl.size > UG_BLOB_THRESHOLD) {
    d.place = UG_WEIGHTS_INCBIN; /* with no incbin_path: a declared symbol, defined below */
  }
  if (!st) st = ug_llvm_package(&cg, tm, &d);
  const char *dump = o->pass_options.dump_dir;
  if (!st && dump) {
    dump_plans(m, plans, ng, dump);
    dump_module(mod, dump, "codegen-cpu.ll");
  }
  if (!st) st = ug_llvm_verify(mod);
  if (!st) st = ug_llvm_optimize(mod, tm, o->opt_level);
  if (!st && dump) dump_module(mod, dump, "codegen-cpu.opt.ll");

  if (!st && o->emit == UG_EMIT_LLVM) {
    char *text = LLVMPrintModuleToString(mod);
    st = ug_tmpfile_write(o->output_path, ".ll", text, strlen(text), &ll_tmp);
    LLVMDisposeMessage(text);
    if (!st) {
      st = ug_file_commit(ll_tmp, o->output_path);
    }
  } else if (!st && want_obj) {
    st = ug_llvm_emit(mod, tm, LLVMObjectFile, &obj);
    if (!st)
      st = d.place == UG_WEIGHTS_INCBIN
               ? write_object_with_weights((const uint8_t *)LLVMGetBufferStart(obj), LLVMGetBufferSize(obj), m,
                                           &wl, o->output_path, &obj_tmp)
               : ug_tmpfile_write(o->output_path, ".o", LLVMGetBufferStart(obj), LLVMGetBufferSize(obj), &obj_tmp);
    if (!st && o->emit == UG_EMIT_OBJ) {
      st = ug_file_commit(obj_tmp, o->output_path);
    } else if (!st) {
      const char *objs[1] = {obj_tmp};
      const char *exports[1] = {"ugrt_model_query"};
      st = ug_link_shared(o->output_path, objs, 1, exports, 1);
      remove(obj_tmp);
    }
  } else if (!st && o->emit != UG_EMIT_LLVM) {
    st = ug_status_make(UG_ERR_INVALID, NULL, "codegen cannot emit this output kind");
  }
  if (!st && side_tmp) {
    st = ug_file_commit(side_tmp, side_name);
    if (st) remove(o->output_path);
  } else if (side_tmp) {
    remove(side_tmp);
  }
  if (st && obj_tmp) remove(obj_tmp);
  if (st) {
    /* like a C compiler: a failed compilation leaves no (stale) output */
    remove(o->output_path);
    if (side_name) remove(side_name);
  }

#ifdef UG_HAVE_CUDA
  ug_nvrtc_result_free(&nvrtc);
#endif
  free(images);
  free(side_tmp);
  free(obj_tmp);
  free(ll_tmp);
  free(side_name);
  free(source_abs);
  if (obj) LLVMDisposeMemoryBuffer(obj);
  ug_cg_dispose(&cg);
  LLVMDisposeModule(mod);
  if (tm) LLVMDisposeTargetMachine(tm);
  LLVMContextDispose(ctx);
  for (uint32_t i = 0; i < ng; i++) free(fns[i]);
  free(fns);
  free(plans);
  return st;
}
