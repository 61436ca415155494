#include "CKernels.h"
#include <stdlib.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Single-precision matrix product on AVX-512, blocked as BLIS does (Goto's algorithm): a 12×32
// register tile of C accumulates one 12-row panel of packed A (in L1) against 32-column panels of
// packed B (in L2). A bf16 variant packs depth pairs of rounded operands for AVX512-BF16 dot products.
// Written because the OpenBLAS a Debian machine has may run its AVX2 kernel on AVX-512 CPUs (machines
// pin it there where its AVX-512 detection misbehaves): this kernel runs at up to twice that speed
// and needs nothing from the environment.

#define MR 12
#define NR 32
// Depth of a block; rows of A packed at once (L3); columns of B packed at once (L2).
#ifndef KC
#define KC 384
#endif
#ifndef MB
#define MB 1536
#endif
#ifndef NB
#define NB 480
#endif
// How far ahead (in panels) packing prefetches the rows of B it reads. Each depth row of B is its own
// stream, and a 3×3 convolution over 42 channels reads 126 image rows per depth block, far more than
// the hardware prefetcher follows: without this, a 128-channel convolution at 256×256 spent a third of
// its time waiting for the rows its panels were packed from.
#define PREFETCH_PANELS 4

// bfloat16 bits of x, rounded to nearest with ties to even (as MatmulPrecision.bf16); NaN stays NaN.
static inline uint32_t bf16_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0u | ((u >> 16) & 0x8000u);
    return (u + 0x7FFFu + ((u >> 16) & 1)) >> 16;
}

void ck_round_bf16(const float *x, uint16_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (uint16_t)bf16_bits(x[i]);
}

int ck_sgemm_available(void) { return ck_uses_avx512(); }

int ck_sgemm_bf16_available(void) {
#if defined(__x86_64__)
    return ck_uses_avx512() && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

#if defined(__x86_64__)

typedef struct {
    int transA, transB;
    size_t m, n, k;
    float alpha, beta;
    const float *a; size_t lda;
    const float *b; size_t ldb;
    float *c; size_t ldc;
    int bf16;   // operands rounded to bfloat16, products summed in fp32 (AVX512-BF16 dot products)
    const ck_conv_geometry *conv;   // B is this convolution's im2col matrix, read from the image itself
    int conv_transposed;            // B is that matrix transposed: depth = positions, columns = taps
    size_t flip_taps;   // A is read as a convolution's weights [k / taps, m, taps] flipped in space (see ck_sgemm_conv)
} gemm_args;

// Element (i, p) of op(A) and (p, j) of op(B).
#define A_AT(g, i, p) ((g)->flip_taps ? (g)->a[(((size_t)(p) / (g)->flip_taps) * (g)->m + (i)) * (g)->flip_taps + (g)->flip_taps - 1 - (size_t)(p) % (g)->flip_taps] \
                       : (g)->transA ? (g)->a[(size_t)(p) * (g)->lda + (i)] : (g)->a[(size_t)(i) * (g)->lda + (p)])
#define B_AT(g, p, j) ((g)->transB ? (g)->b[(size_t)(j) * (g)->ldb + (p)] : (g)->b[(size_t)(p) * (g)->ldb + (j)])

// Rows i0..<i0+mc, depth p0..<p0+kc of op(A) into MR-row panels, each stored depth-major, zero-padded.
static void pack_a(const gemm_args *g, size_t i0, size_t mc, size_t p0, size_t kc, float *dst) {
    for (size_t ir = 0; ir < mc; ir += MR) {
        size_t rows = mc - ir < MR ? mc - ir : MR;
        float *panel = dst + ir * kc;
        if (g->flip_taps) {
            // Row i, depth (o, tap) is weights[o, i, taps − 1 − tap].
            size_t taps = g->flip_taps;
            for (size_t i = 0; i < rows; i++) {
                const float *w = g->a + (i0 + ir + i) * taps + taps - 1;
                size_t o = p0 / taps, tap = p0 % taps;
                for (size_t p = 0; p < kc; p++) {
                    panel[p * MR + i] = w[o * g->m * taps - tap];
                    if (++tap == taps) { tap = 0; o++; }
                }
            }
        } else if (!g->transA) {
            for (size_t i = 0; i < rows; i++) {
                const float *src = g->a + (i0 + ir + i) * g->lda + p0;
                for (size_t p = 0; p < kc; p++) panel[p * MR + i] = src[p];
            }
        } else {
            for (size_t p = 0; p < kc; p++) {
                const float *src = g->a + (p0 + p) * g->lda + i0 + ir;
                for (size_t i = 0; i < rows; i++) panel[p * MR + i] = src[i];
            }
        }
        for (size_t i = rows; i < MR; i++)
            for (size_t p = 0; p < kc; p++) panel[p * MR + i] = 0;
    }
}

