#include "CKernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdint.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

// A small pool of worker threads for the many short parallel loops of token generation (hundreds a
// token, tens of microseconds each). Workers spin a while on the loop counter before sleeping,
// so a loop starts in well under a microsecond instead of the tens a dispatch queue costs.

#define MAX_WORKERS 63
#define SPIN_LIMIT 200000

static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;   // one loop at a time
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int workers = 0;
static atomic_int sleepers = 0;
// (loop number << 32) | next index: claiming an index and checking it is still the same loop is one
// compare-and-swap, so a worker that wakes late can never take an index of the next loop.
static _Atomic unsigned long long ticket = 0;
static ck_task_fn task_fn;
static void *task_ctx;
static atomic_int task_count;
static atomic_int finished;
// Workers with an index at or above this sit the loop out (a loop asked for fewer threads than exist).
static atomic_int active_workers;

static void run_tasks(unsigned loop) {
    for (;;) {
        unsigned long long t = atomic_load_explicit(&ticket, memory_order_acquire);
        if ((unsigned)(t >> 32) != loop) return;
        int i = (int)(t & 0xFFFFFFFFu);
        if (i >= atomic_load_explicit(&task_count, memory_order_relaxed)) return;
        if (!atomic_compare_exchange_weak_explicit(&ticket, &t, t + 1, memory_order_acq_rel, memory_order_relaxed)) continue;
        // The loop cannot end before this task does, so fn and ctx are still this loop's.
        task_fn(task_ctx, i);
        atomic_fetch_add_explicit(&finished, 1, memory_order_release);
    }
}

static void *worker(void *arg) {
    int index = (int)(intptr_t)arg;
    unsigned seen = (unsigned)(atomic_load_explicit(&ticket, memory_order_acquire) >> 32);
    for (;;) {
        int spins = 0;
        unsigned loop;
        while ((loop = (unsigned)(atomic_load_explicit(&ticket, memory_order_acquire) >> 32)) == seen) {
            if (++spins < SPIN_LIMIT) { CPU_RELAX(); continue; }
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleepers, 1);
            while ((unsigned)(atomic_load_explicit(&ticket, memory_order_acquire) >> 32) == seen) pthread_cond_wait(&wake, &sleep_lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_lock);
            spins = 0;
        }
        seen = loop;
        if (index < atomic_load_explicit(&active_workers, memory_order_acquire)) run_tasks(loop);
    }
    return NULL;
}

void ck_parallel(int count, int threads, ck_task_fn fn, void *ctx) {
    if (count <= 0) return;
    // Serial when asked, and when another loop holds the pool (a second generation at the same time).
    if (threads <= 1 || count == 1 || pthread_mutex_trylock(&run_lock) != 0) {
        for (int i = 0; i < count; i++) fn(ctx, i);
        return;
    }
    int want = threads - 1 > MAX_WORKERS ? MAX_WORKERS : threads - 1;
    while (workers < want) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, (void *)(intptr_t)workers) != 0) break;
        pthread_detach(t);
        workers++;
    }
    task_fn = fn;
    task_ctx = ctx;
    atomic_store_explicit(&task_count, count, memory_order_relaxed);
    atomic_store_explicit(&finished, 0, memory_order_relaxed);
    atomic_store_explicit(&active_workers, want, memory_order_relaxed);
    unsigned loop = (unsigned)(atomic_load_explicit(&ticket, memory_order_relaxed) >> 32) + 1;
    pthread_mutex_lock(&sleep_lock);
    atomic_store_explicit(&ticket, (unsigned long long)loop << 32, memory_order_release);
    if (atomic_load(&sleepers) > 0) pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&sleep_lock);
    run_tasks(loop);
    while (atomic_load_explicit(&finished, memory_order_acquire) < count) CPU_RELAX();
    pthread_mutex_unlock(&run_lock);
}
