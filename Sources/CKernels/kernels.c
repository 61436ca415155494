#include "CKernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

// The 8 lanes' sum: halves, then pairs, then the last two.
__attribute__((target("avx")))
static inline float hsum8(__m256 s) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
}

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
    float r = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}


__attribute__((target("avx512f")))
static inline float dot_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    float r = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    for (; i < n; i++) r += a[i] * b[i];
    return r;
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

typedef float (*dot_fn)(const float *, const float *, size_t);

/// Scores gathered rows, prefetching the next row while the current one is summed.
static void gather(dot_fn dot, const float *base, const int32_t *ids, size_t count, size_t dim, const float *q, float *out) {
    for (size_t i = 0; i < count; i++) {
        if (i + 1 < count) {
            const char *next = (const char *)(base + (size_t)ids[i + 1] * dim);
            for (size_t o = 0; o < dim * sizeof(float); o += 64) __builtin_prefetch(next + o);
        }
        out[i] = dot(base + (size_t)ids[i] * dim, q, dim);
    }
}

static int use_avx2 = -1;
static int use_avx512 = -1;
/// The quantised-row, f16 and attention kernels need F16C beside AVX2+FMA.
static int use_f16c = -1;
static int use_avx512_bf16 = -1;
/// AVX512-VNNI (256-bit, with VL) for the quantised products' byte dot products.
static int use_vnni = -1;

__attribute__((constructor))
static void choose(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    use_avx512 = __builtin_cpu_supports("avx512f");
    use_f16c = use_avx2 && __builtin_cpu_supports("f16c");
    use_avx512_bf16 = use_avx512 && __builtin_cpu_supports("avx512bf16");
    use_vnni = use_f16c && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
#else
    use_avx2 = 0;
    use_avx512 = 0;
    use_f16c = 0;
    use_avx512_bf16 = 0;
    use_vnni = 0;
#endif
}

int ck_uses_avx2(void) { return use_avx2 > 0; }
int ck_uses_avx512(void) { return use_avx512 > 0; }

float ck_dot_f32(const float *a, const float *b, size_t n) {
#if defined(__x86_64__)
    if (use_avx512 > 0) return dot_avx512(a, b, n);
    if (use_avx2 > 0) return dot_avx2(a, b, n);
#endif
    return dot_portable(a, b, n);
}

void ck_dot_gather_f32(const float *base, const int32_t *ids, size_t count, size_t dim, const float *q, float *out) {
#if defined(__x86_64__)
    if (use_avx512 > 0) { gather(dot_avx512, base, ids, count, dim, q, out); return; }
    if (use_avx2 > 0) { gather(dot_avx2, base, ids, count, dim, q, out); return; }
#endif
    gather(dot_portable, base, ids, count, dim, q, out);
}

// MARK: - bfloat16 rows

static inline float dot_bf16_portable(const uint16_t *a, const uint16_t *b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = (uint32_t)a[i] << 16, y = (uint32_t)b[i] << 16;
        float fx, fy;
        __builtin_memcpy(&fx, &x, 4);
        __builtin_memcpy(&fy, &y, 4);
        s += fx * fy;
    }
    return s;
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bf16")))
static inline float dot_bf16_avx512(const uint16_t *a, const uint16_t *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_dpbf16_ps(s0, (__m512bh)_mm512_loadu_si512(a + i), (__m512bh)_mm512_loadu_si512(b + i));
        s1 = _mm512_dpbf16_ps(s1, (__m512bh)_mm512_loadu_si512(a + i + 32), (__m512bh)_mm512_loadu_si512(b + i + 32));
    }
    for (; i + 32 <= n; i += 32) s0 = _mm512_dpbf16_ps(s0, (__m512bh)_mm512_loadu_si512(a + i), (__m512bh)_mm512_loadu_si512(b + i));
    float r = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    if (i < n) r += dot_bf16_portable(a + i, b + i, n - i);
    return r;
}

