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
    int summary_only;       /* ... of which killed after the last checkpoint: summary written */
    int refused;            /* before the first checkpoint: --resume refused as it should */
    int restarted_same;     /* ... and the run started again in its folder, same bytes */
    int ended_before_kill;  /* timed kills that came after the run had ended (not kills) */
};

static char *spec_path;     /* tmp/crash_mlp.yaml */
static char *ref_dir;       /* the uninterrupted run */
static double ref_seconds;  /* its wall time */

static pid_t spawn(const char *const *args, bool traced, const char *output);
static void run_args(const char *dir, bool resume, const char *threads, const char *args[10]);

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
    /* Started as the timed kills start their runs, so that its time is theirs: the shortest of
     * three, as a kill that comes after the end is wasted. */
    ref_dir = test_util_tmp_path("ref");
    char *output = test_util_tmp_path("ref.out");
    for (int i = 0; i < 3 && ok; i++) {
        char *dir = i ? ns_asprintf("%s-%d", ref_dir, i) : ns_xstrdup(ref_dir);
        const char *argv[10];
        run_args(dir, false, "1", argv);
        double t0 = now_seconds();
        pid_t pid = spawn(argv, false, output);
        int status = 0;
        ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        double seconds = now_seconds() - t0;
        ref_seconds = i == 0 || seconds < ref_seconds ? seconds : ref_seconds;
        free(dir);
    }
    if (!ok) {
        char *said = test_util_slurp(output, NULL);
        fprintf(stderr, "the reference run failed:\n%s", said);
        free(said);
    }
    free(output);
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

/* netspec ARGS... with no shell between, its output in the file `output` (NULL: thrown
 * away); traced: stopped for ptrace before it starts, with LeakSanitizer off (it ptraces the
 * process itself at exit, which a traced process cannot allow). */
static pid_t spawn(const char *const *args, bool traced, const char *output)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int in = open("/dev/null", O_RDONLY);
    int out = output ? open(output, O_WRONLY | O_CREAT | O_TRUNC, 0644) : open("/dev/null", O_WRONLY);
    if (in >= 0 && out >= 0) {
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
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

static void say_loudly(const char *what)
{
    char *text = ns_asprintf("\n\n    *** SKIPPED: %s ***\n\n", what);
    fputs(text, stdout);
    fflush(stdout);
    fputs(text, stderr);
    free(text);
}

/* Whether this program may trace its children and read their system calls (ptrace can be
 * forbidden in containers; PTRACE_GET_SYSCALL_INFO needs Linux 5.3). */
static bool can_trace(char *why, size_t why_size)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
            _exit(126);
        raise(SIGSTOP);
        _exit(0);
    }
    int status = 0;
    bool ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFSTOPPED(status);
    if (!ok)
        snprintf(why, why_size, "this program may not ptrace its children");
    ok = ok && ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) == 0
         && ptrace(PTRACE_SYSCALL, pid, NULL, NULL) == 0 && waitpid(pid, &status, 0) == pid && WIFSTOPPED(status)
         && WSTOPSIG(status) == (SIGTRAP | 0x80);
    struct __ptrace_syscall_info info;
    if (ok && ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof info, &info) <= 0) {
        snprintf(why, why_size, "ptrace cannot report system calls here (PTRACE_GET_SYSCALL_INFO: %s)",
                 strerror(errno));
        ok = false;
    } else if (!ok && !*why) {
        snprintf(why, why_size, "ptrace did not stop the child at its system calls");
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    return ok;
}

