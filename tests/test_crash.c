/* Crash safety, proven by killing `netspec train` with SIGKILL and picking up the pieces.
 *
 * The runs train tests/specs/crash_mlp.yaml (a fraction of a second, a checkpoint every epoch)
 * on stripes this program writes. SIGKILL lands (KILLS_SEED, so every run of the test makes
 * the same choices):
 *   - traced: the run is traced (ptrace) and killed as it enters its k-th file system call
 *     (open, write, fsync, close, rename, unlink, mkdir), k drawn from the calls that touch each
 *     file of the run (model.nsm, metrics.csv, curves.svg, the manifest, ...) and from all of
 *     them: kills inside every write window, at the same instruction every time, with no hook
 *     in netspec;
 *   - timed: after a random delay spread over a whole run, wherever that lands;
 *   - during a resume: a third of the resumed runs are themselves killed at a random time.
 * After each kill the run directory must hold only a run's files, each whole (a NAME.tmp left
 * by the kill is the sign it landed inside an atomic write, and is counted); then either
 * model.nsm is loadable (`netspec eval` reads it) and `--resume` continues the run to the same
 * model.nsm bytes, metrics rows and test figures as an uninterrupted run, or the kill came
 * before the first checkpoint and `--resume` refuses with a clear message, after which `-o`
 * starts the run again in the same directory. The counts are printed.
 *
 * The full-disk case mounts a tmpfs too small for a second checkpoint beside the first (needs
 * root to mount; it says so loudly and passes when it cannot): training must stop with exit 5
 * and "cannot write DIR/model.nsm: No space left on device", leave the first checkpoint
 * loadable, and resume to the same bytes once the tmpfs is larger. */
#include <CUnit/Basic.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/ns_util.h"

#include "test_util.h"

enum { KILLS_SEED = 20261129, EPOCHS = 6, MIN_KILLS = 20, TIMED_KILLS = 10, UNIFORM_TRACED = 4 };

/* What the kills are aimed at and what they hit: the file a traced kill's system call
 * touched, by its name without ".tmp". */
enum target { T_RUN_FILES, T_MANIFEST, T_METRICS, T_CURVES, T_CHECKPOINT, T_SUMMARY, T_FOLDER, T_OTHER, T_COUNT };
static const char *const target_names[T_COUNT] = {
    "spec.resolved.yaml/model.yaml", "manifest.json", "metrics.csv", "curves.svg",
    "model.nsm", "summary.json", "the run folder (fsync)", "other (data, stdout, libraries)"};
/* Traced kills aimed at each target, drawn from the calls of a traced reference run. */
static const int aimed_per_target[T_COUNT] = {2, 1, 3, 2, 4, 1, 2, 0};

struct crash_stats {
    int kills;              /* SIGKILLs that found the run still going */
    int traced, timed, during_resume;
    int hit[T_COUNT];       /* traced kills by the file their call touched */
    int mid_write;          /* kills that left a NAME.tmp: inside an atomic write */
    int loadable;           /* kills after which eval read model.nsm */
    int resumed_same;       /* resumed to the reference model.nsm bytes */
    int refused;            /* before the first checkpoint: --resume refused as it should */
    int restarted_same;     /* ... and the run started again in its folder, same bytes */
    int ended_before_kill;  /* timed kills that came after the run had ended (not kills) */
};

static char *spec_path;     /* tmp/crash_mlp.yaml */
static char *ref_dir;       /* the uninterrupted run */
static double ref_seconds;  /* its wall time */

