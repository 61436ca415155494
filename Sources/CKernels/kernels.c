#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma")))
static inline float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    float r = _mm_cvtss_f32(h);
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}

__attribute__((target("avx2,fma")))
static void gather_avx2(const float *base, const int32_t *ids, size_t count, size_t dim, const float *q, float *out) {
    for (size_t i = 0; i < count; i++) {
        if (i + 1 < count) {
            const char *next = (const char *)(base + (size_t)ids[i + 1] * dim);
            for (size_t o = 0; o < dim * sizeof(float); o += 64) _mm_prefetch(next + o, _MM_HINT_T0);
        }
        out[i] = dot_avx2(base + (size_t)ids[i] * dim, q, dim);
    }
}
#endif

static inline float dot_portable(const float *a, const float *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static void gather_portable(const float *base, const int32_t *ids, size_t count, size_t dim, const float *q, float *out) {
    for (size_t i = 0; i < count; i++) {
        if (i + 1 < count) __builtin_prefetch(base + (size_t)ids[i + 1] * dim);
        out[i] = dot_portable(base + (size_t)ids[i] * dim, q, dim);
    }
}

static int use_avx2 = -1;

__attribute__((constructor))
static void choose(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    use_avx2 = 0;
#endif
}

int ck_uses_avx2(void) { return use_avx2 > 0; }

float ck_dot_f32(const float *a, const float *b, size_t n) {
#if defined(__x86_64__)
    if (use_avx2 > 0) return dot_avx2(a, b, n);
#endif
    return dot_portable(a, b, n);
}

void ck_dot_gather_f32(const float *base, const int32_t *ids, size_t count, size_t dim, const float *q, float *out) {
#if defined(__x86_64__)
    if (use_avx2 > 0) { gather_avx2(base, ids, count, dim, q, out); return; }
#endif
    gather_portable(base, ids, count, dim, q, out);
}