// Depth p0..<p0+kc, columns j0..<j0+nc of op(B) into NR-column panels, each stored depth-major, zero-padded.
__attribute__((target("avx512f")))
static void pack_b(const gemm_args *g, size_t p0, size_t kc, size_t j0, size_t nc, float *dst) {
    for (size_t jr = 0; jr < nc; jr += NR) {
        size_t cols = nc - jr < NR ? nc - jr : NR;
        float *panel = dst + jr * kc;
        if (!g->transB) {
            __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
            __mmask16 m1 = cols >= 32 ? 0xFFFF : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
            for (size_t p = 0; p < kc; p++) {
                const float *src = g->b + (p0 + p) * g->ldb + j0 + jr;
                // Each depth row is its own stream (see PREFETCH_PANELS).
                _mm_prefetch((const char *)(src + PREFETCH_PANELS * NR), _MM_HINT_T0);
                _mm_prefetch((const char *)(src + PREFETCH_PANELS * NR + 16), _MM_HINT_T0);
                _mm512_store_ps(panel + p * NR, _mm512_maskz_loadu_ps(m0, src));
                _mm512_store_ps(panel + p * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
            }
        } else if (cols == NR && g->ldb * NR < (1u << 31)) {
            // Transposed: column j of the panel is row j of B; gather one depth step of 16 rows at a time.
            const __m512i step = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                                    _mm512_set1_epi32((int)g->ldb));
            const float *src0 = g->b + (j0 + jr) * g->ldb + p0, *src1 = src0 + 16 * g->ldb;
            for (size_t p = 0; p < kc; p++) {
                _mm512_store_ps(panel + p * NR, _mm512_i32gather_ps(step, src0 + p, 4));
                _mm512_store_ps(panel + p * NR + 16, _mm512_i32gather_ps(step, src1 + p, 4));
            }
        } else {
            for (size_t j = 0; j < cols; j++) {
                const float *src = g->b + (j0 + jr + j) * g->ldb + p0;
                for (size_t p = 0; p < kc; p++) panel[p * NR + j] = src[p];
            }
            for (size_t j = cols; j < NR; j++)
                for (size_t p = 0; p < kc; p++) panel[p * NR + j] = 0;
        }
    }
}

// The implicit im2col matrix of g->conv (row p = channel, kernel row, kernel column; column j =
// image, output row, output column), packed as pack_b lays B out. Reading the image directly saves
// writing and re-reading the im2col matrix, which at SD's VAE resolutions is hundreds of megabytes per
// convolution: memory, not arithmetic, was the bound.

// A panel's columns as runs along one output row: lanes [t0, t1) are image img, row oy, columns
// ox0, ox0 + 1, ….
typedef struct { int t0, t1; long img, oy, ox0; } conv_run;

static int conv_runs(const ck_conv_geometry *cv, size_t j0, size_t cols, conv_run *runs) {
    size_t per_image = cv->oh * cv->ow;
    int count = 0;
    for (size_t t = 0; t < cols;) {
        size_t j = j0 + t, rest = j % per_image, ox = rest % cv->ow;
        size_t len = cv->ow - ox < cols - t ? cv->ow - ox : cols - t;
        runs[count++] = (conv_run){ (int)t, (int)(t + len), (long)(j / per_image), (long)(rest / cv->ow), (long)ox };
        t += len;
    }
    return count;
}