/* Kills the run after `seconds`; false when it had ended by then. */
static bool kill_after(const char *const *args, double seconds)
{
    pid_t pid = spawn(args, false, NULL);
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

/* What a traced run's observer says at each file system call it enters. */
enum verdict { GO_ON, KILL };
typedef enum verdict (*call_observer)(void *user, long nr, enum target t);

/* The run traced through its file system calls, each shown to `observe` as the run enters
 * it; true when the observer had it killed. Its output goes to the file `output` (NULL: thrown
 * away), its exit code (-1 when killed) to *exit_code when not NULL. */
static bool trace_run(const char *const *args, const char *run_dir, call_observer observe, void *user,
                      const char *output, int *exit_code)
{
    if (exit_code)
        *exit_code = -1;
    pid_t pid = spawn(args, true, output);
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
    bool killed = false;
    for (;;) {
        pid_t tid = waitpid(-1, &status, __WALL);
        if (tid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (tid != pid)
                continue;
            if (exit_code && WIFEXITED(status))
                *exit_code = WEXITSTATUS(status);
            break;
        }
        int sig = WSTOPSIG(status), inject = 0;
        if (sig == (SIGTRAP | 0x80)) {
            struct __ptrace_syscall_info info;
            if (!killed && tid == pid && ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof info, &info) > 0
                && info.op == PTRACE_SYSCALL_INFO_ENTRY && io_call((long)info.entry.nr)
                && observe(user, (long)info.entry.nr, call_target(pid, &info, run_dir)) == KILL) {
                kill(pid, SIGKILL);
                killed = true;
            }
        } else if (status >> 16 == 0 && sig != SIGSTOP && sig != SIGTRAP) {
            inject = sig; /* the run's own signal: deliver it */
        }
        if (!killed)
            ptrace(PTRACE_SYSCALL, tid, NULL, (void *)(long)inject);
    }
    return killed;
}

/* Observers: the targets of every call; a kill at call number `at`. */
struct call_log {
    enum target *targets;
    long count, cap;
};

static enum verdict log_call(void *user, long nr, enum target t)
{
    (void)nr;
    struct call_log *log = user;
    if (log->count == log->cap) {
        log->cap = log->cap ? 2 * log->cap : 256;
        log->targets = ns_xrealloc(log->targets, (size_t)log->cap * sizeof *log->targets);
    }
    log->targets[log->count++] = t;
    return GO_ON;
}

/* Kills at the at-th call on `aim` (T_COUNT: the at-th call of all). Counting the calls on
 * one file only keeps the aim when the run makes a varying number of other calls (the
 * sanitizers' own reads). */
struct kill_plan {
    long at, count;
    enum target aim, hit;
};

static enum verdict kill_at_call(void *user, long nr, enum target t)
{
    (void)nr;
    struct kill_plan *plan = user;
    if ((plan->aim != T_COUNT && t != plan->aim) || ++plan->count != plan->at)
        return GO_ON;
    plan->hit = t;
    return KILL;
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
    /* Killed while training, after its last checkpoint, or after its final manifest. */
    char *resuming = ns_asprintf("resuming %s at epoch ", dir);
    char *summary_only = ns_asprintf("%s trained all its epochs but was stopped before its summary: writing it", dir);
    char *complete = ns_asprintf("%s is complete (%d epochs); nothing to resume", dir, EPOCHS);
    bool said = strstr(r.out, resuming) || strstr(r.out, summary_only) || strstr(r.out, complete);
    CU_ASSERT(said);
    s->summary_only += strstr(r.out, summary_only) != NULL;
    if (r.exit_code != 0 || !said)
        fprintf(stderr, "\nresuming %s after a kill:\n%s%s", dir, r.out, r.err);
    free(resuming);
    free(summary_only);
    free(complete);
    test_util_run_free(&r);
    free(args);
    s->resumed_same += check_complete(dir);
}

/* A uniform draw from 1 .. the number of calls on t; 0 when there is none. */
static long draw_call(const enum target *log, long calls, enum target t, uint64_t *rng)
{
    long n = 0;
    for (long i = 0; i < calls; i++)
        n += log[i] == t;
    return n ? 1 + (long)(test_util_next_uniform(rng) * (double)n) : 0;
}