/* ---- suite setup ---- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int suite_init(void)
{
    if (test_util_tmp_init("crash") != 0)
        return -1;
    char *src = test_util_src_path("tests/specs/crash_mlp.yaml");
    char *text = test_util_slurp(src, NULL);
    free(src);
    spec_path = test_util_tmp_path("crash_mlp.yaml");
    char *ti = test_util_tmp_path("crash-train-images.idx"), *tl = test_util_tmp_path("crash-train-labels.idx");
    char *vi = test_util_tmp_path("crash-test-images.idx"), *vl = test_util_tmp_path("crash-test-labels.idx");
    /* EPOCHS instead of the spec's 4 epochs: more checkpoints to kill, still well under a second. */
    char *spec = ns_asprintf("%s", text);
    char *at = strstr(spec, "epochs: 4");
    if (at)
        at[8] = (char)('0' + EPOCHS);
    bool ok = at && *text && test_util_save_text(spec_path, spec) && test_util_save_stripes(ti, tl, 144, 3, 11, NULL)
              && test_util_save_stripes(vi, vl, 60, 3, 12, NULL);
    free(spec);
    free(text);
    free(ti);
    free(tl);
    free(vi);
    free(vl);
    if (!ok)
        return -1;
    ref_dir = test_util_tmp_path("ref");
    char *args = ns_asprintf("train '%s' -o '%s' --threads 1", spec_path, ref_dir);
    double t0 = now_seconds();
    struct test_util_run r = test_util_netspec(args);
    ref_seconds = now_seconds() - t0;
    free(args);
    if (r.exit_code != 0)
        fprintf(stderr, "the reference run failed:\n%s%s", r.out, r.err);
    ok = r.exit_code == 0;
    test_util_run_free(&r);
    return ok ? 0 : -1;
}

static int suite_clean(void)
{
    free(spec_path);
    free(ref_dir);
    return test_util_tmp_clean();
}

/* ---- files ---- */

static char *in_dir(const char *dir, const char *name)
{
    return ns_asprintf("%s/%s", dir, name);
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

/* The names a run directory may hold (run.c's list), with or without ".tmp". */
static bool run_name(const char *name)
{
    static const char *const names[] = {"spec.resolved.yaml", "model.yaml", "manifest.json", "metrics.csv",
                                        "curves.svg", "summary.json", "model.nsm", "eval_validation.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t n = strlen(names[i]);
        if (!strncmp(name, names[i], n) && (!name[n] || !strcmp(name + n, ".tmp")))
            return true;
    }
    return false;
}

/* The same file as the reference run's. */
static bool same_as_ref(const char *dir, const char *name)
{
    char *a = in_dir(dir, name), *b = in_dir(ref_dir, name);
    bool same = test_util_same_file(a, b);
    free(a);
    free(b);
    return same;
}

/* metrics.csv rows, epoch by epoch: the first `rows` rows are the reference's, but for the
 * timing columns (seconds, images/s); with `complete`, there are no others. */
static bool metrics_match(const char *dir, bool complete)
{
    char *path = in_dir(dir, "metrics.csv"), *ref_path = in_dir(ref_dir, "metrics.csv");
    char *csv = test_util_slurp(path, NULL), *ref = test_util_slurp(ref_path, NULL);
    free(path);
    free(ref_path);
    bool ok = *csv && ends_with(csv, "\n");
    const char *p = csv, *q = ref;
    int rows = 0;
    while (ok && *p) {
        const char *end = strchr(p, '\n'), *ref_end = strchr(q, '\n');
        if (!end || !ref_end) {
            ok = false;
            break;
        }
        /* Up to the sixth comma: epoch, losses, metrics and lr; the header whole. */
        size_t n = 0, commas = 0;
        while (p + n < end && !(rows && commas == 5 && p[n] == ','))
            commas += p[n++] == ',';
        ok = (size_t)(ref_end - q) >= n && !strncmp(p, q, n) && (rows == 0 ? p + n == end : commas == 5);
        p = end + 1;
        q = ref_end + 1;
        rows++;
    }
    if (ok && complete)
        ok = *q == '\0';
    if (!ok)
        fprintf(stderr, "\n%s/metrics.csv differs from the reference run's:\n%s--- reference:\n%s", dir, csv, ref);
    free(csv);
    free(ref);
    return ok;
}

/* What a kill may leave: only a run's files, each whole. Returns whether a NAME.tmp is there. */
static bool check_left_whole(const char *dir)
{
    DIR *d = opendir(dir);
    bool tmp_left = false;
    if (!d) /* killed before it made the folder */
        return false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!run_name(e->d_name)) {
            fprintf(stderr, "\n%s holds %s, which is no run file\n", dir, e->d_name);
            CU_FAIL("a killed run left a file that is not a run's");
        }
        tmp_left = tmp_left || ends_with(e->d_name, ".tmp");
    }
    closedir(d);
    /* Written once, by every run alike. */
    static const char *const fixed[] = {"spec.resolved.yaml", "model.yaml"};
    for (size_t i = 0; i < 2; i++) {
        char *path = in_dir(dir, fixed[i]);
        if (exists(path) && !same_as_ref(dir, fixed[i])) {
            fprintf(stderr, "\n%s is not whole: it differs from the reference run's\n", path);
            CU_FAIL("a killed run left a half-written file");
        }
        free(path);
    }
    /* Written again and again: whole when they end as they end. */
    static const char *const tails[][2] = {
        {"manifest.json", "}\n"}, {"summary.json", "}\n"}, {"curves.svg", "</svg>\n"}};
    for (size_t i = 0; i < 3; i++) {
        char *path = in_dir(dir, tails[i][0]);
        if (exists(path)) {
            char *text = test_util_slurp(path, NULL);
            if (!ends_with(text, tails[i][1])) {
                fprintf(stderr, "\n%s is not whole:\n%s\n", path, text);
                CU_FAIL("a killed run left a half-written file");
            }
            free(text);
        }
        free(path);
    }
    char *metrics = in_dir(dir, "metrics.csv");
    if (exists(metrics))
        CU_ASSERT(metrics_match(dir, false));
    free(metrics);
    return tmp_left;
}