// Without AVX512-BF16: widen to fp32 (a shift) and multiply-add on AVX2.
__attribute__((target("avx2,fma")))
static inline float dot_bf16_avx2(const uint16_t *a, const uint16_t *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(a + i)), y = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256 xl = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(x)), 16));
        __m256 xh = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(x, 1)), 16));
        __m256 yl = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(y)), 16));
        __m256 yh = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(y, 1)), 16));
        s0 = _mm256_fmadd_ps(xl, yl, s0);
        s1 = _mm256_fmadd_ps(xh, yh, s1);
    }
    float r = hsum8(_mm256_add_ps(s0, s1));
    if (i < n) r += dot_bf16_portable(a + i, b + i, n - i);
    return r;
}
#endif

void ck_dot_gather_bf16(const uint16_t *base, const int32_t *ids, size_t count, size_t dim, const uint16_t *q, float *out) {
    for (size_t i = 0; i < count; i++) {
        if (i + 1 < count) {
            const char *next = (const char *)(base + (size_t)ids[i + 1] * dim);
            for (size_t o = 0; o < dim * sizeof(uint16_t); o += 64) __builtin_prefetch(next + o);
        }
        const uint16_t *row = base + (size_t)ids[i] * dim;
#if defined(__x86_64__)
        if (use_avx512_bf16 > 0) { out[i] = dot_bf16_avx512(row, q, dim); continue; }
        if (use_avx2 > 0) { out[i] = dot_bf16_avx2(row, q, dim); continue; }
#endif
        out[i] = dot_bf16_portable(row, q, dim);
    }
}

// MARK: - Quantised rows (llama.cpp block formats)

static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
    if (exp == 0) {
        if (mant == 0) { bits = sign; }
        else {
            // Subnormal: normalise.
            exp = 127 - 15 + 1;
            while (!(mant & 0x400)) { mant <<= 1; exp--; }
            bits = sign | (exp << 23) | ((mant & 0x3FF) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000 | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    __builtin_memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t load_u16(const uint8_t *p) { uint16_t v; __builtin_memcpy(&v, p, 2); return v; }

static void rows_q4_0_portable(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                               const int8_t *qx, const float *dx, float *out) {
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = base + r * row_bytes;
        float acc = 0;
        for (size_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 18;
            const int8_t *x = qx + b * 32;
            int32_t s = 0;
            for (int j = 0; j < 16; j++) s += ((p[2 + j] & 0x0F) - 8) * x[j] + ((p[2 + j] >> 4) - 8) * x[j + 16];
            acc += half_to_float(load_u16(p)) * dx[b] * (float)s;
        }
        out[r] = acc;
    }
}

static void rows_q4_1_portable(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                               const int8_t *qx, const float *dx, const float *sx, float *out) {
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = base + r * row_bytes;
        float acc = 0;
        for (size_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 20;
            const int8_t *x = qx + b * 32;
            int32_t s = 0;
            for (int j = 0; j < 16; j++) s += (p[4 + j] & 0x0F) * x[j] + (p[4 + j] >> 4) * x[j + 16];
            acc += half_to_float(load_u16(p)) * dx[b] * (float)s + half_to_float(load_u16(p + 2)) * sx[b];
        }
        out[r] = acc;
    }
}

static void rows_q8_0_portable(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                               const int8_t *qx, const float *dx, float *out) {
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = base + r * row_bytes;
        float acc = 0;
        for (size_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 34;
            const int8_t *w = (const int8_t *)(p + 2), *x = qx + b * 32;
            int32_t s = 0;
            for (int j = 0; j < 32; j++) s += w[j] * x[j];
            acc += half_to_float(load_u16(p)) * dx[b] * (float)s;
        }
        out[r] = acc;
    }
}

#if defined(__x86_64__)
#define QTARGET __attribute__((target("avx2,fma,f16c")))