// One depth row (channel ci, kernel tap ky, kx) of a panel: 32 floats into out (64-byte aligned),
// zero where the kernel hangs over the image's edge or past the last column. Stride 1 copies each
// run with one masked load per 16 lanes; other strides gather element by element (only the few
// downsampling convolutions have them).
__attribute__((target("avx512f")))
static inline void conv_row(const ck_conv_geometry *cv, const conv_run *runs, int nruns, size_t ci, long ky, long kx, float *out) {
    size_t plane = cv->h * cv->w;
    if (kx == 0) {
        // Rows lie one after another in a channel's plane, so reading past this row's end fetches the
        // next one, which the panels after this reach; prefetches never fault.
        long iy = runs[0].oy * (long)cv->sh - (long)cv->ph + ky;
        uintptr_t ahead = (uintptr_t)(cv->x + ((size_t)runs[0].img * cv->channels + cv->channel0 + ci) * plane)
            + (uintptr_t)((iy * (long)cv->w + runs[0].ox0 * (long)cv->sw + PREFETCH_PANELS * NR) * (long)sizeof(float));
        _mm_prefetch((const char *)ahead, _MM_HINT_T0);
        _mm_prefetch((const char *)(ahead + 64), _MM_HINT_T0);
    }
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    if (cv->sh != 1 || cv->sw != 1) {
        _mm512_store_ps(out, lo);
        _mm512_store_ps(out + 16, hi);
        for (int r = 0; r < nruns; r++) {
            long iy = runs[r].oy * (long)cv->sh - (long)cv->ph + ky;
            if (iy < 0 || iy >= (long)cv->h) continue;
            const float *row = cv->x + ((size_t)runs[r].img * cv->channels + cv->channel0 + ci) * plane + (size_t)iy * cv->w;
            for (int t = runs[r].t0; t < runs[r].t1; t++) {
                long ix = (runs[r].ox0 + t - runs[r].t0) * (long)cv->sw - (long)cv->pw + kx;
                if (ix >= 0 && ix < (long)cv->w) out[t] = row[ix];
            }
        }
        return;
    }
    for (int r = 0; r < nruns; r++) {
        long iy = runs[r].oy - (long)cv->ph + ky;
        if (iy < 0 || iy >= (long)cv->h) continue;
        // Lane t reads input column ox0 + (t − t0) − pw + kx; keep the lanes inside the row.
        long shift = runs[r].ox0 - runs[r].t0 - (long)cv->pw + kx;
        long a = runs[r].t0, b = runs[r].t1;
        if (a < -shift) a = -shift;
        if (b > (long)cv->w - shift) b = (long)cv->w - shift;
        if (a >= b) continue;
        uint32_t bits = (uint32_t)(((uint64_t)1 << b) - ((uint64_t)1 << a));
        const float *row = cv->x + ((size_t)runs[r].img * cv->channels + cv->channel0 + ci) * plane + (size_t)iy * cv->w;
        // Lanes outside [a, b) are masked off, so their (possibly out-of-row) addresses are never read.
        uintptr_t base = (uintptr_t)row + (uintptr_t)(shift * (long)sizeof(float));
        if (bits & 0xFFFF) lo = _mm512_mask_loadu_ps(lo, (__mmask16)(bits & 0xFFFF), (const float *)base);
        if (bits >> 16) hi = _mm512_mask_loadu_ps(hi, (__mmask16)(bits >> 16), (const float *)(base + 16 * sizeof(float)));
    }
    _mm512_store_ps(out, lo);
    _mm512_store_ps(out + 16, hi);
}

// Depth p0..<p0+kc, columns j0..<j0+nc of the implicit im2col matrix into NR-column panels.
__attribute__((target("avx512f")))
static void pack_b_conv(const gemm_args *g, size_t p0, size_t kc, size_t j0, size_t nc, float *dst) {
    const ck_conv_geometry *cv = g->conv;
    const size_t taps = cv->kh * cv->kw;
    conv_run runs[NR];
    for (size_t jr = 0; jr < nc; jr += NR) {
        size_t cols = nc - jr < NR ? nc - jr : NR;
        float *panel = dst + jr * kc;
        int nruns = conv_runs(cv, j0 + jr, cols, runs);
        size_t ci = p0 / taps, tap = p0 % taps;
        for (size_t p = 0; p < kc; p++) {
            conv_row(cv, runs, nruns, ci, (long)(tap / cv->kw), (long)(tap % cv->kw), panel + p * NR);
            if (++tap == taps) { tap = 0; ci++; }
        }
    }
}

// 16×16 floats from rows of src (stride ss) into rows of dst (stride ds), transposed.
__attribute__((target("avx512f")))
static void transpose16(const float *src, size_t ss, float *dst, size_t ds) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_load_ps(src + i * ss);
    for (int i = 0; i < 16; i += 2) { t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]); t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]); }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44); r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44); r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 16; i += 8)
        for (int k = 0; k < 4; k++) {
            t[i + k] = _mm512_shuffle_f32x4(r[i + k], r[i + 4 + k], 0x88);
            t[i + 4 + k] = _mm512_shuffle_f32x4(r[i + k], r[i + 4 + k], 0xDD);
        }
    for (int k = 0; k < 8; k++) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
        r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xDD);
    }
    for (int i = 0; i < 16; i++) _mm512_store_ps(dst + i * ds, r[i]);
}