/* A finished run, whatever happened to it: the reference's bytes and figures, and nothing
 * half done. */
static bool check_complete(const char *dir)
{
    bool ok = same_as_ref(dir, "model.nsm");
    CU_ASSERT(ok);
    CU_ASSERT(metrics_match(dir, true));
    char *summary_path = in_dir(dir, "summary.json"), *ref_summary_path = in_dir(ref_dir, "summary.json");
    char *summary = test_util_slurp(summary_path, NULL), *ref_summary = test_util_slurp(ref_summary_path, NULL);
    /* Everything before the session's seconds is the run's result. */
    const char *cut = strstr(summary, "\"seconds_this_session\""), *ref_cut = strstr(ref_summary, "\"seconds_this_session\"");
    bool same_summary = cut && ref_cut && cut - summary == ref_cut - ref_summary
                        && !strncmp(summary, ref_summary, (size_t)(cut - summary));
    CU_ASSERT(same_summary);
    char *manifest_path = in_dir(dir, "manifest.json");
    char *manifest = test_util_slurp(manifest_path, NULL);
    bool complete = strstr(manifest, "\"status\": \"complete\"") != NULL;
    CU_ASSERT(complete);
    if (!same_summary || !complete)
        fprintf(stderr, "\n%s: summary.json:\n%s\nmanifest.json:\n%s\n", dir, summary, manifest);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (ends_with(e->d_name, ".tmp")) {
            fprintf(stderr, "\n%s/%s is left after the run completed\n", dir, e->d_name);
            CU_FAIL("a temporary file outlived the run");
        }
    }
    if (d)
        closedir(d);
    free(summary_path);
    free(ref_summary_path);
    free(summary);
    free(ref_summary);
    free(manifest_path);
    free(manifest);
    return ok && same_summary && complete;
}

/* ---- running and killing ---- */

/* netspec ARGS... with no shell between, output thrown away; traced: stopped for ptrace before
 * it starts, with LeakSanitizer off (it ptraces the process itself at exit, which a traced
 * process cannot allow). */
static pid_t spawn(const char *const *args, bool traced)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    if (traced) {
        const char *asan = getenv("ASAN_OPTIONS");
        char *opts = ns_asprintf("%s%sdetect_leaks=0", asan ? asan : "", asan && *asan ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
            _exit(126);
        raise(SIGSTOP);
    }
    char *copy[16];
    size_t n = 0;
    for (; args[n] && n < 15; n++)
        copy[n] = ns_xstrdup(args[n]);
    copy[n] = NULL;
    execv(copy[0], copy);
    _exit(127);
}

