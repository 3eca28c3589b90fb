/* Host tensors for the tools (ugcc-run, the conformance runner): NumPy .npy
 * files, ONNX TensorProto .pb files, seeded random contents, comparison.
 *
 * Functions that can fail return false and write a one-line reason into
 * err[0..errlen) ("x.npy: Fortran-order arrays are not supported"). */
#ifndef UG_TOOLS_TENSOR_IO_H
#define UG_TOOLS_TENSOR_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ugrt/ugrt.h"

typedef struct {
  ugrt_dtype_t dtype;
  uint32_t rank;
  int64_t dims[UGRT_MAX_RANK];
  void *data;  /* malloc'd, size bytes (owned) */
  size_t size;
  char *name;  /* malloc'd or NULL: the TensorProto's name */
} ug_tensor_t;

void ug_tensor_free(ug_tensor_t *t);
/* Number of elements; false on overflow or a negative dim. */
bool ug_tensor_count(uint32_t rank, const int64_t *dims, size_t *out);
/* Byte size of a dtype/rank/dims tensor; false (with the reason) for a
 * negative dim, an overflow, a size above 1 TiB or a dtype without a size. */
bool ug_tensor_nbytes(ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims, size_t *out,
                      char *err, size_t errlen);
/* Allocates zeroed data for dtype/rank/dims (t->name NULL). */
bool ug_tensor_alloc(ug_tensor_t *t, ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims,
                     char *err, size_t errlen);

/* NumPy .npy (format 1.0, 2.0, 3.0; little-endian, C order). */
bool ug_npy_parse(const void *bytes, size_t n, const char *what, ug_tensor_t *out, char *err,
                  size_t errlen);
bool ug_npy_read(const char *path, ug_tensor_t *out, char *err, size_t errlen);
bool ug_npy_write(const char *path, ugrt_dtype_t dtype, uint32_t rank, const int64_t *dims,
                  const void *data, size_t size, char *err, size_t errlen);

/* ONNX TensorProto (.pb); fails with "built without ONNX support" when the
 * tools are built without protobuf-c. */
bool ug_pb_parse(const void *bytes, size_t n, const char *what, ug_tensor_t *out, char *err,
                 size_t errlen);
bool ug_pb_read(const char *path, ug_tensor_t *out, char *err, size_t errlen);

/* Reads a whole file into malloc'd memory. */
bool ug_read_file(const char *path, void **out, size_t *out_size, char *err, size_t errlen);

/* Fills t->data deterministically from seed: floats uniform in [-1, 1),
 * signed integers in [-8, 8), unsigned in [0, 16), bools 0/1. */
void ug_tensor_fill_random(ug_tensor_t *t, uint64_t seed);

/* Parses "1x3x224x224" ("" or "scalar" is rank 0). */
bool ug_parse_shape(const char *s, uint32_t *rank, int64_t *dims);

/* Element i as a double (floats decoded, integers converted). */
double ug_tensor_get_f64(ugrt_dtype_t dtype, const void *data, size_t i);
/* Element i as an exact integer (integers and bools). */
int64_t ug_tensor_get_i64(ugrt_dtype_t dtype, const void *data, size_t i);
bool ug_tensor_dtype_is_float(ugrt_dtype_t dtype);

/* Compares got against want: same dtype and shape; floats within
 * |a-b| <= atol + rtol*|b| with NaN matching NaN (and infinities equal);
 * integers and bools exactly.  On a mismatch writes the reason. */
bool ug_tensor_compare(const ug_tensor_t *got, const ug_tensor_t *want, double rtol, double atol,
                       char *why, size_t whylen);

/* f16 / bf16 conversions. */
float ug_tensor_f16_to_f32(uint16_t h);
uint16_t ug_tensor_f32_to_f16(float f);

#endif