// Depth p0..<p0+kc (positions), columns j0..<j0+nc (kernel taps) of the transposed implicit im2col
// matrix, as a weight gradient dW = dY · im2colᵀ reads it, into NR-column panels. For each 32
// positions, every tap's 32 values are one conv_row (contiguous in the image for stride 1), then
// 32×32 blocks are transposed into the panel: no im2col matrix, and no gather of scattered taps.
__attribute__((target("avx512f")))
static void conv_t_block(const gemm_args *g, size_t p0, size_t pcount, size_t j0, size_t cols, float block[NR][NR]) {
    const ck_conv_geometry *cv = g->conv;
    const size_t taps = cv->kh * cv->kw;
    conv_run runs[NR];
    int nruns = conv_runs(cv, p0, pcount, runs);
    for (size_t t = 0; t < NR; t++) {
        if (t >= cols) { memset(block[t], 0, sizeof block[t]); continue; }
        size_t j = j0 + t, tap = j % taps;
        conv_row(cv, runs, nruns, j / taps, (long)(tap / cv->kw), (long)(tap % cv->kw), block[t]);
    }
}

// rows[position][tap] for positions p0..<p0+pcount and taps j0..<j0+cols (zero beyond them): one
// conv_row per tap, then four 16×16 transposes.
__attribute__((target("avx512f")))
static void conv_t_rows(const gemm_args *g, size_t p0, size_t pcount, size_t j0, size_t cols, float rows[NR][NR]) {
    float block[NR][NR] __attribute__((aligned(64)));
    conv_t_block(g, p0, pcount, j0, cols, block);   // block[tap][position]
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) transpose16(&block[16 * a][16 * b], NR, &rows[16 * b][16 * a], NR);
}

__attribute__((target("avx512f")))
static void pack_b_conv_t(const gemm_args *g, size_t p0, size_t kc, size_t j0, size_t nc, float *dst) {
    float rows[NR][NR] __attribute__((aligned(64)));
    for (size_t jr = 0; jr < nc; jr += NR) {
        size_t cols = nc - jr < NR ? nc - jr : NR;
        float *panel = dst + jr * kc;
        for (size_t pb = 0; pb < kc; pb += NR) {
            size_t pcount = kc - pb < NR ? kc - pb : NR;
            conv_t_rows(g, p0 + pb, pcount, j0 + jr, cols, rows);
            memcpy(panel + pb * NR, rows, pcount * NR * sizeof(float));
        }
    }
}

// Writes the 24 accumulators c0a…cBb of a rows×cols tile: C = alpha·sum + beta·C, masked at the edges.
#define STORE_ROW(i, x, y) if (i < rows) { \
        float *row = c + (size_t)(i) * ldc; \
        x = _mm512_mul_ps(x, va); y = _mm512_mul_ps(y, va); \
        if (beta != 0) { x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), x); y = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), y); } \
        _mm512_mask_storeu_ps(row, m0, x); _mm512_mask_storeu_ps(row + 16, m1, y); }
#define STORE_TILE { \
    __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1); \
    __mmask16 m1 = cols >= 32 ? 0xFFFF : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0; \
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta); \
    STORE_ROW(0, c0a, c0b) STORE_ROW(1, c1a, c1b) STORE_ROW(2, c2a, c2b) STORE_ROW(3, c3a, c3b) \
    STORE_ROW(4, c4a, c4b) STORE_ROW(5, c5a, c5b) STORE_ROW(6, c6a, c6b) STORE_ROW(7, c7a, c7b) \
    STORE_ROW(8, c8a, c8b) STORE_ROW(9, c9a, c9b) STORE_ROW(10, cAa, cAb) STORE_ROW(11, cBa, cBb) }

// C[rows×cols] (rows ≤ MR, cols ≤ NR) = alpha·(packed A panel · packed B panel) + beta·C.
// beta == 0 never reads C, so uninitialised memory (NaNs included) is overwritten.
__attribute__((target("avx512f")))
static void micro_kernel(size_t kc, const float *restrict pa, const float *restrict pb, float *c, size_t ldc,
                         float alpha, float beta, size_t rows, size_t cols) {
    __m512 c0a = _mm512_setzero_ps(), c0b = _mm512_setzero_ps(), c1a = _mm512_setzero_ps(), c1b = _mm512_setzero_ps();
    __m512 c2a = _mm512_setzero_ps(), c2b = _mm512_setzero_ps(), c3a = _mm512_setzero_ps(), c3b = _mm512_setzero_ps();
    __m512 c4a = _mm512_setzero_ps(), c4b = _mm512_setzero_ps(), c5a = _mm512_setzero_ps(), c5b = _mm512_setzero_ps();
    __m512 c6a = _mm512_setzero_ps(), c6b = _mm512_setzero_ps(), c7a = _mm512_setzero_ps(), c7b = _mm512_setzero_ps();
    __m512 c8a = _mm512_setzero_ps(), c8b = _mm512_setzero_ps(), c9a = _mm512_setzero_ps(), c9b = _mm512_setzero_ps();
    __m512 cAa = _mm512_setzero_ps(), cAb = _mm512_setzero_ps(), cBa = _mm512_setzero_ps(), cBb = _mm512_setzero_ps();
    // C's tile is read (or written) once the sums are done: start fetching it now.
    for (size_t i = 0; i < rows; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 16), _MM_HINT_T0);
    }
    for (size_t p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(pb), b1 = _mm512_load_ps(pb + 16);
        __m512 a;
#define STEP(i, x, y) a = _mm512_set1_ps(pa[i]); x = _mm512_fmadd_ps(a, b0, x); y = _mm512_fmadd_ps(a, b1, y);
        STEP(0, c0a, c0b) STEP(1, c1a, c1b) STEP(2, c2a, c2b) STEP(3, c3a, c3b)
        STEP(4, c4a, c4b) STEP(5, c5a, c5b) STEP(6, c6a, c6b) STEP(7, c7a, c7b)
        STEP(8, c8a, c8b) STEP(9, c9a, c9b) STEP(10, cAa, cAb) STEP(11, cBa, cBb)
#undef STEP
        pa += MR;
        pb += NR;
    }
    STORE_TILE
}