/* Kills the run after `seconds`; false when it had ended by then. */
static bool kill_after(const char *const *args, double seconds)
{
    pid_t pid = spawn(args, false);
    if (pid < 0)
        return false;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static bool io_call(long nr)
{
    static const long calls[] = {
        SYS_openat, SYS_write, SYS_fsync, SYS_fdatasync, SYS_close, SYS_unlinkat, SYS_mkdirat, SYS_renameat2,
#ifdef SYS_open
        SYS_open,
#endif
#ifdef SYS_rename
        SYS_rename,
#endif
#ifdef SYS_renameat
        SYS_renameat,
#endif
#ifdef SYS_unlink
        SYS_unlink,
#endif
#ifdef SYS_mkdir
        SYS_mkdir,
#endif
    };
    for (size_t i = 0; i < sizeof calls / sizeof *calls; i++)
        if (calls[i] == nr)
            return true;
    return false;
}

/* The path a call names: through its file descriptor, or the string it passes. */
static enum target call_target(pid_t pid, const struct __ptrace_syscall_info *info, const char *run_dir)
{
    long nr = (long)info->entry.nr;
    const uint64_t *a = info->entry.args;
    char path[4096] = "";
    if (nr == SYS_write || nr == SYS_fsync || nr == SYS_fdatasync || nr == SYS_close) {
        char link[64];
        snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)pid, (int)a[0]);
        ssize_t n = readlink(link, path, sizeof path - 1);
        path[n > 0 ? n : 0] = '\0';
    } else {
        uint64_t addr = a[0];
        if (nr == SYS_openat || nr == SYS_unlinkat || nr == SYS_mkdirat || nr == SYS_renameat2
#ifdef SYS_renameat
            || nr == SYS_renameat
#endif
        )
            addr = a[1];
        char mem[64];
        snprintf(mem, sizeof mem, "/proc/%d/mem", (int)pid);
        int fd = open(mem, O_RDONLY);
        ssize_t n = fd >= 0 ? pread(fd, path, sizeof path - 1, (off_t)addr) : -1;
        path[n > 0 ? n : 0] = '\0';
        if (fd >= 0)
            close(fd);
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char name[256];
    snprintf(name, sizeof name, "%s", base);
    if (ends_with(name, ".tmp"))
        name[strlen(name) - 4] = '\0';
    if (!strcmp(path, run_dir))
        return T_FOLDER;
    if (!strcmp(name, "spec.resolved.yaml") || !strcmp(name, "model.yaml"))
        return T_RUN_FILES;
    if (!strcmp(name, "manifest.json"))
        return T_MANIFEST;
    if (!strcmp(name, "metrics.csv"))
        return T_METRICS;
    if (!strcmp(name, "curves.svg"))
        return T_CURVES;
    if (!strcmp(name, "model.nsm"))
        return T_CHECKPOINT;
    if (!strcmp(name, "summary.json"))
        return T_SUMMARY;
    return T_OTHER;
}

/* The run traced through its file system calls. With kill_at > 0 it is killed as it enters
 * call number kill_at (true, *hit naming what the call touched); false when it ended first.
 * log (when not NULL) receives the target of every call, *calls their number. */
static bool trace_run(const char *const *args, const char *run_dir, long kill_at, enum target *hit,
                      enum target **log, long *calls)
{
    pid_t pid = spawn(args, true);
    if (pid < 0)
        return false;
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
        CU_FAIL("the traced run did not stop for its tracer");
        return false;
    }
    /* EXITKILL: should this program die, the traced run dies with it. */
    ptrace(PTRACE_SETOPTIONS, pid, NULL,
           (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC));
    ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
    long count = 0, cap = 0;
    bool killed = false;
    for (;;) {
        pid_t tid = waitpid(-1, &status, __WALL);
        if (tid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (tid == pid)
                break;
            continue;
        }
        int sig = WSTOPSIG(status), inject = 0;
        if (sig == (SIGTRAP | 0x80)) {
            struct __ptrace_syscall_info info;
            if (!killed && tid == pid
                && ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof info, &info) > 0
                && info.op == PTRACE_SYSCALL_INFO_ENTRY && io_call((long)info.entry.nr)) {
                count++;
                if (log) {
                    if (count > cap) {
                        cap = cap ? 2 * cap : 256;
                        *log = ns_xrealloc(*log, (size_t)cap * sizeof **log);
                    }
                    (*log)[count - 1] = call_target(pid, &info, run_dir);
                }
                if (count == kill_at) {
                    *hit = call_target(pid, &info, run_dir);
                    kill(pid, SIGKILL);
                    killed = true;
                }
            }
        } else if (status >> 16 == 0 && sig != SIGSTOP && sig != SIGTRAP) {
            inject = sig; /* the run's own signal: deliver it */
        }
        if (!killed)
            ptrace(PTRACE_SYSCALL, tid, NULL, (void *)(long)inject);
    }
    if (calls)
        *calls = count;
    return killed;
}