/// 16 bytes of nibbles → 32 bytes: low nibbles first (values 0..15 of the block), then high ones.
QTARGET static inline __m256i nibbles(const uint8_t *qs) {
    __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i b = _mm256_insertf128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

/// Σ pairs of unsigned × signed bytes → 8 int32 sums as floats.
QTARGET static inline __m256 madd_us(__m256i u, __m256i s) {
    __m256i p = _mm256_maddubs_epi16(u, s);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/// Signed × signed: |a| × (b with a's sign), so maddubs can take it.
QTARGET static inline __m256 madd_ss(__m256i a, __m256i b) {
    return madd_us(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

// The same sums in one VNNI instruction (vpdpbusd, as llama.cpp uses where the CPU has it). The
// results are identical: maddubs's int16 pair sums cannot saturate here (4-bit weights, or 8-bit
// values within ±127 on both sides), so both compute the exact int32 sum of four products.
#define VTARGET __attribute__((target("avx2,fma,f16c,avx512vnni,avx512vl")))

VTARGET static inline __m256 madd_us_vnni(__m256i u, __m256i s) {
    return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s));
}

VTARGET static inline __m256 madd_ss_vnni(__m256i a, __m256i b) {
    return madd_us_vnni(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

QTARGET static void rows_q4_0_avx2(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                                   const int8_t *qx, const float *dx, float *out) {
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = base + r * row_bytes;
        __m256 acc = _mm256_setzero_ps();
        for (size_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 18;
            __m256i w = _mm256_sub_epi8(nibbles(p + 2), _mm256_set1_epi8(8));
            __m256i x = _mm256_loadu_si256((const __m256i *)(qx + b * 32));
            float d = _cvtsh_ss(load_u16(p)) * dx[b];
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), madd_ss(w, x), acc);
        }
        out[r] = hsum8(acc);
    }
}

QTARGET static void rows_q4_1_avx2(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                                   const int8_t *qx, const float *dx, const float *sx, float *out) {
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = base + r * row_bytes;
        __m256 acc = _mm256_setzero_ps();
        float mins = 0;
        for (size_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 20;
            __m256i x = _mm256_loadu_si256((const __m256i *)(qx + b * 32));
            float d = _cvtsh_ss(load_u16(p)) * dx[b];
            mins += _cvtsh_ss(load_u16(p + 2)) * sx[b];
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), madd_us(nibbles(p + 4), x), acc);
        }
        out[r] = hsum8(acc) + mins;
    }
}

QTARGET static void rows_q8_0_avx2(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                                   const int8_t *qx, const float *dx, float *out) {
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = base + r * row_bytes;
        __m256 acc = _mm256_setzero_ps();
        for (size_t b = 0; b < blocks; b++) {
            const uint8_t *p = row + b * 34;
            __m256i w = _mm256_loadu_si256((const __m256i *)(p + 2));
            __m256i x = _mm256_loadu_si256((const __m256i *)(qx + b * 32));
            float d = _cvtsh_ss(load_u16(p)) * dx[b];
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), madd_ss(w, x), acc);
        }
        out[r] = hsum8(acc);
    }
}
#endif


void ck_rows_q4_0_q8_0(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                       const int8_t *qx, const float *dx, float *out) {
#if defined(__x86_64__)
    if (use_f16c > 0) { rows_q4_0_avx2(base, row_bytes, r0, r1, blocks, qx, dx, out); return; }
#endif
    rows_q4_0_portable(base, row_bytes, r0, r1, blocks, qx, dx, out);
}

void ck_rows_q4_1_q8_1(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                       const int8_t *qx, const float *dx, const float *sx, float *out) {
#if defined(__x86_64__)
    if (use_f16c > 0) { rows_q4_1_avx2(base, row_bytes, r0, r1, blocks, qx, dx, sx, out); return; }
#endif
    rows_q4_1_portable(base, row_bytes, r0, r1, blocks, qx, dx, sx, out);
}

void ck_rows_q8_0_q8_0(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                       const int8_t *qx, const float *dx, float *out) {
#if defined(__x86_64__)
    if (use_f16c > 0) { rows_q8_0_avx2(base, row_bytes, r0, r1, blocks, qx, dx, out); return; }
#endif
    rows_q8_0_portable(base, row_bytes, r0, r1, blocks, qx, dx, out);
}

// MARK: - Several tokens at once (prompt processing)