// As pack_a, in bf16: each 32-bit slot holds the depth pair (p, p + 1) of one row, p in the low half.
static void pack_a_bf16(const gemm_args *g, size_t i0, size_t mc, size_t p0, size_t kc, uint32_t *dst) {
    size_t pairs = (kc + 1) / 2;
    for (size_t ir = 0; ir < mc; ir += MR) {
        size_t rows = mc - ir < MR ? mc - ir : MR;
        uint32_t *panel = dst + ir * pairs;
        for (size_t q = 0; q < pairs; q++) {
            size_t p = p0 + 2 * q;
            for (size_t i = 0; i < rows; i++) {
                uint32_t lo = bf16_bits(A_AT(g, i0 + ir + i, p));
                uint32_t hi = 2 * q + 1 < kc ? bf16_bits(A_AT(g, i0 + ir + i, p + 1)) : 0;
                panel[q * MR + i] = lo | hi << 16;
            }
            for (size_t i = rows; i < MR; i++) panel[q * MR + i] = 0;
        }
    }
}

// Sixteen fp32 to bfloat16 bits (low halves), as bf16_bits.
__attribute__((target("avx512f")))
static inline __m512i bf16_round16(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1))));
    r = _mm512_srli_epi32(r, 16);
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    return _mm512_mask_blend_epi32(nan, r, _mm512_or_si512(_mm512_set1_epi32(0x7FC0), _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x8000))));
}

// As pack_b, in bf16: each 32-bit slot holds the depth pair (p, p + 1) of one column, p in the low half.
__attribute__((target("avx512f")))
static void pack_b_bf16(const gemm_args *g, size_t p0, size_t kc, size_t j0, size_t nc, uint32_t *dst) {
    size_t pairs = (kc + 1) / 2;
    for (size_t jr = 0; jr < nc; jr += NR) {
        size_t cols = nc - jr < NR ? nc - jr : NR;
        uint32_t *panel = dst + jr * pairs;
        if (!g->transB) {
            __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
            __mmask16 m1 = cols >= 32 ? 0xFFFF : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
            for (size_t q = 0; q < pairs; q++) {
                const float *lo = g->b + (p0 + 2 * q) * g->ldb + j0 + jr, *hi = lo + g->ldb;
                int last = 2 * q + 1 >= kc;
                _mm_prefetch((const char *)(lo + PREFETCH_PANELS * NR), _MM_HINT_T0);
                _mm_prefetch((const char *)(lo + PREFETCH_PANELS * NR + 16), _MM_HINT_T0);
                if (!last) {
                    _mm_prefetch((const char *)(hi + PREFETCH_PANELS * NR), _MM_HINT_T0);
                    _mm_prefetch((const char *)(hi + PREFETCH_PANELS * NR + 16), _MM_HINT_T0);
                }
                for (int h = 0; h < 2; h++) {
                    __mmask16 m = h ? m1 : m0;
                    __m512i a = bf16_round16(_mm512_maskz_loadu_ps(m, lo + 16 * h));
                    __m512i b = last ? _mm512_setzero_si512() : bf16_round16(_mm512_maskz_loadu_ps(m, hi + 16 * h));
                    _mm512_store_si512((__m512i *)(panel + q * NR + 16 * h), _mm512_or_si512(a, _mm512_slli_epi32(b, 16)));
                }
            }
        } else {
            for (size_t q = 0; q < pairs; q++) {
                size_t p = p0 + 2 * q;
                for (size_t j = 0; j < cols; j++) {
                    uint32_t lo = bf16_bits(B_AT(g, p, j0 + jr + j));
                    uint32_t hi = 2 * q + 1 < kc ? bf16_bits(B_AT(g, p + 1, j0 + jr + j)) : 0;
                    panel[q * NR + j] = lo | hi << 16;
                }
                for (size_t j = cols; j < NR; j++) panel[q * NR + j] = 0;
            }
        }
    }
}