/* ---- the kill cases ---- */

static void run_args(const char *dir, bool resume, const char *threads, const char *args[10])
{
    int n = 0;
    args[n++] = test_util_bin();
    args[n++] = "train";
    args[n++] = spec_path;
    args[n++] = resume ? "--resume" : "-o";
    args[n++] = dir;
    args[n++] = "--threads";
    args[n++] = threads;
    args[n] = NULL;
}

/* After a kill: the folder holds whole files, and the run is either continued or (before its
 * first checkpoint) refused and started again; either way it ends as the reference did. */
static void recover(const char *dir, struct crash_stats *s, uint64_t *rng, bool may_kill_resume)
{
    if (check_left_whole(dir))
        s->mid_write++;
    char *model = in_dir(dir, "model.nsm");
    const char *threads = test_util_next_uniform(rng) < 0.5 ? "1" : "2";
    if (!exists(model)) {
        char *args = ns_asprintf("train '%s' --resume '%s'", spec_path, dir);
        struct test_util_run r = test_util_netspec(args);
        CU_ASSERT_EQUAL(r.exit_code, 2);
        bool refused = strstr(r.err, "holds no run to resume (it needs spec.resolved.yaml and model.nsm)") != NULL;
        CU_ASSERT(refused);
        if (r.exit_code != 2 || !refused)
            fprintf(stderr, "\n--resume after a kill before the first checkpoint:\n%s", r.err);
        s->refused += refused && r.exit_code == 2;
        test_util_run_free(&r);
        free(args);
        args = ns_asprintf("train '%s' -o '%s' --threads %s", spec_path, dir, threads);
        r = test_util_netspec(args);
        CU_ASSERT_EQUAL(r.exit_code, 0);
        if (r.exit_code != 0)
            fprintf(stderr, "\nstarting again in %s after a kill before the first checkpoint:\n%s", dir, r.err);
        test_util_run_free(&r);
        free(args);
        s->restarted_same += check_complete(dir);
        free(model);
        return;
    }
    char *args = ns_asprintf("eval '%s' --split validation", dir);
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    if (r.exit_code != 0)
        fprintf(stderr, "\neval after a kill cannot read %s:\n%s", model, r.err);
    s->loadable += r.exit_code == 0;
    test_util_run_free(&r);
    free(args);
    free(model);
    if (may_kill_resume && test_util_next_uniform(rng) < 1.0 / 3) {
        const char *argv[10];
        run_args(dir, true, threads, argv);
        if (kill_after(argv, test_util_next_uniform(rng) * ref_seconds)) {
            s->kills++;
            s->during_resume++;
            recover(dir, s, rng, false);
            return;
        }
    }
    args = ns_asprintf("train '%s' --resume '%s' --threads %s", spec_path, dir, threads);
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    if (r.exit_code != 0)
        fprintf(stderr, "\nresuming %s after a kill:\n%s", dir, r.err);
    test_util_run_free(&r);
    free(args);
    s->resumed_same += check_complete(dir);
}

/* A uniform draw from the calls (1-based) whose target is t; 0 when there is none. */
static long draw_call(const enum target *log, long calls, enum target t, uint64_t *rng)
{
    long n = 0;
    for (long i = 0; i < calls; i++)
        n += log[i] == t;
    if (!n)
        return 0;
    long pick = (long)(test_util_next_uniform(rng) * (double)n);
    for (long i = 0; i < calls; i++)
        if (log[i] == t && pick-- == 0)
            return i + 1;
    return 0;
}