static void test_kills(void)
{
    const char *seed_text = getenv("NETSPEC_CRASH_SEED"); /* to explore other schedules by hand */
    uint64_t seed = seed_text ? strtoull(seed_text, NULL, 10) : KILLS_SEED, rng = seed;
    struct crash_stats s = {0};
    int case_no = 0;

    /* The reference run's calls, traced, to aim at. */
    char why[256] = "";
    bool traced = can_trace(why, sizeof why);
    if (!traced) {
        char *what = ns_asprintf("the traced kills (%s); timed kills only", why);
        say_loudly(what);
        free(what);
    }
    char *probe = test_util_tmp_path("probe");
    const char *argv[10];
    run_args(probe, false, "1", argv);
    struct call_log probe_log = {0};
    if (traced) {
        trace_run(argv, probe, log_call, &probe_log, NULL, NULL);
        CU_ASSERT_FATAL(probe_log.count > 0);
        CU_ASSERT(check_complete(probe));
    }
    free(probe);
    const enum target *log = probe_log.targets;
    long calls = probe_log.count;
    int aimed = 0;
    for (int t = 0; traced && t < T_COUNT; t++)
        aimed += aimed_per_target[t];
    struct kill_plan *plans = ns_xcalloc((size_t)(aimed + UNIFORM_TRACED), sizeof *plans);
    int n = 0;
    for (int t = 0; t < T_COUNT; t++)
        for (int i = 0; i < aimed_per_target[t]; i++) {
            plans[n] = (struct kill_plan){.at = draw_call(log, calls, (enum target)t, &rng), .aim = (enum target)t};
            if (!plans[n].at) {
                fprintf(stderr, "\nthe traced run made no call on %s\n", target_names[t]);
                CU_FAIL("a write the kills aim at never happened");
                continue;
            }
            n++;
        }
    for (int i = 0; traced && i < UNIFORM_TRACED; i++)
        plans[n++] = (struct kill_plan){.at = 1 + (long)(test_util_next_uniform(&rng) * (double)calls), .aim = T_COUNT};

    for (int i = 0; i < n; i++) {
        char *dir = ns_asprintf("%s/k%d", test_util_tmp(), case_no++);
        run_args(dir, false, "1", argv);
        struct kill_plan plan = plans[i];
        if (trace_run(argv, dir, kill_at_call, &plan, NULL, NULL)) {
            s.kills++;
            s.traced++;
            s.hit[plan.hit]++;
            recover(dir, &s, &rng, true);
        }
        free(dir);
    }
    /* Timed kills over the whole run's length, until TIMED_KILLS of them (and MIN_KILLS in
     * all) have landed. A run's time varies with the machine's load: a kill that comes after
     * the end is not counted, and shortens the time the next ones are spread over. */
    double spread = 1.1 * ref_seconds;
    for (int tries = 0; (s.timed < TIMED_KILLS || s.kills < MIN_KILLS) && tries < 4 * TIMED_KILLS; tries++) {
        char *dir = ns_asprintf("%s/k%d", test_util_tmp(), case_no++);
        run_args(dir, false, "1", argv);
        if (kill_after(argv, test_util_next_uniform(&rng) * spread)) {
            s.kills++;
            s.timed++;
            recover(dir, &s, &rng, true);
        } else {
            s.ended_before_kill++;
            spread *= 0.8;
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
    printf("  %d left a checkpoint: eval read %d, --resume reached the reference model.nsm bytes %d times "
           "(%d of them killed after the last checkpoint: summary and manifest written)\n",
           s.kills - s.refused, s.loadable, s.resumed_same, s.summary_only);
    printf("  %d came before the first checkpoint: --resume refused %d, started again to the same bytes %d\n",
           s.refused, s.refused, s.restarted_same);
    fflush(stdout);
    CU_ASSERT(s.kills >= MIN_KILLS);
    for (int t = 0; traced && t < T_COUNT; t++)
        CU_ASSERT(s.hit[t] >= aimed_per_target[t]);
    CU_ASSERT(s.mid_write >= 1);
    CU_ASSERT_EQUAL(s.loadable + s.refused, s.kills);
    CU_ASSERT_EQUAL(s.resumed_same + s.restarted_same + s.during_resume, s.kills);
    free(plans);
    free(probe_log.targets);
}

/* ---- a full disk ---- */

static void skip_loudly(const char *why)
{
    char *what = ns_asprintf("the full-disk case (%s); it runs as root, as CI does", why);
    say_loudly(what);
    free(what);
}

/* A tmpfs of `kib` KiB on `disk`, in a mount namespace of this program's own: it goes away
 * with the program, whatever happens to it. */
static bool mount_small_disk(const char *disk, unsigned long kib)
{
    if (geteuid() != 0) {
        skip_loudly("mounting a tmpfs needs root");
        return false;
    }
    char why[256];
    char *opts = ns_asprintf("size=%luk,mode=0755", kib);
    bool ok = true;
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        snprintf(why, sizeof why, "cannot make a private mount namespace: %s", strerror(errno));
        ok = false;
    } else if (mkdir(disk, 0755) != 0 || mount("tmpfs", disk, "tmpfs", 0, opts) != 0) {
        snprintf(why, sizeof why, "cannot mount a tmpfs on %s: %s", disk, strerror(errno));
        ok = false;
    }
    free(opts);
    if (!ok)
        skip_loudly(why);
    return ok;
}

static size_t dir_pages(const char *dir, size_t page, size_t *model_pages)
{
    size_t pages = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *path = in_dir(dir, e->d_name);
        struct stat sb;
        if (e->d_name[0] != '.' && stat(path, &sb) == 0) {
            size_t n = ((size_t)sb.st_size + page - 1) / page;
            pages += n;
            if (!strcmp(e->d_name, "model.nsm"))
                *model_pages = n;
        }
        free(path);
    }
    if (d)
        closedir(d);
    return pages;
}

