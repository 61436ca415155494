#ifndef ATELIER_CKERNELS_H
#define ATELIER_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Inner product of two float vectors of length n. Uses AVX-512 or AVX2+FMA when the CPU has them
/// (checked once, at load), else portable code: Swift's SIMD types compile to the x86-64 baseline (SSE2), and
/// building everything for AVX2 would make the binary fail on older CPUs.
float ck_dot_f32(const float *a, const float *b, size_t n);

/// out[i] = <base + ids[i] * dim, q> for i < count: the similarities of a graph node's neighbours,
/// prefetching the next row while the current one is summed (rows are scattered in memory).
void ck_dot_gather_f32(const float *base, const int32_t *ids, size_t count, size_t dim, const float *q, float *out);

/// x rounded to bfloat16 bits (nearest, ties to even; NaN stays NaN).
void ck_round_bf16(const float *x, uint16_t *out, size_t n);

/// As ck_dot_gather_f32 over bfloat16 rows and query, summed in fp32 (AVX512-BF16 dot products where
/// the CPU has them): half the bytes of each scattered row, for a graph search's walk.
void ck_dot_gather_bf16(const uint16_t *base, const int32_t *ids, size_t count, size_t dim, const uint16_t *q, float *out);

/// Quantised matrix rows times quantised activations, llama.cpp's block formats (32 values a block):
/// out[r] = row r · x for r in [r0, r1). Weights: Q4_0 (f16 d, 16 nibble bytes), Q4_1 (f16 d, f16 m,
/// 16 nibble bytes), Q8_0 (f16 d, 32 int8). Activations: 32 int8 a block with scale dx (Q8_0), plus
/// sx = dx * Σq for Q8_1. Integer products per block, float sums across blocks.
void ck_rows_q4_0_q8_0(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                       const int8_t *qx, const float *dx, float *out);
void ck_rows_q4_1_q8_1(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                       const int8_t *qx, const float *dx, const float *sx, float *out);
void ck_rows_q8_0_q8_0(const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                       const int8_t *qx, const float *dx, float *out);

/// ck_rows_* for `ntok` activation vectors at once (GGML type ids: 2 Q4_0, 3 Q4_1, 8 Q8_0): token t's
/// activations start at qx + t * blocks * 32 (dx, sx + t * blocks); out[t * out_stride + r].
void ck_rows_multi(int type, const uint8_t *base, size_t row_bytes, size_t r0, size_t r1, size_t blocks,
                   const int8_t *qx, const float *dx, const float *sx, size_t ntok, float *out, size_t out_stride);

/// One query's attention over `len` cached keys and values (rows `stride` floats apart, `hd` used):
/// softmax(q·K * scale) · V into out[hd], with llama.cpp's CPU flash-attention rounding (q and the
/// cache hold f16 values; the running sum of values is kept in f16); `acc` holds hd floats of scratch.
void ck_attend(const float *q, const float *K, const float *V, size_t len, size_t hd, size_t stride, float scale,
               float *acc, float *out);

/// The same attention as llama.cpp computes it for batches of 64 queries or more (its tiled flash
/// attention): the query kept in f32, keys in tiles of 64 with one in-order FMA chain per score,
/// ggml's vector exp and grouped double sums for the softmax, values summed in f32. The keys come
/// transposed: Kt[kk * kt_stride + t] is key t's kk-th value, kt_stride ≥ len rounded up to 64 and the
/// padding readable.
void ck_attend_tiled(const float *q, const float *Kt, size_t kt_stride, const float *V, size_t len, size_t hd, size_t stride,
                     float scale, float *acc, float *out);

/// Activations quantised per 32-block as llama.cpp does for Q8_0 (s == NULL) and Q8_1 (s[b] = d·Σq):
/// d = amax/127 rounded through f16, q = round-to-nearest-even(x / d).
void ck_quantize_q8(const float *x, size_t blocks, int8_t *q, float *d, float *s);
/// y = x rounded through f16 (an f16 cache, f16 operands), n values.
void ck_round_f16(const float *x, float *y, size_t n);
/// gate = silu(gate) * up, n values.
void ck_swiglu(float *gate, const float *up, size_t n);
/// RMSNorm of `rows` rows of `dim` values, the sum of squares in double: y = x / rms(x) * w.
void ck_rmsnorm(const float *x, const float *w, size_t dim, size_t rows, float eps, float *y);