#if defined(__x86_64__)
/// Rows r0..<r1 times `ntok` activation vectors (x_stride bytes apart, dx/sx blocks apart), writing
/// out[t * out_stride + r]: each weight block is unpacked once for up to four tokens.
#define MULTI_KERNEL(NAME, TARGET, BLOCK_BYTES, UNPACK, MADD, HAS_MIN)                                      \
TARGET static void NAME(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,       \
                         const int8_t *qx, const float *dx, const float *sx, size_t ntok, float *out, size_t out_stride) { \
    for (size_t r = r0; r < r1; r++) {                                                                      \
        const uint8_t *row = base + r * row_bytes;                                                          \
        for (size_t t0 = 0; t0 < ntok; t0 += 4) {                                                           \
            size_t nt = ntok - t0 < 4 ? ntok - t0 : 4;                                                      \
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}; \
            float mins[4] = {0, 0, 0, 0};                                                                   \
            for (size_t b = 0; b < blocks; b++) {                                                           \
                const uint8_t *p = row + b * BLOCK_BYTES;                                                   \
                __m256i w = UNPACK;                                                                         \
                float dw = _cvtsh_ss(load_u16(p));                                                          \
                float mw = HAS_MIN ? _cvtsh_ss(load_u16(p + 2)) : 0;                                        \
                for (size_t k = 0; k < nt; k++) {                                                           \
                    size_t t = t0 + k;                                                                      \
                    __m256i x = _mm256_loadu_si256((const __m256i *)(qx + t * blocks * 32 + b * 32));        \
                    acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dx[t * blocks + b]), MADD(w, x), acc[k]);  \
                    if (HAS_MIN) mins[k] += mw * sx[t * blocks + b];                                        \
                }                                                                                           \
            }                                                                                               \
            for (size_t k = 0; k < nt; k++) out[(t0 + k) * out_stride + r] = hsum8(acc[k]) + mins[k];     \
        }                                                                                                   \
    }                                                                                                       \
}

MULTI_KERNEL(multi_q4_0_avx2, QTARGET, 18, _mm256_sub_epi8(nibbles(p + 2), _mm256_set1_epi8(8)), madd_ss, 0)
MULTI_KERNEL(multi_q4_1_avx2, QTARGET, 20, nibbles(p + 4), madd_us, 1)
MULTI_KERNEL(multi_q8_0_avx2, QTARGET, 34, _mm256_loadu_si256((const __m256i *)(p + 2)), madd_ss, 0)
MULTI_KERNEL(multi_q4_0_vnni, VTARGET, 18, _mm256_sub_epi8(nibbles(p + 2), _mm256_set1_epi8(8)), madd_ss_vnni, 0)
MULTI_KERNEL(multi_q4_1_vnni, VTARGET, 20, nibbles(p + 4), madd_us_vnni, 1)
MULTI_KERNEL(multi_q8_0_vnni, VTARGET, 34, _mm256_loadu_si256((const __m256i *)(p + 2)), madd_ss_vnni, 0)
#endif

void ck_rows_multi(int type, const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                   const int8_t *qx, const float *dx, const float *sx, size_t ntok, float *out, size_t out_stride) {
#if defined(__x86_64__)
    if (use_vnni > 0) {
        switch (type) {
        case 2: multi_q4_0_vnni(base, row_bytes, r0, r1, blocks, qx, dx, sx, ntok, out, out_stride); return;
        case 3: multi_q4_1_vnni(base, row_bytes, r0, r1, blocks, qx, dx, sx, ntok, out, out_stride); return;
        case 8: multi_q8_0_vnni(base, row_bytes, r0, r1, blocks, qx, dx, sx, ntok, out, out_stride); return;
        default: break;
        }
    }
    if (use_f16c > 0) {
        switch (type) {
        case 2: multi_q4_0_avx2(base, row_bytes, r0, r1, blocks, qx, dx, sx, ntok, out, out_stride); return;
        case 3: multi_q4_1_avx2(base, row_bytes, r0, r1, blocks, qx, dx, sx, ntok, out, out_stride); return;
        case 8: multi_q8_0_avx2(base, row_bytes, r0, r1, blocks, qx, dx, sx, ntok, out, out_stride); return;
        default: break;
        }
    }
#endif
    for (size_t t = 0; t < ntok; t++) {
        const int8_t *q = qx + t * blocks * 32;
        const float *d = dx + t * blocks;
        float *o = out + t * out_stride;
        switch (type) {
        case 2: rows_q4_0_portable(base, row_bytes, r0, r1, blocks, q, d, o); break;
        case 3: rows_q4_1_portable(base, row_bytes, r0, r1, blocks, q, d, sx + t * blocks, o); break;
        default: rows_q8_0_portable(base, row_bytes, r0, r1, blocks, q, d, o); break;
        }
    }
}

