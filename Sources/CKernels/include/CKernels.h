#ifndef ATELIER_CKERNELS_H
#define ATELIER_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Inner product of two float vectors of length n. Uses AVX2+FMA when the CPU has them (checked once,
/// at load), else portable code: Swift's SIMD types compile to the x86-64 baseline (SSE2), and
/// building everything for AVX2 would make the binary fail on older CPUs.
float ck_dot_f32(const float *a, const float *b, size_t n);

/// out[i] = <base + ids[i] * dim, q> for i < count: the similarities of a graph node's neighbours,
/// prefetching the next row while the current one is summed (rows are scattered in memory).
void ck_dot_gather_f32(const float *base, const int32_t *ids, size_t count, size_t dim, const float *q, float *out);

/// 1 when the AVX2+FMA kernels are in use.
int ck_uses_avx2(void);

#endif