/// exp in place (below -87 → 0, above 88 clamped, NaN stays NaN).
void ck_exp_inplace(float *p, size_t n);
/// row ← exp(row − shift); returns the sum of the new row (softmax's numerator and denominator in one pass).
float ck_exp_shifted(float *row, size_t n, float shift);
/// row ← softmax(row) in three passes over a row that stays in L1 (max, exp and sum, scale); returns
/// log Σ exp(row). A row of only −inf becomes zeros and returns −inf.
float ck_softmax_row(float *row, size_t n);
/// y = x·σ(αx) (SiLU at α = 1, quick GELU at 1.702); derivative (may be NULL) = σ + αx·σ(1 − σ).
void ck_sigmoid_gate(const float *x, float *y, size_t n, float alpha, float *derivative);
/// y = x·Φ(x) (exact GELU, erf by Abramowitz & Stegun 7.1.26); derivative (may be NULL) = Φ + x·φ.
void ck_gelu(const float *x, float *y, size_t n, float *derivative);

/// Runs fn(ctx, i) for i in [0, count) on the caller and up to threads - 1 pooled workers, which spin
/// briefly between loops (token generation runs hundreds of short loops a token). A loop started while
/// another runs is run serially on its caller.
typedef void (*ck_task_fn)(void *ctx, int index);
void ck_parallel(int count, int threads, ck_task_fn fn, void *ctx);

/// Tests: 1 switches every kernel to its portable version, 0 back to what the CPU supports.
void ck_force_portable(int on);

/// 1 when the AVX2+FMA kernels are in use.
int ck_uses_avx2(void);
/// 1 when the AVX-512 kernels are in use.
int ck_uses_avx512(void);

/// C[m×n] = alpha·op(A)·op(B) + beta·C, row-major, op(X) = Xᵀ when its flag is set (AVX-512; call only
/// when ck_sgemm_available). beta = 0 never reads C. Runs on up to `threads` pooled threads.
void ck_sgemm(int transA, int transB, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
              const float *b, size_t ldb, float beta, float *c, size_t ldc, int threads);
/// 1 when ck_sgemm can run on this CPU.
int ck_sgemm_available(void);
/// As ck_sgemm with both operands rounded to bfloat16 (nearest, ties to even) and products summed in
/// fp32, on AVX512-BF16 dot products; call only when ck_sgemm_bf16_available.
void ck_sgemm_bf16(int transA, int transB, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                   const float *b, size_t ldb, float beta, float *c, size_t ldc, int threads);
int ck_sgemm_bf16_available(void);

/// A convolution's input as the implicit im2col matrix B[k, n]: row k = (channel, kernel row, kernel
/// column) of channels channel0 ..< channel0 + kernel_channels, column n = (image, output row, output
/// column); x is [images, channels, h, w]; positions outside the image read as zero.
typedef struct {
    const float *x;
    size_t images, channels, channel0, kernel_channels, h, w;
    size_t kh, kw, sh, sw, ph, pw, oh, ow;
} ck_conv_geometry;
/// C[m × images·oh·ow] = weights[m × kernel_channels·kh·kw] · B, B read from the image as it is packed
/// (no im2col matrix in memory); AVX-512, call only when ck_sgemm_available. With flip_weights the
/// weights are a forward convolution's [kernel_channels, m, kh, kw], read flipped in space with the
/// channel roles swapped (row i, depth (o, ky, kx) = weights[o, i, kh−1−ky, kw−1−kx]): convolving the
/// output gradient so gives a stride-1 convolution's input gradient.
void ck_sgemm_conv(size_t m, const float *weights, int flip_weights, const ck_conv_geometry *conv, float *c, size_t ldc, int threads);
/// As ck_sgemm_conv with both operands rounded to bfloat16 (as ck_sgemm_bf16); call only when
/// ck_sgemm_bf16_available.
void ck_sgemm_conv_bf16(size_t m, const float *weights, int flip_weights, const ck_conv_geometry *conv, float *c, size_t ldc, int threads);
/// A convolution's weight gradient C[m × kernel_channels·kh·kw] = dy[m × images·oh·ow] · Bᵀ, B the
/// implicit im2col matrix of `conv` read from the image as it is packed; AVX-512, call only when
/// ck_sgemm_available.
void ck_sgemm_conv_wgrad(size_t m, const float *dy, const ck_conv_geometry *conv, float *c, size_t ldc, int threads);
/// As ck_sgemm_conv_wgrad with both operands rounded to bfloat16; call only when ck_sgemm_bf16_available.
void ck_sgemm_conv_wgrad_bf16(size_t m, const float *dy, const ck_conv_geometry *conv, float *c, size_t ldc, int threads);

#endif