// MARK: - Attention


#if defined(__x86_64__)
QTARGET static float f16_round_one(float x) { return _cvtsh_ss(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT)); }

QTARGET static void round_f16_f16c(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++) y[i] = f16_round_one(x[i]);
}

#endif

// Attention as llama.cpp computes it on the CPU with its default flash attention, for batches under
// 64 queries and caches under 512 keys (its "one chunk" path): the query rounded to f16, q·k summed
// in ggml's f16 dot-product order, an online softmax with libm's expf, and the weighted sum of values
// kept in f16, rounded after every key. Greedy decoding follows the argmax, and a 135M model's top
// two logits are often a few hundredths apart, so these rounding points decide whole continuations.

/// q·k in ggml's vec_dot_f16 order: four 8-lane FMA accumulators over 32-value steps, summed
/// (a0 + a2) + (a1 + a3), then lanes l and l + 4, then (t0 + t1) + (t2 + t3); a tail in double.
static inline float dot_ggml_f16_order(const float *x, const float *y, size_t n) {
    float acc[4][8] = {{0}};
    size_t np = n & ~(size_t)31;
    for (size_t i = 0; i < np; i += 32)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 8; l++) acc[j][l] = fmaf(x[i + 8 * j + l], y[i + 8 * j + l], acc[j][l]);
    float a[8], t[4];
    for (int l = 0; l < 8; l++) {
        float a02 = acc[0][l] + acc[2][l], a13 = acc[1][l] + acc[3][l];
        a[l] = a02 + a13;
    }
    for (int l = 0; l < 4; l++) t[l] = a[l] + a[l + 4];
    float t01 = t[0] + t[1], t23 = t[2] + t[3];
    double sum = (double)(t01 + t23);
    for (size_t i = np; i < n; i++) { float p = x[i] * y[i]; sum += (double)p; }
    return (float)sum;
}

#if defined(__x86_64__)
QTARGET static float dot_ggml_f16_order_avx2(const float *x, const float *y, size_t n) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    size_t np = n & ~(size_t)31;
    for (size_t i = 0; i < np; i += 32)
        for (int j = 0; j < 4; j++)
            acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8 * j), _mm256_loadu_ps(y + i + 8 * j), acc[j]);
    __m256 a = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    float tv[4];
    _mm_storeu_ps(tv, t);
    float t01 = tv[0] + tv[1], t23 = tv[2] + tv[3];
    double sum = (double)(t01 + t23);
    for (size_t i = np; i < n; i++) { float p = x[i] * y[i]; sum += (double)p; }
    return (float)sum;
}

/// The f16 running sum of values: acc = f16(acc · ms) when the maximum moves, then
/// acc = f16(fma(v, vs, acc)).
QTARGET static void accumulate_f16_avx2(float *acc, const float *v, size_t hd, float ms, int rescale, float vs) {
    __m256 m = _mm256_set1_ps(ms), w = _mm256_set1_ps(vs);
    for (size_t j = 0; j < hd; j += 8) {
        __m256 a = _mm256_loadu_ps(acc + j);
        if (rescale) a = _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_mul_ps(a, m), _MM_FROUND_TO_NEAREST_INT));
        a = _mm256_fmadd_ps(_mm256_loadu_ps(v + j), w, a);
        _mm256_storeu_ps(acc + j, _mm256_cvtph_ps(_mm256_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT)));
    }
}
#endif

static void accumulate_f16_portable(float *acc, const float *v, size_t hd, float ms, int rescale, float vs) {
    for (size_t j = 0; j < hd; j++) {
        float a = acc[j];
        if (rescale) { float scaled = a * ms; a = (float)(_Float16)scaled; }
        acc[j] = (float)(_Float16)fmaf(v[j], vs, a);
    }
}

