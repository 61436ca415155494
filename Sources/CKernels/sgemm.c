#include "CKernels.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Single-precision matrix product on AVX-512, blocked as BLIS does (Goto's algorithm): a 12×32 register
// tile of C accumulates one 12-row panel of packed A (in L1) against 32-column panels of packed B (in L2). Written because the OpenBLAS a Debian machine has may run its
// AVX2 kernel on AVX-512 CPUs (it is pinned there where its AVX-512 detection misbehaves): this
// kernel runs at up to twice that speed, and needs nothing from the environment.

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

int ck_sgemm_available(void) { return ck_uses_avx512(); }

#if defined(__x86_64__)

typedef struct {
    int transA, transB;
    size_t m, n, k;
    float alpha, beta;
    const float *a; size_t lda;
    const float *b; size_t ldb;
    float *c; size_t ldc;
} gemm_args;

// Element (i, p) of op(A) and (p, j) of op(B).
#define A_AT(g, i, p) ((g)->transA ? (g)->a[(size_t)(p) * (g)->lda + (i)] : (g)->a[(size_t)(i) * (g)->lda + (p)])
#define B_AT(g, p, j) ((g)->transB ? (g)->b[(size_t)(j) * (g)->ldb + (p)] : (g)->b[(size_t)(p) * (g)->ldb + (j)])

// Rows i0..<i0+mc, depth p0..<p0+kc of op(A) into MR-row panels, each stored depth-major, zero-padded.
static void pack_a(const gemm_args *g, size_t i0, size_t mc, size_t p0, size_t kc, float *dst) {
    for (size_t ir = 0; ir < mc; ir += MR) {
        size_t rows = mc - ir < MR ? mc - ir : MR;
        float *panel = dst + ir * kc;
        if (!g->transA) {
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
    __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    __mmask16 m1 = cols >= 32 ? 0xFFFF : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#define STORE(i, x, y) if (i < rows) { \
        float *row = c + (size_t)(i) * ldc; \
        x = _mm512_mul_ps(x, va); y = _mm512_mul_ps(y, va); \
        if (beta != 0) { x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), x); y = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), y); } \
        _mm512_mask_storeu_ps(row, m0, x); _mm512_mask_storeu_ps(row + 16, m1, y); }
    STORE(0, c0a, c0b) STORE(1, c1a, c1b) STORE(2, c2a, c2b) STORE(3, c3a, c3b)
    STORE(4, c4a, c4b) STORE(5, c5a, c5b) STORE(6, c6a, c6b) STORE(7, c7a, c7b)
    STORE(8, c8a, c8b) STORE(9, c9a, c9b) STORE(10, cAa, cAb) STORE(11, cBa, cBb)
#undef STORE
}

// Packing buffers, one pair per thread, allocated once and kept.
static _Thread_local float *buffer_a = NULL, *buffer_b = NULL;

static int ensure_buffers(void) {
    if (!buffer_a) buffer_a = aligned_alloc(64, sizeof(float) * MB * KC);
    if (!buffer_b) buffer_b = aligned_alloc(64, sizeof(float) * KC * NB);
    return buffer_a && buffer_b;
}

// The whole product for rows i0..<i1 and columns j0..<j1 of C, on this thread. The innermost loop
// walks B's panels (streamed from L2) against one 12-row panel of A that stays in L1.
__attribute__((target("avx512f")))
static void gemm_block(const gemm_args *g, size_t i0, size_t i1, size_t j0, size_t j1) {
    for (size_t ic = i0; ic < i1; ic += MB) {
        size_t mb = i1 - ic < MB ? i1 - ic : MB;
        for (size_t pc = 0; pc < g->k; pc += KC) {
            size_t kc = g->k - pc < KC ? g->k - pc : KC;
            // The first depth block applies beta; later ones add to what it wrote.
            float beta = pc == 0 ? g->beta : 1;
            pack_a(g, ic, mb, pc, kc, buffer_a);
            for (size_t jc = j0; jc < j1; jc += NB) {
                size_t nb = j1 - jc < NB ? j1 - jc : NB;
                pack_b(g, pc, kc, jc, nb, buffer_b);
                for (size_t ir = 0; ir < mb; ir += MR) {
                    size_t rows = mb - ir < MR ? mb - ir : MR;
                    for (size_t jr = 0; jr < nb; jr += NR) {
                        size_t cols = nb - jr < NR ? nb - jr : NR;
                        micro_kernel(kc, buffer_a + ir * kc, buffer_b + jr * kc, g->c + (ic + ir) * g->ldc + jc + jr, g->ldc,
                                     g->alpha, beta, rows, cols);
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
    if (!ensure_buffers()) abort();
    if (s->splitRows) {
        size_t i0 = (size_t)index * s->step, i1 = i0 + s->step < g->m ? i0 + s->step : g->m;
        if (i0 < i1) gemm_block(g, i0, i1, 0, g->n);
    } else {
        size_t j0 = (size_t)index * s->step, j1 = j0 + s->step < g->n ? j0 + s->step : g->n;
        if (j0 < j1) gemm_block(g, 0, g->m, j0, j1);
    }
}

#endif

void ck_sgemm(int transA, int transB, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
              const float *b, size_t ldb, float beta, float *c, size_t ldc, int threads) {
#if defined(__x86_64__)
    if (m == 0 || n == 0) return;
    gemm_args g = { transA, transB, m, n, k, alpha, beta, a, lda, b, ldb, c, ldc };
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
    (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda;
    (void)b; (void)ldb; (void)beta; (void)c; (void)ldc; (void)threads;
    abort();
#endif
}
