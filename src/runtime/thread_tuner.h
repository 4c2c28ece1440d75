/* How many threads the next training step gets, when the count is netspec's choice
 * (runtime.threads: auto).
 *
 *   struct thread_tuner t;
 *   thread_tuner_init(&t, ctx->threads, ctx->threads_adapt);
 *   for each step:
 *       int threads = thread_tuner_threads(&t);
 *       ... run the step on `threads` ..., then
 *       thread_tuner_record(&t, wall_seconds, waiting_seconds, samples);
 *
 * Why: on a machine where another process wants a core, a parallel region's barrier waits for
 * the thread the OS descheduled, and 2 threads on 2 shared cores measured 0.7-0.8x the speed
 * of 1 (make bench). Fewer threads then win; on a quiet machine all of them do. The tuner
 * watches how long the step's thread sat runnable but not running (the OS's run-queue delay,
 * ns_sched_wait_seconds): while it stays near zero nothing competes and nothing is tried.
 * When it grows (two steps are enough to tell), the tuner times a few steps at each other count
 * and keeps the fastest, and once below the maximum it retries the others now and then
 * (backing off while they keep losing, and not while every core is taken), so the threads come
 * back when the machine is quiet again.
 * The thread count never changes a result (the arithmetic contract), so this is speed only.
 */
#ifndef THREAD_TUNER_H
#define THREAD_TUNER_H

#include <stdbool.h>
#include <stddef.h>

enum { THREAD_TUNER_WINDOW = 4, THREAD_TUNER_CANDIDATES = 3 };

struct thread_tuner {
    int max;        /* the most threads a step may get */
    bool adapt;     /* false: always max */
    int current;    /* the count in use between probes */
    long step;      /* steps recorded */
    long next_probe; /* no probe before this step */
    long interval;  /* steps between probes while the choice stands */
    /* The last steps at `current`: seconds per sample, and the waiting share of their time. */
    double per_sample[THREAD_TUNER_WINDOW];
    double waiting_share[THREAD_TUNER_WINDOW];
    int recent;
    /* A probe: each candidate runs probe_steps steps; its best seconds per sample is kept. */
    int candidates[THREAD_TUNER_CANDIDATES];
    double candidate_best[THREAD_TUNER_CANDIDATES];
    int candidate_count, probing, probe_left;
    double baseline; /* current's best per-sample time when the probe began */
    int probes;      /* probes run, and how many changed the count (for tests and logs) */
    int switches;
    /* Threads runnable on the machine, this one included (ns_running_threads; < 0 unknown), or
     * NULL: below the maximum, a count with more threads is tried only when the machine has a
     * core to spare, since a probe on a crowded machine costs the most. */
    int (*running_threads)(void);
};

void thread_tuner_init(struct thread_tuner *t, int max_threads, bool adapt);
int thread_tuner_threads(const struct thread_tuner *t);
/* One finished step: its wall time, the time its thread waited for a CPU (< 0: unknown), and
 * the samples it processed. */
void thread_tuner_record(struct thread_tuner *t, double seconds, double waiting, size_t samples);

#endif