void ck_attend(const float *q, const float *K, const float *V, size_t len, size_t hd, size_t stride, float scale,
               float *acc, float *out) {
#if defined(__x86_64__)
    int vector = use_f16c > 0 && hd % 8 == 0;
#else
    int vector = 0;
#endif
    float S = 0, M = -INFINITY;
    for (size_t j = 0; j < hd; j++) acc[j] = 0;
    for (size_t t = 0; t < len; t++) {
        const float *k = K + t * stride, *v = V + t * stride;
#if defined(__x86_64__)
        float s = vector ? dot_ggml_f16_order_avx2(k, q, hd) : dot_ggml_f16_order(k, q, hd);
#else
        float s = dot_ggml_f16_order(k, q, hd);
#endif
        s = s * scale;
        float ms = 1, vs = 1;
        int rescale = 0;
        if (s > M) {
            float previous = M;
            M = s;
            ms = expf(previous - M);
            rescale = 1;
        } else {
            vs = expf(s - M);
        }
#if defined(__x86_64__)
        if (vector) accumulate_f16_avx2(acc, v, hd, ms, rescale, vs); else accumulate_f16_portable(acc, v, hd, ms, rescale, vs);
#else
        accumulate_f16_portable(acc, v, hd, ms, rescale, vs);
#endif
        float kept = S * ms;
        S = kept + vs;
    }
    float inv = S == 0 ? 0 : 1.0f / S;
    for (size_t j = 0; j < hd; j++) out[j] = acc[j] * inv;
}

// MARK: - Element-wise helpers of local inference

void ck_quantize_q8(const float *x, size_t blocks, int8_t *q, float *d, float *s) {
    for (size_t b = 0; b < blocks; b++) {
        const float *v = x + b * 32;
        float amax = 0;
        for (int j = 0; j < 32; j++) { float a = fabsf(v[j]); if (a > amax) amax = a; }
        // As llama.cpp's quantize_row_q8_0/q8_1: the scale through f16, the values by 1/d, nearest even.
        float dd = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;
        int32_t sum = 0;
        for (int j = 0; j < 32; j++) {
            int8_t r = (int8_t)nearbyintf(v[j] * id);
            q[b * 32 + j] = r;
            sum += r;
        }
#if defined(__x86_64__)
        if (use_f16c > 0) {
            d[b] = f16_round_one(dd);
            if (s) s[b] = f16_round_one(dd * (float)sum);
            continue;
        }
#endif
        d[b] = (float)(_Float16)dd;
        if (s) s[b] = (float)(_Float16)(dd * (float)sum);
    }
}

void ck_round_f16(const float *x, float *y, size_t n) {
#if defined(__x86_64__)
    if (use_f16c > 0) { round_f16_f16c(x, y, n); return; }
#endif
    for (size_t i = 0; i < n; i++) y[i] = (float)(_Float16)x[i];
}

#if defined(__x86_64__)
/// exp(x) by ggml's AVX2 method: x = n·ln2 + b with n rounded through the 1.5·2^23 trick and ln2 in
/// two parts, a degree-5 polynomial in b, and 2^n built in the exponent bits; |n| > 126 takes the
/// scaled path that keeps subnormal and overflowing results right. llama.cpp's SwiGLU uses it, and
/// libm's expf differs from it in the last bit for about a quarter of inputs.
QTARGET static __m256 exp_ggml_avx2(__m256 x) {
    const __m256 shifter = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shifter);
    const __m256 n = _mm256_sub_ps(z, shifter);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
    const __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), _mm256_set1_ps(126), _CMP_GT_OQ);
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 inner = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                                         _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f)));
    const __m256 j = _mm256_fmadd_ps(inner, u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
    if (!_mm256_movemask_ps(big)) return _mm256_fmadd_ps(j, k, k);
    // 2^n split in two factors so that neither overflows nor flushes to zero on its own.
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)), _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 huge = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), _mm256_set1_ps(192), _CMP_GT_OQ);
    const __m256 scaled = _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1);
    return _mm256_blendv_ps(_mm256_blendv_ps(_mm256_fmadd_ps(k, j, k), scaled, big), _mm256_mul_ps(s1, s1), huge);
}

QTARGET static size_t swiglu_avx2(float *gate, const float *up, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(gate + i);
        __m256 silu = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), exp_ggml_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x))));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    return i;
}
#endif

