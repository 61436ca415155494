#include "CKernels.h"
#include <string.h>

// Vectorised exp, softmax's exp-and-sum, SiLU / quick GELU and exact GELU. One generic source,
// compiled three times: 16 lanes for AVX-512, 8 for AVX2+FMA, 4 for the baseline (SSE2 on x86-64),
// picked at run time. Swift compiles for the baseline, where its SIMD8 code ran 4 lanes at
// a time without FMA: these loops took a fifth of a small UNet step.
//
// exp: x = k·ln2 + r with k rounded to nearest (the 1.5·2²³ trick), a degree-7 Taylor polynomial for
// e^r (relative error < 1e-8), scaled by 2^k through the exponent bits. Below -87 gives 0 (as expf
// underflows), above 88 is clamped, NaN stays NaN.

// Each instance uses its target's natural width (vf/vi are macro parameters), so no vector crosses a
// function boundary wider than its registers.
#define splat(T, x) ((T){ 0 } + (x))
#define blend(T, I, mask, yes, no) ((T)(((I)(yes) & (mask)) | ((I)(no) & ~(mask))))

#define DEFINE_KERNELS(SUFFIX, TARGET, vf, vi, LANES)                                                         \
    /* Whole vectors by a fixed-size copy (one unaligned load or store); only a row's tail pays for a   */ \
    /* variable-length memcpy call.                                                                      */ \
    TARGET static inline vf load_##SUFFIX(const float *p, size_t n, float fill) {                             \
        vf v = splat(vf, fill);                                                                                   \
        if (n == LANES) memcpy(&v, p, sizeof v); else memcpy(&v, p, n * sizeof(float));                       \
        return v;                                                                                             \
    }                                                                                                         \
    TARGET static inline void store_##SUFFIX(float *p, vf v, size_t n) {                                      \
        if (n == LANES) memcpy(p, &v, sizeof v); else memcpy(p, &v, n * sizeof(float));                       \
    }                                                                                                         \
    TARGET static inline vf exp_##SUFFIX(vf input) {                                                          \
        vi under = input < splat(vf, -87.f);                                                                      \
        vf x = blend(vf, vi, under, splat(vf, -87.f), input);                                                             \
        x = blend(vf, vi, x > splat(vf, 88.f), splat(vf, 88.f), x);                                                           \
        const vf magic = splat(vf, 12582912.f);                                                                   \
        vf shifted = x * 1.44269504f + magic;                                                                 \
        vf k = shifted - magic;                                                                               \
        vf r = x - k * 0.693145751953125f - k * 1.428606765330187e-6f;                                        \
        vf p = splat(vf, 1.f / 5040);                                                                             \
        p = p * r + 1.f / 720;                                                                                \
        p = p * r + 1.f / 120;                                                                                \
        p = p * r + 1.f / 24;                                                                                 \
        p = p * r + 1.f / 6;                                                                                  \
        p = p * r + 0.5f;                                                                                     \
        p = p * r + 1.f;                                                                                      \
        p = p * r + 1.f;                                                                                      \
        vi n = (vi)shifted - 0x4B400000;                                                                      \
        vf scale = (vf)((n + 127) << 23);                                                                     \
        return blend(vf, vi, under, splat(vf, 0.f), p * scale);                                                           \
    }                                                                                                         \
    TARGET static void exp_inplace_##SUFFIX(float *p, size_t n) {                                             \
        for (size_t i = 0; i < n; i += LANES) {                                                               \
            size_t m = n - i < LANES ? n - i : LANES;                                                         \
            vf e = exp_##SUFFIX(load_##SUFFIX(p + i, m, -100.f));                                                      \
            store_##SUFFIX(p + i, e, m);                                                                     \
        }                                                                                                     \
    }                                                                                                         \
    TARGET static float exp_shifted_##SUFFIX(float *row, size_t n, float shift) {                             \
        vf acc = splat(vf, 0.f);                                                                                  \
        for (size_t i = 0; i < n; i += LANES) {                                                               \
            size_t m = n - i < LANES ? n - i : LANES;                                                         \
            /* Lanes past the row hold -inf: exp gives 0 and the sum is unchanged. */                         \
            vf e = exp_##SUFFIX(load_##SUFFIX(row + i, m, -__builtin_inff()) - shift);                                 \
            store_##SUFFIX(row + i, e, m);                                                                    \
            acc += e;                                                                                         \
        }                                                                                                     \
        float sum = 0;                                                                                        \
        for (int j = 0; j < LANES; j++) sum += acc[j];                                                        \
        return sum;                                                                                           \
    }                                                                                                         \
    /* row ← softmax(row); returns log Σ exp(row) (−inf, and a zero row, when every entry is −inf). */         \
    TARGET static float softmax_row_##SUFFIX(float *row, size_t n) {                                          \
        vf top = splat(vf, -__builtin_inff());                                                                \
        for (size_t i = 0; i < n; i += LANES) {                                                               \
            vf v = load_##SUFFIX(row + i, n - i < LANES ? n - i : LANES, -__builtin_inff());                  \
            top = blend(vf, vi, v > top, v, top);                                                             \
        }                                                                                                     \
        float mx = -__builtin_inff();                                                                         \
        for (int j = 0; j < LANES; j++) mx = top[j] > mx ? top[j] : mx;                                       \
        if (mx == -__builtin_inff()) { memset(row, 0, n * sizeof(float)); return mx; }                        \
        float sum = exp_shifted_##SUFFIX(row, n, mx), inv = 1.f / sum;                                        \
        for (size_t i = 0; i < n; i += LANES) {                                                               \
            size_t m = n - i < LANES ? n - i : LANES;                                                         \
            store_##SUFFIX(row + i, load_##SUFFIX(row + i, m, 0.f) * inv, m);                                 \
        }                                                                                                     \
        return mx + __builtin_logf(sum);                                                                      \
    }                                                                                                         \
    TARGET static void sigmoid_gate_##SUFFIX(const float *x, float *y, size_t n, float alpha, float *d) {     \
        for (size_t i = 0; i < n; i += LANES) {                                                               \
            size_t m = n - i < LANES ? n - i : LANES;                                                         \
            vf v = load_##SUFFIX(x + i, m, 0.f);                                                                       \
            vf s = 1.f / (1.f + exp_##SUFFIX(-alpha * v));                                                    \
            vf out = v * s;                                                                                   \
            store_##SUFFIX(y + i, out, m);                                                                    \
            if (d) {                                                                                          \
                vf g = s + alpha * v * s * (1.f - s);                                                         \
                store_##SUFFIX(d + i, g, m);                                                                  \
            }                                                                                                 \
        }                                                                                                     \
    }                                                                                                         \
    /* erf by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7). */                                        \
    TARGET static inline vf erf_##SUFFIX(vf x) {                                                              \
        vi negative = x < splat(vf, 0.f);                                                                         \
        vf ax = blend(vf, vi, negative, -x, x);                                                                       \
        vf t = 1.f / (1.f + 0.3275911f * ax);                                                                 \
        vf p = splat(vf, 1.061405429f);                                                                           \
        p = p * t - 1.453152027f;                                                                             \
        p = p * t + 1.421413741f;                                                                             \
        p = p * t - 0.284496736f;                                                                             \
        p = p * t + 0.254829592f;                                                                             \
        p = p * t;                                                                                            \
        vf y = 1.f - p * exp_##SUFFIX(-ax * ax);                                                              \
        return blend(vf, vi, negative, -y, y);                                                                        \
    }                                                                                                         \
    TARGET static void gelu_##SUFFIX(const float *x, float *y, size_t n, float *d) {                          \
        for (size_t i = 0; i < n; i += LANES) {                                                               \
            size_t m = n - i < LANES ? n - i : LANES;                                                         \
            vf v = load_##SUFFIX(x + i, m, 0.f);                                                                       \
            vf cdf = 0.5f * (1.f + erf_##SUFFIX(v * 0.7071067811865475f));                                    \
            vf out = v * cdf;                                                                                 \
            store_##SUFFIX(y + i, out, m);                                                                    \
            if (d) {                                                                                          \
                vf g = cdf + v * 0.3989422804014327f * exp_##SUFFIX(-0.5f * v * v);                           \
                store_##SUFFIX(d + i, g, m);                                                                  \
            }                                                                                                 \
        }                                                                                                     \
    }