static void fill_disk(const char *path)
{
    static const char block[1 << 16];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    while (fd >= 0 && write(fd, block, sizeof block) > 0)
        ;
    if (fd >= 0)
        close(fd);
}

/* The disk is full for a moment: from the third write of metrics.csv (epoch 2's row) until
 * the run touches another file. */
struct brief_fill {
    char *filler;
    int metrics_writes;
    bool filled, freed;
};

static enum verdict fill_at_metrics(void *user, long nr, enum target t)
{
    struct brief_fill *f = user;
    bool unlink_call = nr == SYS_unlinkat;
#ifdef SYS_unlink
    unlink_call = unlink_call || nr == SYS_unlink;
#endif
    /* Every write of a run file starts by removing a stale NAME.tmp (ns_file_replace). */
    if (!f->filled && t == T_METRICS && unlink_call && ++f->metrics_writes == 3) {
        fill_disk(f->filler);
        f->filled = true;
    } else if (f->filled && !f->freed && t != T_METRICS) {
        unlink(f->filler);
        f->freed = true;
    }
    return GO_ON;
}

static void expect_exit_5(struct test_util_run *r, const char *dir, const char *file)
{
    char *want = ns_asprintf("cannot write %s/%s: No space left on device", dir, file);
    char *keeps = ns_asprintf("%s/%s keeps its previous version", dir, file);
    CU_ASSERT_EQUAL(r->exit_code, 5);
    CU_ASSERT(strstr(r->err, want) != NULL);
    CU_ASSERT(strstr(r->err, keeps) != NULL);
    if (r->exit_code != 5 || !strstr(r->err, want) || !strstr(r->err, keeps))
        fprintf(stderr, "\nexpected exit 5 and \"%s\", got %d:\n%s%s", want, r->exit_code, r->out, r->err);
    free(want);
    free(keeps);
}

/* After the failed write: the previous checkpoint is there and loadable, nothing half
 * written, and --resume continues it at `epoch` to the reference run's end. */
static void expect_resumable(const char *dir, const char *epoch)
{
    char *tmp = in_dir(dir, "model.nsm.tmp");
    CU_ASSERT(!exists(tmp));
    free(tmp);
    char *manifest_path = in_dir(dir, "manifest.json");
    char *manifest = test_util_slurp(manifest_path, NULL);
    CU_ASSERT(strstr(manifest, "\"status\": \"failed\"") != NULL);
    free(manifest);
    free(manifest_path);
    CU_ASSERT(!check_left_whole(dir));
    char *args = ns_asprintf("eval '%s' --split validation", dir);
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    if (r.exit_code)
        fprintf(stderr, "\neval of the checkpoint left by a full disk:\n%s", r.err);
    test_util_run_free(&r);
    free(args);
    args = ns_asprintf("train '%s' --resume '%s'", spec_path, dir);
    r = test_util_netspec(args);
    char *resuming = ns_asprintf("resuming %s at epoch %s, batch 0", dir, epoch);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT(strstr(r.out, resuming) != NULL);
    if (r.exit_code || !strstr(r.out, resuming))
        fprintf(stderr, "\nresuming after a full disk (expected \"%s\"):\n%s%s", resuming, r.out, r.err);
    test_util_run_free(&r);
    free(resuming);
    free(args);
    CU_ASSERT(check_complete(dir));
}