// As pack_b_conv, in bf16 depth pairs as pack_b_bf16 lays them out.
__attribute__((target("avx512f")))
static void pack_b_conv_bf16(const gemm_args *g, size_t p0, size_t kc, size_t j0, size_t nc, uint32_t *dst) {
    const ck_conv_geometry *cv = g->conv;
    const size_t taps = cv->kh * cv->kw, pairs = (kc + 1) / 2;
    conv_run runs[NR];
    float rows[2][NR] __attribute__((aligned(64)));
    for (size_t jr = 0; jr < nc; jr += NR) {
        size_t cols = nc - jr < NR ? nc - jr : NR;
        uint32_t *panel = dst + jr * pairs;
        int nruns = conv_runs(cv, j0 + jr, cols, runs);
        size_t ci = p0 / taps, tap = p0 % taps;
        for (size_t q = 0; q < pairs; q++) {
            for (int half = 0; half < 2; half++) {
                if (2 * q + (size_t)half >= kc) { memset(rows[half], 0, sizeof rows[half]); continue; }
                conv_row(cv, runs, nruns, ci, (long)(tap / cv->kw), (long)(tap % cv->kw), rows[half]);
                if (++tap == taps) { tap = 0; ci++; }
            }
            for (int h = 0; h < 2; h++) {
                __m512i a = bf16_round16(_mm512_load_ps(rows[0] + 16 * h)), b = bf16_round16(_mm512_load_ps(rows[1] + 16 * h));
                _mm512_store_si512((__m512i *)(panel + q * NR + 16 * h), _mm512_or_si512(a, _mm512_slli_epi32(b, 16)));
            }
        }
    }
}

// As pack_b_conv_t, in bf16 depth pairs as pack_b_bf16 lays them out.
__attribute__((target("avx512f")))
static void pack_b_conv_t_bf16(const gemm_args *g, size_t p0, size_t kc, size_t j0, size_t nc, uint32_t *dst) {
    float rows[NR][NR] __attribute__((aligned(64)));
    const size_t pairs = (kc + 1) / 2;
    for (size_t jr = 0; jr < nc; jr += NR) {
        size_t cols = nc - jr < NR ? nc - jr : NR;
        uint32_t *panel = dst + jr * pairs;
        for (size_t pb = 0; pb < kc; pb += NR) {
            size_t pcount = kc - pb < NR ? kc - pb : NR;
            conv_t_rows(g, p0 + pb, pcount, j0 + jr, cols, rows);
            // Positions beyond pcount are zero (conv_run covers pcount lanes only), so an odd last pair pads with 0.
            for (size_t pp = 0; pp < pcount; pp += 2) {
                for (int h = 0; h < 2; h++) {
                    __m512i lo = bf16_round16(_mm512_load_ps(rows[pp] + 16 * h)), hi = bf16_round16(_mm512_load_ps(rows[pp + 1] + 16 * h));
                    _mm512_store_si512((__m512i *)(panel + (pb + pp) / 2 * NR + 16 * h), _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
                }
            }
        }
    }
}

// As micro_kernel over packed bf16 pairs: one dot-product instruction does two depth steps.
__attribute__((target("avx512f,avx512bf16")))
static void micro_kernel_bf16(size_t pairs, const uint32_t *restrict pa, const uint32_t *restrict pb, float *c, size_t ldc,
                              float alpha, float beta, size_t rows, size_t cols) {
    __m512 c0a = _mm512_setzero_ps(), c0b = _mm512_setzero_ps(), c1a = _mm512_setzero_ps(), c1b = _mm512_setzero_ps();
    __m512 c2a = _mm512_setzero_ps(), c2b = _mm512_setzero_ps(), c3a = _mm512_setzero_ps(), c3b = _mm512_setzero_ps();
    __m512 c4a = _mm512_setzero_ps(), c4b = _mm512_setzero_ps(), c5a = _mm512_setzero_ps(), c5b = _mm512_setzero_ps();
    __m512 c6a = _mm512_setzero_ps(), c6b = _mm512_setzero_ps(), c7a = _mm512_setzero_ps(), c7b = _mm512_setzero_ps();
    __m512 c8a = _mm512_setzero_ps(), c8b = _mm512_setzero_ps(), c9a = _mm512_setzero_ps(), c9b = _mm512_setzero_ps();
    __m512 cAa = _mm512_setzero_ps(), cAb = _mm512_setzero_ps(), cBa = _mm512_setzero_ps(), cBb = _mm512_setzero_ps();
    for (size_t i = 0; i < rows; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 16), _MM_HINT_T0);
    }
    for (size_t q = 0; q < pairs; q++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512((const __m512i *)pb), b1 = (__m512bh)_mm512_load_si512((const __m512i *)(pb + 16));
        __m512bh a;
#define STEP(i, x, y) a = (__m512bh)_mm512_set1_epi32((int)pa[i]); x = _mm512_dpbf16_ps(x, a, b0); y = _mm512_dpbf16_ps(y, a, b1);
        STEP(0, c0a, c0b) STEP(1, c1a, c1b) STEP(2, c2a, c2b) STEP(3, c3a, c3b)
        STEP(4, c4a, c4b) STEP(5, c5a, c5b) STEP(6, c6a, c6b) STEP(7, c7a, c7b)
        STEP(8, c8a, c8b) STEP(9, c9a, c9b) STEP(10, cAa, cAb) STEP(11, cBa, cBb)
#undef STEP
        pa += MR;
        pb += NR;
    }
    STORE_TILE
}