/// The scalar form of exp_ggml_avx2, lane for lane the same arithmetic (fmaf is exact, as the FMA
/// instructions are), for the tiled attention's softmax and for CPUs without AVX2.
static inline float exp_ggml(float x) {
    const float shifter = 0x1.8p23f;
    float z = fmaf(x, 0x1.715476p+0f, shifter);
    float n = z - shifter;
    float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    uint32_t zb;
    memcpy(&zb, &z, 4);
    uint32_t e = zb << 23, kb = e + 0x3f800000u;
    float k;
    memcpy(&k, &kb, 4);
    float u = b * b, lin = 0x1.ffffecp-1f * b;
    float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u, lin);
    if (!(fabsf(n) > 126)) return fmaf(j, k, k);
    uint32_t g = n <= 0 ? 0x82000000u : 0, s1b = g + 0x7f000000u, s2b = e - g;
    float s1, s2;
    memcpy(&s1, &s1b, 4);
    memcpy(&s2, &s2b, 4);
    if (fabsf(n) > 192) return s1 * s1;
    return fmaf(s2, j, s2) * s1;
}

enum { ATTEND_TILE = 64 };

#if defined(__x86_64__)
/// A whole tile at once, eight keys a vector and one lane each, read from the transposed keys so that
/// every key keeps its own in-order FMA chain over the dimensions; the eight chains interleave, which
/// hides the FMA latency.
QTARGET static void tile_scores_avx2(const float *q, const float *Kt, size_t kt_stride, size_t ic, size_t hd,
                                     float scale, float *kq) {
    __m256 s[8];
    for (int g = 0; g < 8; g++) s[g] = _mm256_setzero_ps();
    for (size_t kk = 0; kk < hd; kk++) {
        const float *row = Kt + kk * kt_stride + ic;
        __m256 qv = _mm256_set1_ps(q[kk]);
        for (int g = 0; g < 8; g++) s[g] = _mm256_fmadd_ps(_mm256_loadu_ps(row + 8 * g), qv, s[g]);
    }
    for (int g = 0; g < 8; g++) _mm256_storeu_ps(kq + 8 * g, _mm256_mul_ps(s[g], _mm256_set1_ps(scale)));
}

/// exp(kq − M) a tile, its grouped sum in double, and the weighted values added to acc.
QTARGET static double tile_softmax_accumulate_avx2(const float *kq, float M, const float *V, size_t kt, size_t hd, size_t stride,
                                                   float *p, float *acc) {
    double sum = 0;
    for (size_t g = 0; g < ATTEND_TILE; g += 8) {
        __m256 e = exp_ggml_avx2(_mm256_sub_ps(_mm256_loadu_ps(kq + g), _mm256_set1_ps(M)));
        _mm256_storeu_ps(p + g, e);
        float t[4];
        _mm_storeu_ps(t, _mm_add_ps(_mm256_extractf128_ps(e, 1), _mm256_castps256_ps128(e)));
        float a = t[0] + t[2], b = t[1] + t[3];
        sum += (double)(a + b);
    }
    for (size_t t = 0; t < kt; t++) {
        const float *v = V + t * stride;
        __m256 w = _mm256_set1_ps(p[t]);
        for (size_t j = 0; j < hd; j += 8) _mm256_storeu_ps(acc + j, _mm256_fmadd_ps(_mm256_loadu_ps(v + j), w, _mm256_loadu_ps(acc + j)));
    }
    return sum;
}
#endif

static void tile_scores(const float *q, const float *Kt, size_t kt_stride, size_t ic, size_t kt, size_t hd, float scale, float *kq) {
    for (size_t t = 0; t < kt; t++) {
        float s = 0;
        for (size_t kk = 0; kk < hd; kk++) s = fmaf(Kt[kk * kt_stride + ic + t], q[kk], s);
        kq[t] = s * scale;
    }
}