static void test_full_disk(void)
{
    /* Room for the run's files and one checkpoint, not for a second checkpoint beside it
     * (model.nsm.tmp while model.nsm is still there): epoch 2's checkpoint fails. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE), model_pages = 0;
    size_t pages = dir_pages(ref_dir, page, &model_pages) + model_pages / 2;
    CU_ASSERT_FATAL(model_pages >= 8);
    char *disk = test_util_tmp_path("disk");
    if (!mount_small_disk(disk, (unsigned long)(pages * page / 1024))) {
        free(disk);
        return;
    }
    char *dir = in_dir(disk, "run");
    char *args = ns_asprintf("train '%s' -o '%s' --threads 1", spec_path, dir);
    struct test_util_run r = test_util_netspec(args);
    expect_exit_5(&r, dir, "model.nsm");
    test_util_run_free(&r);
    free(args);
    /* Space is back. */
    CU_ASSERT(mount("tmpfs", disk, "tmpfs", MS_REMOUNT, "size=16m,mode=0755") == 0);
    expect_resumable(dir, "2");
    free(dir);

    /* Full for a moment, while epoch 2's row goes into metrics.csv: the run stops there, its
     * checkpoint not ahead of its metrics, and resumes to the same rows and bytes. */
    char why[256] = "";
    if (!can_trace(why, sizeof why)) {
        char *what = ns_asprintf("the full disk for a moment (%s)", why);
        say_loudly(what);
        free(what);
        CU_ASSERT(umount2(disk, MNT_DETACH) == 0);
        free(disk);
        return;
    }
    dir = in_dir(disk, "brief");
    const char *argv[10];
    run_args(dir, false, "1", argv);
    struct brief_fill fill = {.filler = in_dir(disk, "filler")};
    r.out = ns_xstrdup("");
    r.err = test_util_tmp_path("brief.out");
    trace_run(argv, dir, fill_at_metrics, &fill, r.err, &r.exit_code);
    CU_ASSERT(fill.filled && fill.freed);
    char *output_path = r.err;
    r.err = test_util_slurp(output_path, NULL);
    expect_exit_5(&r, dir, "metrics.csv");
    test_util_run_free(&r);
    free(output_path);
    free(fill.filler);
    expect_resumable(dir, "2");
    free(dir);
    CU_ASSERT(umount2(disk, MNT_DETACH) == 0);
    free(disk);
}

/* A run's NAME.tmp files are links to a file outside the run directory (left there by
 * someone, or a symlink attack): the run replaces the links, and the file keeps its bytes. */
static void test_planted_links(void)
{
    char *dir = test_util_tmp_path("links"), *outside = test_util_tmp_path("outside.txt");
    test_util_write_text(outside, "not netspec's\n");
    CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
    static const char *const names[] = {"spec.resolved.yaml.tmp", "model.yaml.tmp", "manifest.json.tmp",
                                        "metrics.csv.tmp", "curves.svg.tmp", "model.nsm.tmp", "summary.json.tmp"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *link = in_dir(dir, names[i]);
        CU_ASSERT(symlink(outside, link) == 0);
        free(link);
    }
    char *args = ns_asprintf("train '%s' -o '%s' --threads 1", spec_path, dir);
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    if (r.exit_code)
        fprintf(stderr, "\ntraining over planted links:\n%s%s", r.out, r.err);
    test_util_run_free(&r);
    free(args);
    char *text = test_util_slurp(outside, NULL);
    CU_ASSERT_STRING_EQUAL(text, "not netspec's\n");
    free(text);
    CU_ASSERT(check_complete(dir));
    free(dir);
    free(outside);

    /* A NAME.tmp that cannot be removed (a folder) is named in the error, exit 5. */
    dir = test_util_tmp_path("stale");
    char *stale = in_dir(dir, "model.nsm.tmp"), *first = in_dir(dir, "spec.resolved.yaml.tmp");
    CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 && mkdir(stale, 0755) == 0);
    test_util_write_text(first, "");
    args = ns_asprintf("train '%s' -o '%s' --threads 1", spec_path, dir);
    r = test_util_netspec(args);
    char *want = ns_asprintf("cannot write %s/model.nsm: the %s an earlier run left cannot be removed: Is a directory",
                             dir, stale);
    CU_ASSERT_EQUAL(r.exit_code, 5);
    CU_ASSERT(strstr(r.err, want) != NULL);
    if (r.exit_code != 5 || !strstr(r.err, want))
        fprintf(stderr, "\nexpected exit 5 and \"%s\":\n%s", want, r.err);
    test_util_run_free(&r);
    free(want);
    free(args);
    free(first);
    free(stale);
    free(dir);
}

static const struct test_util_case cases[] = {
    {"SIGKILL at chosen calls and random times: whole files, same bytes after --resume", test_kills},
    {"a full disk: exit 5, the previous checkpoint kept, --resume once space is back", test_full_disk},
    {"links planted at NAME.tmp: replaced, nothing written through them; a folder there is named", test_planted_links},
};

int main(void)
{
    return test_util_main("crash", suite_init, suite_clean, cases, sizeof cases / sizeof *cases);
}