// Packing buffers, one pair per thread, allocated on first use and freed when the thread exits
// (dispatch queues retire idle worker threads; a plain thread-local would leak 3 MB each time).
typedef struct { float *a, *b; } buffers;
static pthread_key_t buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;

static void free_buffers(void *p) {
    buffers *t = p;
    free(t->a);
    free(t->b);
    free(t);
}

static void make_key(void) { pthread_key_create(&buffers_key, free_buffers); }

static buffers *thread_buffers(void) {
    pthread_once(&buffers_once, make_key);
    buffers *t = pthread_getspecific(buffers_key);
    if (t) return t;
    t = malloc(sizeof *t);
    if (!t) return NULL;
    t->a = aligned_alloc(64, sizeof(float) * MB * KC);
    t->b = aligned_alloc(64, sizeof(float) * KC * NB);
    if (!t->a || !t->b) { free_buffers(t); return NULL; }
    pthread_setspecific(buffers_key, t);
    return t;
}

// The whole product for rows i0..<i1 and columns j0..<j1 of C, on this thread. The innermost loop
// walks B's panels (streamed from L2) against one 12-row panel of A that stays in L1.
__attribute__((target("avx512f")))
static void gemm_block(const gemm_args *g, const buffers *t, size_t i0, size_t i1, size_t j0, size_t j1) {
    float *buffer_a = t->a, *buffer_b = t->b;
    for (size_t ic = i0; ic < i1; ic += MB) {
        size_t mb = i1 - ic < MB ? i1 - ic : MB;
        // A bf16 depth block holds twice the depth in the same bytes.
        size_t block = g->bf16 ? 2 * KC : KC;
        for (size_t pc = 0; pc < g->k; pc += block) {
            size_t kc = g->k - pc < block ? g->k - pc : block;
            // The first depth block applies beta; later ones add to what it wrote.
            float beta = pc == 0 ? g->beta : 1;
            // bf16 panels hold a depth pair per 32-bit slot: half as many slots.
            size_t depth = g->bf16 ? (kc + 1) / 2 : kc;
            if (g->bf16) pack_a_bf16(g, ic, mb, pc, kc, (uint32_t *)buffer_a); else pack_a(g, ic, mb, pc, kc, buffer_a);
            for (size_t jc = j0; jc < j1; jc += NB) {
                size_t nb = j1 - jc < NB ? j1 - jc : NB;
                if (g->conv && g->conv_transposed) {
                    if (g->bf16) pack_b_conv_t_bf16(g, pc, kc, jc, nb, (uint32_t *)buffer_b); else pack_b_conv_t(g, pc, kc, jc, nb, buffer_b);
                } else if (g->conv) {
                    if (g->bf16) pack_b_conv_bf16(g, pc, kc, jc, nb, (uint32_t *)buffer_b); else pack_b_conv(g, pc, kc, jc, nb, buffer_b);
                } else {
                    if (g->bf16) pack_b_bf16(g, pc, kc, jc, nb, (uint32_t *)buffer_b); else pack_b(g, pc, kc, jc, nb, buffer_b);
                }
                for (size_t ir = 0; ir < mb; ir += MR) {
                    size_t rows = mb - ir < MR ? mb - ir : MR;
                    for (size_t jr = 0; jr < nb; jr += NR) {
                        size_t cols = nb - jr < NR ? nb - jr : NR;
                        float *tile = g->c + (ic + ir) * g->ldc + jc + jr;
                        if (g->bf16)
                            micro_kernel_bf16(depth, (const uint32_t *)buffer_a + ir * depth, (const uint32_t *)buffer_b + jr * depth,
                                              tile, g->ldc, g->alpha, beta, rows, cols);
                        else
                            micro_kernel(kc, buffer_a + ir * kc, buffer_b + jr * kc, tile, g->ldc, g->alpha, beta, rows, cols);
                    }
                }
            }
        }
    }
}

