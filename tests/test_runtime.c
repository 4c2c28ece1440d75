/* The thread tuner (runtime/thread_tuner.h) on made-up step timings: it stays at the maximum
 * on a quiet machine and tries nothing, drops to the count that is faster when a step's thread
 * keeps waiting for a CPU, and comes back when the others win again. */
#include <CUnit/Basic.h>

#include "runtime/thread_tuner.h"

#include "test_util.h"

/* A machine model: seconds per sample for each thread count, and the waiting share. */
struct machine {
    double per_sample[4]; /* by thread count 1..3 */
    double waiting_share;
};

static void run_steps(struct thread_tuner *t, const struct machine *m, int steps, int *threads_seen_max)
{
    for (int i = 0; i < steps; i++) {
        int threads = thread_tuner_threads(t);
        CU_ASSERT_FATAL(threads >= 1 && threads <= t->max);
        if (threads_seen_max && threads > *threads_seen_max)
            *threads_seen_max = threads;
        double seconds = m->per_sample[threads] * 64;
        thread_tuner_record(t, seconds, seconds * m->waiting_share, 64);
    }
}

static void test_quiet_machine_never_probes(void)
{
    struct thread_tuner t;
    thread_tuner_init(&t, 2, true);
    struct machine quiet = {.per_sample = {0, 2.0, 1.1}, .waiting_share = 0.0};
    int lowest_never_below = 2;
    for (int i = 0; i < 500; i++) {
        run_steps(&t, &quiet, 1, NULL);
        if (thread_tuner_threads(&t) < lowest_never_below)
            lowest_never_below = thread_tuner_threads(&t);
    }
    CU_ASSERT_EQUAL(lowest_never_below, 2);
    CU_ASSERT_EQUAL(t.probes, 0);
}

static void test_crowded_machine_drops_then_recovers(void)
{
    struct thread_tuner t;
    thread_tuner_init(&t, 2, true);
    /* Beside a busy process: 2 threads are slower than 1, and the step's thread waits. */
    struct machine busy = {.per_sample = {0, 2.0, 2.6}, .waiting_share = 0.3};
    run_steps(&t, &busy, 40, NULL);
    CU_ASSERT_EQUAL(thread_tuner_threads(&t), 1);
    CU_ASSERT(t.switches >= 1);
    /* Nothing else runs any more: 2 threads win again at the next retry. */
    struct machine quiet = {.per_sample = {0, 2.0, 1.1}, .waiting_share = 0.0};
    run_steps(&t, &quiet, 200, NULL);
    CU_ASSERT_EQUAL(thread_tuner_threads(&t), 2);
    /* While 1 thread keeps winning, retries back off: few probes over a long busy spell. */
    struct thread_tuner u;
    thread_tuner_init(&u, 2, true);
    run_steps(&u, &busy, 2000, NULL);
    CU_ASSERT_EQUAL(thread_tuner_threads(&u), 1);
    CU_ASSERT(u.probes <= 8);
}

static void test_fixed_count_never_changes(void)
{
    struct thread_tuner t;
    thread_tuner_init(&t, 3, false);
    struct machine busy = {.per_sample = {0, 1.0, 2.0, 3.0}, .waiting_share = 0.5};
    int seen = 0;
    for (int i = 0; i < 200; i++) {
        run_steps(&t, &busy, 1, &seen);
        CU_ASSERT_EQUAL(thread_tuner_threads(&t), 3);
    }
    CU_ASSERT_EQUAL(t.probes, 0);
    /* One thread has nothing to choose. */
    thread_tuner_init(&t, 1, true);
    run_steps(&t, &busy, 100, NULL);
    CU_ASSERT_EQUAL(thread_tuner_threads(&t), 1);
}

static void test_unknown_waiting_stays_at_max(void)
{
    struct thread_tuner t;
    thread_tuner_init(&t, 2, true);
    for (int i = 0; i < 300; i++)
        thread_tuner_record(&t, 0.1, -1, 64);
    CU_ASSERT_EQUAL(thread_tuner_threads(&t), 2);
    CU_ASSERT_EQUAL(t.probes, 0);
}

static int machine_running;
static int running_threads_stub(void)
{
    return machine_running;
}

/* The drop comes after two crowded steps; below the maximum, no count with more threads is
 * tried while every core is taken (procs_running), and one is once a core is free. */
static void test_crowded_machine_no_costly_retries(void)
{
    struct thread_tuner t;
    thread_tuner_init(&t, 2, true);
    t.running_threads = running_threads_stub;
    struct machine busy = {.per_sample = {0, 2.0, 6.0}, .waiting_share = 0.3};
    int seen = 0;
    run_steps(&t, &busy, 2, &seen);
    CU_ASSERT_EQUAL(thread_tuner_threads(&t), 1); /* probing 1 thread from the third step on */
    machine_running = 2; /* this thread and the busy process */
    run_steps(&t, &busy, 600, NULL);
    CU_ASSERT_EQUAL(thread_tuner_threads(&t), 1);
    int probes_while_busy = t.probes;
    CU_ASSERT_EQUAL(probes_while_busy, 1);
    machine_running = 1; /* the busy process is gone */
    struct machine quiet = {.per_sample = {0, 2.0, 1.1}, .waiting_share = 0.0};
    run_steps(&t, &quiet, 1200, NULL);
    CU_ASSERT_EQUAL(thread_tuner_threads(&t), 2);
    CU_ASSERT(t.probes > probes_while_busy);
}

static int suite_init(void)
{
    return test_util_tmp_init("runtime");
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"thread tuner: a quiet machine keeps every thread and probes nothing", test_quiet_machine_never_probes},
        {"thread tuner: a crowded machine drops to 1 thread, then recovers", test_crowded_machine_drops_then_recovers},
        {"thread tuner: drops after two crowded steps, no retry while every core is taken",
         test_crowded_machine_no_costly_retries},
        {"thread tuner: an explicit count is kept", test_fixed_count_never_changes},
        {"thread tuner: no run-queue figure keeps the maximum", test_unknown_waiting_stays_at_max},
    };
    return test_util_main("runtime", suite_init, test_util_tmp_clean, cases, sizeof cases / sizeof *cases);
}
