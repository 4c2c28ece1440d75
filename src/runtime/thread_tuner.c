#include "runtime/thread_tuner.h"

#include <string.h>

/* A step whose thread waited for a CPU this share of its time or more is being crowded. */
#define TUNER_CROWDED_SHARE 0.05
/* A candidate must beat the current count by this much to replace it (timing noise). */
#define TUNER_MARGIN 0.95
enum {
    TUNER_PROBE_STEPS = 2,      /* steps each candidate runs in a probe (the faster one counts) */
    TUNER_CROWDED_STEPS = 2,    /* steps at the maximum that must look crowded before a probe */
    TUNER_FIRST_INTERVAL = 32,  /* steps between probes after the count changed */
    TUNER_MAX_INTERVAL = 1024,  /* the longest wait while a choice keeps winning */
};

void thread_tuner_init(struct thread_tuner *t, int max_threads, bool adapt)
{
    memset(t, 0, sizeof *t);
    t->max = max_threads < 1 ? 1 : max_threads;
    t->adapt = adapt && t->max > 1;
    t->current = t->max;
    t->interval = TUNER_FIRST_INTERVAL;
}

int thread_tuner_threads(const struct thread_tuner *t)
{
    if (t->probing)
        return t->candidates[t->probing - 1];
    return t->current;
}

static double window_min(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

/* The counts worth trying besides `current`: the maximum, one less, and 1. */
static void choose_candidates(struct thread_tuner *t)
{
    const int options[] = {t->max, t->max - 1, 1};
    t->candidate_count = 0;
    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
        int c = options[i];
        bool seen = c < 1 || c == t->current;
        for (int j = 0; j < t->candidate_count && !seen; j++)
            seen = t->candidates[j] == c;
        if (!seen && t->candidate_count < THREAD_TUNER_CANDIDATES) {
            t->candidate_best[t->candidate_count] = 0;
            t->candidates[t->candidate_count++] = c;
        }
    }
}

static bool crowded(const struct thread_tuner *t)
{
    double share = 0;
    for (int i = 0; i < t->recent; i++)
        share += t->waiting_share[i];
    return share / t->recent >= TUNER_CROWDED_SHARE;
}

static void finish_probe(struct thread_tuner *t)
{
    int best = t->current;
    double best_time = t->baseline * TUNER_MARGIN;
    for (int i = 0; i < t->candidate_count; i++)
        if (t->candidate_best[i] > 0 && t->candidate_best[i] < best_time) {
            best_time = t->candidate_best[i];
            best = t->candidates[i];
        }
    t->probing = 0;
    t->probes++;
    if (best != t->current) {
        t->current = best;
        t->switches++;
        t->interval = TUNER_FIRST_INTERVAL;
    } else {
        t->interval = t->interval * 2 > TUNER_MAX_INTERVAL ? TUNER_MAX_INTERVAL : t->interval * 2;
    }
    t->recent = 0;
    t->next_probe = t->step + t->interval;
}

void thread_tuner_record(struct thread_tuner *t, double seconds, double waiting, size_t samples)
{
    t->step++;
    if (!t->adapt || samples == 0 || !(seconds > 0))
        return;
    double per_sample = seconds / (double)samples;
    if (t->probing) {
        double *best = &t->candidate_best[t->probing - 1];
        if (*best == 0 || per_sample < *best)
            *best = per_sample;
        if (--t->probe_left == 0) {
            if (t->probing < t->candidate_count) {
                t->probing++;
                t->probe_left = TUNER_PROBE_STEPS;
            } else {
                finish_probe(t);
            }
        }
        return;
    }
    /* The window slides: the newest step replaces the oldest. */
    if (t->recent == THREAD_TUNER_WINDOW) {
        memmove(t->per_sample, t->per_sample + 1, (THREAD_TUNER_WINDOW - 1) * sizeof *t->per_sample);
        memmove(t->waiting_share, t->waiting_share + 1, (THREAD_TUNER_WINDOW - 1) * sizeof *t->waiting_share);
        t->recent--;
    }
    t->per_sample[t->recent] = per_sample;
    t->waiting_share[t->recent] = waiting > 0 ? waiting / seconds : 0;
    t->recent++;
    if (t->step < t->next_probe)
        return;
    /* At the maximum, probe as soon as two steps say something competes (each crowded step
     * costs several); below it, retry now and then, when a core is free for more threads. */
    if (t->current == t->max) {
        if (t->recent < TUNER_CROWDED_STEPS || !crowded(t))
            return;
    } else {
        if (t->recent < THREAD_TUNER_WINDOW)
            return;
        int running = t->running_threads ? t->running_threads() : -1;
        if (running > t->current) {
            t->interval = t->interval * 2 > TUNER_MAX_INTERVAL ? TUNER_MAX_INTERVAL : t->interval * 2;
            t->next_probe = t->step + t->interval;
            return;
        }
    }
    choose_candidates(t);
    if (t->candidate_count == 0)
        return;
    t->baseline = window_min(t->per_sample, t->recent);
    t->probing = 1;
    t->probe_left = TUNER_PROBE_STEPS;
}