typedef struct {
    const gemm_args *g;
    int splitRows;
    size_t step;
} split_args;

static void run_part(void *ctx, int index) {
    const split_args *s = ctx;
    const gemm_args *g = s->g;
    const buffers *t = thread_buffers();
    if (!t) abort();   // 3 MB could not be allocated: the process is out of memory anyway
    if (s->splitRows) {
        size_t i0 = (size_t)index * s->step, i1 = i0 + s->step < g->m ? i0 + s->step : g->m;
        if (i0 < i1) gemm_block(g, t, i0, i1, 0, g->n);
    } else {
        size_t j0 = (size_t)index * s->step, j1 = j0 + s->step < g->n ? j0 + s->step : g->n;
        if (j0 < j1) gemm_block(g, t, 0, g->m, j0, j1);
    }
}

#endif

static void gemm(int bf16, int transA, int transB, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                 const float *b, size_t ldb, float beta, float *c, size_t ldc, int threads, const ck_conv_geometry *conv,
                 int conv_transposed, size_t flip_taps) {
#if defined(__x86_64__)
    if (m == 0 || n == 0) return;
    gemm_args g = { transA, transB, m, n, k, alpha, beta, a, lda, b, ldb, c, ldc, bf16, conv, conv_transposed, flip_taps };
    if (k == 0) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }
    // Each thread takes a share of the longer side of C, in whole register tiles; below about a
    // million multiply-adds a second thread costs more than it saves.
    int parts = threads < 1 ? 1 : threads;
    if ((double)m * (double)n * (double)k < 1e6) parts = 1;
    split_args s = { &g, m >= n, 0 };
    size_t side = s.splitRows ? m : n, unit = s.splitRows ? MR : NR;
    size_t tiles = (side + unit - 1) / unit;
    if ((size_t)parts > tiles) parts = (int)tiles;
    s.step = (tiles + parts - 1) / parts * unit;
    ck_parallel(parts, parts, run_part, &s);
#else
    (void)bf16; (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda;
    (void)b; (void)ldb; (void)beta; (void)c; (void)ldc; (void)threads; (void)conv; (void)conv_transposed; (void)flip_taps;
    abort();
#endif
}

void ck_sgemm(int transA, int transB, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
              const float *b, size_t ldb, float beta, float *c, size_t ldc, int threads) {
    gemm(0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads, NULL, 0, 0);
}

void ck_sgemm_bf16(int transA, int transB, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                   const float *b, size_t ldb, float beta, float *c, size_t ldc, int threads) {
    gemm(1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads, NULL, 0, 0);
}

void ck_sgemm_conv(size_t m, const float *weights, int flip_weights, const ck_conv_geometry *conv, float *c, size_t ldc, int threads) {
    size_t taps = conv->kh * conv->kw, k = conv->kernel_channels * taps, n = conv->images * conv->oh * conv->ow;
    gemm(0, 0, 0, m, n, k, 1, weights, k, NULL, 0, 0, c, ldc, threads, conv, 0, flip_weights ? taps : 0);
}

void ck_sgemm_conv_bf16(size_t m, const float *weights, int flip_weights, const ck_conv_geometry *conv, float *c, size_t ldc, int threads) {
    size_t taps = conv->kh * conv->kw, k = conv->kernel_channels * taps, n = conv->images * conv->oh * conv->ow;
    gemm(1, 0, 0, m, n, k, 1, weights, k, NULL, 0, 0, c, ldc, threads, conv, 0, flip_weights ? taps : 0);
}

void ck_sgemm_conv_wgrad(size_t m, const float *dy, const ck_conv_geometry *conv, float *c, size_t ldc, int threads) {
    size_t k = conv->images * conv->oh * conv->ow, n = conv->kernel_channels * conv->kh * conv->kw;
    gemm(0, 0, 0, m, n, k, 1, dy, k, NULL, 0, 0, c, ldc, threads, conv, 1, 0);
}

void ck_sgemm_conv_wgrad_bf16(size_t m, const float *dy, const ck_conv_geometry *conv, float *c, size_t ldc, int threads) {
    size_t k = conv->images * conv->oh * conv->ow, n = conv->kernel_channels * conv->kh * conv->kw;
    gemm(1, 0, 0, m, n, k, 1, dy, k, NULL, 0, 0, c, ldc, threads, conv, 1, 0);
}