static void test_kills(void)
{
    const char *seed_text = getenv("NETSPEC_CRASH_SEED"); /* to explore other schedules by hand */
    uint64_t seed = seed_text ? strtoull(seed_text, NULL, 10) : KILLS_SEED, rng = seed;
    struct crash_stats s = {0};
    int case_no = 0;

    /* The reference run's calls, traced, to aim at. */
    char *probe = test_util_tmp_path("probe");
    const char *argv[10];
    run_args(probe, false, "1", argv);
    enum target *log = NULL;
    long calls = 0;
    enum target unused;
    trace_run(argv, probe, 0, &unused, &log, &calls);
    CU_ASSERT_FATAL(calls > 0);
    CU_ASSERT(check_complete(probe));
    free(probe);
    int aimed = 0;
    for (int t = 0; t < T_COUNT; t++)
        aimed += aimed_per_target[t];
    long *kill_at = ns_xcalloc((size_t)(aimed + UNIFORM_TRACED), sizeof *kill_at);
    int n = 0;
    for (int t = 0; t < T_COUNT; t++)
        for (int i = 0; i < aimed_per_target[t]; i++) {
            kill_at[n] = draw_call(log, calls, (enum target)t, &rng);
            if (!kill_at[n]) {
                fprintf(stderr, "\nthe traced run made no call on %s\n", target_names[t]);
                CU_FAIL("a write the kills aim at never happened");
                continue;
            }
            n++;
        }
    for (int i = 0; i < UNIFORM_TRACED; i++)
        kill_at[n++] = 1 + (long)(test_util_next_uniform(&rng) * (double)calls);

    for (int i = 0; i < n; i++) {
        char *dir = ns_asprintf("%s/k%d", test_util_tmp(), case_no++);
        run_args(dir, false, "1", argv);
        enum target hit = T_OTHER;
        if (trace_run(argv, dir, kill_at[i], &hit, NULL, NULL)) {
            s.kills++;
            s.traced++;
            s.hit[hit]++;
            recover(dir, &s, &rng, true);
        }
        free(dir);
    }
    /* Timed kills until MIN_KILLS have landed, over the whole run's length (and a little
     * after: a kill that comes too late is not counted). */
    for (int timed = 0; (timed < TIMED_KILLS || s.kills < MIN_KILLS) && timed < 4 * TIMED_KILLS; timed++) {
        char *dir = ns_asprintf("%s/k%d", test_util_tmp(), case_no++);
        run_args(dir, false, "1", argv);
        if (kill_after(argv, test_util_next_uniform(&rng) * 1.1 * ref_seconds)) {
            s.kills++;
            s.timed++;
            recover(dir, &s, &rng, true);
        } else {
            s.ended_before_kill++;
            CU_ASSERT(check_complete(dir));
        }
        free(dir);
    }

    printf("\n  seed %llu: %d SIGKILLs (%d traced at chosen file system calls, %d timed, %d during a resume); "
           "%d timed kills came after the run had ended\n",
           (unsigned long long)seed, s.kills, s.traced, s.timed, s.during_resume, s.ended_before_kill);
    printf("  traced kills by the file their call touched:");
    for (int t = 0; t < T_COUNT; t++)
        printf("%s %s %d", t ? "," : "", target_names[t], s.hit[t]);
    printf("\n  %d kills landed inside an atomic write (a NAME.tmp was left)\n", s.mid_write);
    printf("  %d left a checkpoint: eval read %d, --resume reached the reference model.nsm bytes %d times\n",
           s.kills - s.refused, s.loadable, s.resumed_same);
    printf("  %d came before the first checkpoint: --resume refused %d, started again to the same bytes %d\n",
           s.refused, s.refused, s.restarted_same);
    fflush(stdout);
    CU_ASSERT(s.kills >= MIN_KILLS);
    CU_ASSERT(s.hit[T_CHECKPOINT] >= 1 && s.hit[T_METRICS] >= 1);
    CU_ASSERT(s.mid_write >= 1);
    CU_ASSERT_EQUAL(s.loadable + s.refused, s.kills);
    CU_ASSERT_EQUAL(s.resumed_same + s.restarted_same + s.during_resume, s.kills);
    free(kill_at);
    free(log);
}

static const struct test_util_case cases[] = {
    {"SIGKILL at chosen calls and random times: whole files, same bytes after --resume", test_kills},
};

int main(void)
{
    return test_util_main("crash", suite_init, suite_clean, cases, sizeof cases / sizeof *cases);
}