static double tile_softmax_accumulate(const float *kq, float M, const float *V, size_t kt, size_t hd, size_t stride, float *p, float *acc) {
    // ggml's soft_max: exp in groups of 8, each group summed (l, l + 4) then pairwise, in double.
    double sum = 0;
    for (size_t g = 0; g < ATTEND_TILE; g += 8) {
        float v2[4];
        for (int l = 0; l < 8; l++) p[g + l] = exp_ggml(kq[g + l] - M);
        for (int l = 0; l < 4; l++) v2[l] = p[g + 4 + l] + p[g + l];
        float a = v2[0] + v2[2], b = v2[1] + v2[3];
        sum += (double)(a + b);
    }
    for (size_t t = 0; t < kt; t++) {
        const float *v = V + t * stride;
        for (size_t j = 0; j < hd; j++) acc[j] = fmaf(v[j], p[t], acc[j]);
    }
    return sum;
}

void ck_attend_tiled(const float *q, const float *Kt, size_t kt_stride, const float *V, size_t len, size_t hd, size_t stride,
                     float scale, float *acc, float *out) {
#if defined(__x86_64__)
    int vector = use_f16c > 0 && hd % 8 == 0;
#else
    int vector = 0;
#endif
    float kq[ATTEND_TILE], p[ATTEND_TILE];
    float S = 0, M = -INFINITY;
    for (size_t j = 0; j < hd; j++) acc[j] = 0;
    for (size_t ic = 0; ic < len; ic += ATTEND_TILE) {
        size_t kt = len - ic < ATTEND_TILE ? len - ic : ATTEND_TILE;
#if defined(__x86_64__)
        if (vector) tile_scores_avx2(q, Kt, kt_stride, ic, hd, scale, kq); else tile_scores(q, Kt, kt_stride, ic, kt, hd, scale, kq);
#else
        tile_scores(q, Kt, kt_stride, ic, kt, hd, scale, kq);
#endif
        for (size_t t = kt; t < ATTEND_TILE; t++) kq[t] = -INFINITY;
        float tm = -INFINITY;
        for (size_t t = 0; t < kt; t++) if (kq[t] > tm) tm = kq[t];
        if (tm == -INFINITY) continue;
        float Mn = fmaxf(M, tm);
        if (Mn > M) {
            float ms = expf(M - Mn);
            for (size_t j = 0; j < hd; j++) acc[j] *= ms;
            S = S * ms;
        }
        M = Mn;
#if defined(__x86_64__)
        double rowsum = vector ? tile_softmax_accumulate_avx2(kq, M, V + ic * stride, kt, hd, stride, p, acc)
                               : tile_softmax_accumulate(kq, M, V + ic * stride, kt, hd, stride, p, acc);
#else
        double rowsum = tile_softmax_accumulate(kq, M, V + ic * stride, kt, hd, stride, p, acc);
#endif
        S = (float)((double)S + rowsum);
    }
    float inv = S == 0 ? 0 : 1.0f / S;
    for (size_t j = 0; j < hd; j++) out[j] = acc[j] * inv;
}

void ck_swiglu(float *gate, const float *up, size_t n) {
    // ggml's vector exp for whole groups of 8 (as llama.cpp's AVX2 build), libm's expf for the rest.
    size_t i = 0;
#if defined(__x86_64__)
    if (use_f16c > 0) i = swiglu_avx2(gate, up, n);
#endif
    for (; i < (n & ~(size_t)7); i++) { float g = gate[i]; float silu = g / (1.0f + exp_ggml(0.0f - g)); gate[i] = silu * up[i]; }
    for (; i < n; i++) { float g = gate[i]; float silu = g / (1.0f + expf(-g)); gate[i] = silu * up[i]; }
}

void ck_rmsnorm(const float *x, const float *w, size_t dim, size_t rows, float eps, float *y) {
    for (size_t r = 0; r < rows; r++) {
        const float *v = x + r * dim;
        double sum = 0;
        for (size_t j = 0; j < dim; j++) sum += (double)(v[j] * v[j]);
        float scale = 1.0f / sqrtf((float)(sum / (double)dim) + eps);
        for (size_t j = 0; j < dim; j++) y[r * dim + j] = (v[j] * scale) * w[j];
    }
}

void ck_force_portable(int on) {
    if (on) { use_avx2 = 0; use_avx512 = 0; use_f16c = 0; use_avx512_bf16 = 0; use_vnni = 0; return; }
    choose();
}