typedef float vf4 __attribute__((vector_size(16)));
typedef int vi4 __attribute__((vector_size(16)));
DEFINE_KERNELS(portable, , vf4, vi4, 4)
#if defined(__x86_64__)
typedef float vf8 __attribute__((vector_size(32)));
typedef int vi8 __attribute__((vector_size(32)));
typedef float vf16 __attribute__((vector_size(64)));
typedef int vi16 __attribute__((vector_size(64)));
DEFINE_KERNELS(avx2, __attribute__((target("avx2,fma"))), vf8, vi8, 8)
DEFINE_KERNELS(avx512, __attribute__((target("avx512f"))), vf16, vi16, 16)
#define DISPATCH(NAME, ...)                                                 \
    if (ck_uses_avx512()) return NAME##_avx512(__VA_ARGS__);                \
    if (ck_uses_avx2()) return NAME##_avx2(__VA_ARGS__);                    \
    return NAME##_portable(__VA_ARGS__);
#define DISPATCH_VOID(NAME, ...)                                            \
    if (ck_uses_avx512()) NAME##_avx512(__VA_ARGS__);                       \
    else if (ck_uses_avx2()) NAME##_avx2(__VA_ARGS__);                      \
    else NAME##_portable(__VA_ARGS__);
#else
#define DISPATCH(NAME, ...) return NAME##_portable(__VA_ARGS__);
#define DISPATCH_VOID(NAME, ...) NAME##_portable(__VA_ARGS__);
#endif

void ck_exp_inplace(float *p, size_t n) { DISPATCH_VOID(exp_inplace, p, n) }
float ck_exp_shifted(float *row, size_t n, float shift) { DISPATCH(exp_shifted, row, n, shift) }
float ck_softmax_row(float *row, size_t n) { DISPATCH(softmax_row, row, n) }
void ck_sigmoid_gate(const float *x, float *y, size_t n, float alpha, float *derivative) {
    DISPATCH_VOID(sigmoid_gate, x, y, n, alpha, derivative)
}
void ck_gelu(const float *x, float *y, size_t n, float *derivative) { DISPATCH_VOID(gelu, x, y, n, derivative) }
