#!/usr/bin/env python3
"""`make bench`: netspec against its references on this machine, every ratio from one run.

Measures, each netspec figure beside its reference taken in the same invocation:
  training images/s of the reference CNN and MLP (bench/cnn.yaml, bench/mlp.yaml) against
  the same networks in PyTorch (bench/torch_bench.py), at 1 and 2 threads;
  the CNN's training GFLOP/s against the FMA peak (bench/fma_peak.c);
  inference images/s at batch 256 and one-image latency: the runtime (bench/runtime_infer.c),
  the emitted C at -O2 and at -O3 -march=native (bench/emitted_infer.c) and PyTorch;
  SGEMM GFLOP/s against OpenBLAS (bench/bench_gemm.c);
  peak RSS while training the CNN, netspec against PyTorch;
  CNN training with the default threads (auto: both cores) beside a competing busy process,
  against the quiet 1-thread figure.
It prints one table (figure | netspec | reference | ratio | target | met) and writes the same
as JSON to $BENCH_JSON (default BUILD/bench.json), with every raw measurement, the machine,
the load and what was skipped. A reference that cannot run (no PyTorch, no OpenBLAS, ...) is
skipped with the reason printed before and after the table, never silently; a netspec
measurement that fails makes the exit status 1.

Environment (`make bench` sets the build ones; bench/run.sh calls `make bench`):
  BENCH_QUICK=1       smoke test: a few batches and repetitions, about a minute
  BENCH_JSON=PATH     where the JSON goes
  BENCH_TORCH_PYTHON  the python3 that runs PyTorch (default: the first of /usr/bin/python3,
                      this interpreter and python3 that imports torch)
  BENCH_BUILD BENCH_SRCDIR BENCH_CC BENCH_CPPFLAGS BENCH_OPENMP BENCH_LIBS BENCH_SANITIZERS
                      the build tree and how to compile against libnetspec.a (from make)
"""
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import gzip

SRC = os.environ.get("BENCH_SRCDIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BENCH_BUILD") or os.path.join(SRC, "build", "release")
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
JSON_PATH = os.environ.get("BENCH_JSON") or os.path.join(BUILD, "bench.json")
WORK = os.path.join(BUILD, "bench-work")
DATA = "/usr/share/datasets/fashion-mnist"
BATCH = 64

# How much work each measurement gets. Training counts are whole batches of 64 taken from the
# start of the training file (data.validation=0, so all of them train). The MLP is ~25x
# cheaper per image than the CNN, so it gets more images for a comparable duration.
if QUICK:
    P = dict(cnn_images=640, mlp_images=6400, repeats=1, infer_batch_reps=3, latency_reps=51,
             rss_batches=10, fma_iterations=5_000_000, gemm_threads=(1,), openblas_probe_reps=3,
             openblas_probe_rounds=2)
else:
    P = dict(cnn_images=6400, mlp_images=25600, repeats=3, infer_batch_reps=21, latency_reps=1001,
             rss_batches=50, fma_iterations=20_000_000, gemm_threads=(1, 2), openblas_probe_reps=9,
             openblas_probe_rounds=3)

# Multiply-accumulates per image, from the layer shapes of bench/cnn.yaml and bench/mlp.yaml
# (output positions x output channels x taps). FLOPs: forward = 2 x MACs; training = 3 x
# forward (the forward pass, the gradient with respect to the inputs and the gradient with
# respect to the weights each do one GEMM of the same size per layer). Bias, activation,
# pooling and the optimizer are left out: they are a few percent and not FMA work.
CNN_MACS = (26 * 26 * 32 * (3 * 3 * 1)      # conv 3x3x32 valid: 28x28x1 -> 26x26x32
            + 11 * 11 * 64 * (3 * 3 * 32)   # conv 3x3x64 valid: 13x13x32 -> 11x11x64
            + (5 * 5 * 64) * 128            # dense 1600 -> 128
            + 128 * 10)                     # dense 128 -> 10
MLP_MACS = 784 * 128 + 128 * 10
FLOPS_FORWARD = {"cnn": 2 * CNN_MACS, "mlp": 2 * MLP_MACS}
FLOPS_TRAIN = {k: 3 * v for k, v in FLOPS_FORWARD.items()}

skipped = []    # (what, why): printed before and after the table, kept in the JSON
failures = []   # netspec measurements that failed: exit status 1
raw = {}        # every measurement, for the JSON
rows = []       # the table


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def skip(what, why):
    skipped.append({"what": what, "why": why})
    say(f"SKIPPED {what}: {why}")


def busiest_processes(count=5):
    """What else is running, for reading noisy figures later (ps is procps; none: empty)."""
    try:
        p = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True, timeout=10)
        return [l.strip() for l in p.stdout.strip().splitlines()[1:count + 1]]
    except (OSError, subprocess.SubprocessError):
        return []


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(v) for v in f.read().split()[:3]]
    except OSError:
        return None


def run(name, cmd, env=None, cwd=None):
    """Runs cmd with its output in WORK/logs/NAME.{out,err}. Returns (status, stdout, stderr,
    peak RSS in KiB, wall seconds); the RSS is the child's own (wait4), not this script's."""
    logs = os.path.join(WORK, "logs")
    os.makedirs(logs, exist_ok=True)
    full_env = dict(os.environ)
    full_env.update(env or {})
    out_path, err_path = os.path.join(logs, name + ".out"), os.path.join(logs, name + ".err")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        out.write("$ " + " ".join(shlex.quote(str(c)) for c in cmd) + "\n")
        out.flush()
        t0 = time.perf_counter()
        try:
            p = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=err, env=full_env, cwd=cwd)
        except OSError as e:
            return 127, "", str(e), 0, 0.0
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
    with open(out_path) as f:
        stdout = f.read().split("\n", 1)[1]
    with open(err_path) as f:
        stderr = f.read()
    return p.returncode, stdout, stderr, usage.ru_maxrss, wall


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in the output")


def first_lines(text, n=3):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return " | ".join(lines[:n]) if lines else "(no output)"


# ---- building the C programs ---------------------------------------------------------------

CC = shlex.split(os.environ.get("BENCH_CC") or "cc")
OPENMP = shlex.split(os.environ.get("BENCH_OPENMP") or "-fopenmp")
CPPFLAGS = shlex.split(os.environ.get("BENCH_CPPFLAGS") or
                       f"-I{SRC}/src -I{BUILD} -D_GNU_SOURCE -I/usr/include/stb")


def default_libs():
    libs = [os.path.join(BUILD, "libnetspec.a")]
    libs += [os.path.join(BUILD, a) for a in ("libkernels_avx2.a", "libkernels_avx512.a", "libnetspec_stb.a")
             if os.path.exists(os.path.join(BUILD, a))]
    return libs + ["-lyaml", "-lz", "-lstb", "-lm"]


LIBS = shlex.split(os.environ["BENCH_LIBS"]) if os.environ.get("BENCH_LIBS") else default_libs()
# A sanitizer build's libnetspec.a needs its runtime at link time (its figures are then only
# good for checking that the harness runs).
SANITIZERS = shlex.split(os.environ.get("BENCH_SANITIZERS") or "")
BIN = os.path.join(WORK, "bin")


def compile_c(name, args):
    """Compiles into WORK/bin/NAME; returns its path, or None with the compiler's complaint."""
    os.makedirs(BIN, exist_ok=True)
    out = os.path.join(BIN, name)
    status, stdout, stderr, _, _ = run("cc-" + name, CC + ["-o", out] + args)
    if status != 0:
        return None, first_lines(stderr, 4)
    return out, None


def openblas_flags():
    if shutil.which("pkg-config"):
        p = subprocess.run(["pkg-config", "--cflags", "--libs", "openblas"], capture_output=True, text=True)
        if p.returncode == 0:
            flags = shlex.split(p.stdout)
            return [f for f in flags if not f.startswith(("-L", "-l"))], [f for f in flags if f.startswith(("-L", "-l"))]
    return ["-I/usr/include/x86_64-linux-gnu/openblas-pthread"], ["-lopenblas"]


# ---- data and netspec runs -----------------------------------------------------------------

def training_subset(count):
    """Uncompressed IDX files holding the first `count` training images and labels (the
    originals when count covers them), so a one-epoch run trains exactly count images."""
    images, labels = f"{DATA}/train-images-idx3-ubyte.gz", f"{DATA}/train-labels-idx1-ubyte.gz"
    if count >= 60000:
        return images, labels
    d = os.path.join(WORK, "data")
    os.makedirs(d, exist_ok=True)
    out_images, out_labels = f"{d}/train-{count}-images.idx", f"{d}/train-{count}-labels.idx"
    if not (os.path.exists(out_images) and os.path.exists(out_labels)):
        with gzip.open(images, "rb") as f:
            img = f.read()
        with gzip.open(labels, "rb") as f:
            lab = f.read()
        magic, total, rows, cols = struct.unpack(">IIII", img[:16])
        if count > total:
            raise SystemExit(f"bench: {images} holds {total} images, fewer than the {count} asked for")
        with open(out_images, "wb") as f:
            f.write(struct.pack(">IIII", magic, count, rows, cols) + img[16:16 + count * rows * cols])
        magic, _ = struct.unpack(">II", lab[:8])
        with open(out_labels, "wb") as f:
            f.write(struct.pack(">II", magic, count) + lab[8:8 + count])
    return out_images, out_labels


NETSPEC = os.path.join(BUILD, "netspec")


def netspec_train(model, threads, images, tag):
    """One epoch over `images` training images; images/s from the run's metrics.csv, which
    times the batch loop alone (gathering each batch, forward, loss, backward, Adam): data
    loading and the run directory's files are left out, as in the PyTorch loop."""
    img, lab = training_subset(images)
    run_dir = os.path.join(WORK, "runs", f"{model}-{tag}")
    shutil.rmtree(run_dir, ignore_errors=True)
    # threads "auto" leaves the count to netspec (runtime.threads: auto, the default): all cores,
    # fewer while other processes compete for them.
    cmd = [NETSPEC, "train", os.path.join(SRC, "bench", f"{model}.yaml"), "-o", run_dir]
    cmd += [] if threads == "auto" else ["--threads", str(threads)]
    cmd += ["--set", f"data.train.images={img}", "--set", f"data.train.labels={lab}", "--set", "data.validation=0"]
    status, out, err, rss, wall = run(f"netspec-train-{model}-{tag}", cmd)
    if status != 0:
        failures.append(f"netspec train {model} ({tag}): exit {status}: {first_lines(err)}")
        return None
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        header, *lines = f.read().strip().splitlines()
    col = header.split(",").index("images_per_s")
    return {"img_s": float(lines[-1].split(",")[col]), "rss_kib": rss, "wall_s": wall, "run_dir": run_dir,
            "threads": threads, "images": images}


def find_torch_python():
    chosen = os.environ.get("BENCH_TORCH_PYTHON")
    candidates = [chosen] if chosen else ["/usr/bin/python3", sys.executable, shutil.which("python3")]
    tried = []
    for c in candidates:
        if not c or c in tried or not os.path.exists(c):
            continue
        tried.append(c)
        p = subprocess.run([c, "-c", "import torch, numpy; print(torch.__version__)"], capture_output=True, text=True)
        if p.returncode == 0:
            return c, p.stdout.strip()
    return None, "no python3 among " + ", ".join(tried or ["(none)"]) + " imports torch and numpy " \
        "(apt-get install python3-torch, or set BENCH_TORCH_PYTHON)"


TORCH_ENV = {"OMP_WAIT_POLICY": "passive", "OPENBLAS_NUM_THREADS": "1"}


def torch_run(python, name, args):
    status, out, err, rss, wall = run("torch-" + name, [python, os.path.join(SRC, "bench", "torch_bench.py")] + args,
                                      env=TORCH_ENV)
    if status != 0:
        skip(f"PyTorch {name}", f"torch_bench.py exit {status}: {first_lines(err)}")
        return None
    r = last_json_line(out)
    r["rss_kib"] = rss
    return r


# ---- the table -----------------------------------------------------------------------------

def add_row(section, figure, ours, theirs, unit, target=None, note=None, reference="", ratio=None):
    """ratio = ours / theirs unless given; target = (">=" or "<=", value) on that ratio."""
    if ratio is None and ours is not None and theirs:
        ratio = ours / theirs
    met = None
    if target and ratio is not None:
        met = ratio >= target[1] if target[0] == ">=" else ratio <= target[1]
    rows.append({"section": section, "figure": figure, "unit": unit, "netspec": ours, "reference": theirs,
                 "reference_name": reference, "ratio": ratio,
                 "target": f"{target[0]} {target[1]:g}" if target else None, "met": met, "note": note})


def fmt(v, unit):
    if v is None:
        return "-"
    if unit in ("img/s", "GFLOP/s") and v >= 100:
        return f"{v:,.0f}"
    if unit == "MiB":
        return f"{v:,.0f}"
    return f"{v:,.1f}" if v >= 10 else f"{v:.2f}"


def print_table():
    headers = ["figure", "unit", "netspec", "reference", "ratio", "target", "met"]
    body = []
    section = None
    for r in rows:
        if r["section"] != section:
            section = r["section"]
            body.append(None)
            body.append([f"-- {section}", "", "", "", "", "", ""])
        ref = fmt(r["reference"], r["unit"])
        if r["reference_name"] and r["reference"] is not None:
            ref = f"{ref} {r['reference_name']}"
        elif r["reference_name"]:
            ref = f"- ({r['reference_name']})"
        body.append([r["figure"] + (" *" if r["note"] else ""), r["unit"], fmt(r["netspec"], r["unit"]), ref,
                     "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
                     r["target"] or "",
                     "" if r["met"] is None else ("yes" if r["met"] else "NO")])
    widths = [max(len(h), *(len(b[i]) for b in body if b)) for i, h in enumerate(headers)]
    align = ["<", "<", ">", ">", ">", "<", "<"]

    def line(cells):
        return "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths)).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for b in body:
        if b is None:
            continue
        if b[0].startswith("-- "):
            print(b[0])
        else:
            print(line(b))


# ---- main ----------------------------------------------------------------------------------

def median_of(results, key):
    vals = [r[key] for r in results if r]
    return statistics.median(vals) if vals else None


def main():
    started = time.time()
    if not os.access(NETSPEC, os.X_OK):
        raise SystemExit(f"bench: no {NETSPEC}: build first (scripts/build.sh release), or run `make bench` "
                         "in a build directory")
    os.makedirs(WORK, exist_ok=True)
    load_before = loadavg()
    busy_before = busiest_processes()
    cores = os.cpu_count()
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            cpu = m.group(1) if m else cpu
    except OSError:
        pass
    say(f"bench: {'QUICK (smoke test) ' if QUICK else ''}run on {cpu}, {cores} cores, load {load_before}; "
        f"logs in {WORK}/logs")
    if os.environ.get("BENCH_SANITIZERS", "").strip():
        say("WARNING: this build has sanitizers on (" + os.environ["BENCH_SANITIZERS"].strip() +
            "): netspec's figures are meaningless; run make bench in a release build")
    if load_before and load_before[0] > 0.5:
        say(f"WARNING: the machine is busy (load {load_before[0]:.2f}): figures will be noisy; "
            "the ratios still compare runs made side by side")
    threads_list = [1, 2] if (cores or 1) >= 2 else [1]
    if len(threads_list) == 1:
        skip("2-thread figures", f"this machine has {cores} core")

    # Probes and tools first, so a missing reference is reported before the long part.
    torch_python, torch_version = find_torch_python()
    if not torch_python:
        skip("every PyTorch figure", torch_version)
        torch_version = None
    fma_bin, why = compile_c("fma_peak", ["-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra"] + OPENMP +
                             [os.path.join(SRC, "bench", "fma_peak.c"), "-lm"])
    if not fma_bin:
        skip("FMA peak", "bench/fma_peak.c does not compile: " + why)
    rt_bin, why = compile_c("runtime_infer", ["-std=c11", "-O2", "-Wall", "-Wextra"] + CPPFLAGS + OPENMP +
                            SANITIZERS + [os.path.join(SRC, "bench", "runtime_infer.c")] + LIBS)
    if not rt_bin:
        failures.append("bench/runtime_infer.c does not build against libnetspec.a: " + why)
    blas_cflags, blas_libs = openblas_flags()
    obc_bin, why = compile_c("openblas_core", ["-std=c11", "-D_GNU_SOURCE", "-O2"] + blas_cflags +
                             [os.path.join(SRC, "bench", "openblas_core.c")] + blas_libs)
    gemm_bin = None
    if not obc_bin:
        skip("SGEMM against OpenBLAS", "cannot build against OpenBLAS (apt-get install libopenblas-dev): " + why)
    else:
        gemm_bin, why = compile_c("bench_gemm", ["-std=c11", "-O2"] + CPPFLAGS + OPENMP + SANITIZERS + blas_cflags +
                                  [os.path.join(SRC, "bench", "bench_gemm.c")] + LIBS + blas_libs)
        if not gemm_bin:
            skip("SGEMM against OpenBLAS", "bench/bench_gemm.c does not build: " + why)

    # FMA peak.
    fma = None
    if fma_bin:
        status, out, err, _, _ = run("fma_peak", [fma_bin, P["fma_iterations"]])
        if status == 0:
            fma = last_json_line(out)
            raw["fma_peak"] = fma
            say(f"FMA peak: {fma['best']} {fma['peak_1t']:.1f} GFLOP/s on 1 thread, {fma['peak_2t']:.1f} on 2")
        else:
            skip("FMA peak", f"fma_peak exit {status}: {first_lines(err)}")

    # Training, netspec and PyTorch interleaved so that a burst of load hits both sides.
    train = {m: {("netspec", t): [] for t in threads_list} | {("torch", t): [] for t in threads_list}
             for m in ("cnn", "mlp")}
    for rep in range(P["repeats"]):
        for m in ("cnn", "mlp"):
            images = P[f"{m}_images"]
            for t in threads_list:
                r = netspec_train(m, t, images, f"t{t}-r{rep}")
                train[m][("netspec", t)].append(r)
                if r:
                    say(f"netspec {m} training, {t} thread(s), repeat {rep + 1}: {r['img_s']:.0f} img/s")
                if torch_python:
                    r = torch_run(torch_python, f"train-{m}-t{t}-r{rep}", ["train", m, str(t), str(images)])
                    train[m][("torch", t)].append(r)
                    if r:
                        say(f"PyTorch {m} training, {t} thread(s), repeat {rep + 1}: {r['img_s']:.0f} img/s "
                            f"(torch reports {r['threads']} threads)")
    raw["training"] = {m: {f"{side}_{t}t": v for (side, t), v in d.items()} for m, d in train.items()}

    # Busy machine: 2-thread CNN training beside one process spinning on a core.
    busy = []
    if 2 in threads_list:
        for rep in range(P["repeats"]):
            spinner = subprocess.Popen(["sh", "-c", "while :; do :; done"])
            try:
                time.sleep(0.2)
                # The default thread count (auto = the 2 cores here), as a user runs it.
                r = netspec_train("cnn", "auto", P["cnn_images"], f"busy-auto-r{rep}")
            finally:
                spinner.send_signal(signal.SIGKILL)
                spinner.wait()
            busy.append(r)
            if r:
                say(f"netspec cnn training, threads auto (2 cores) beside a busy process, repeat {rep + 1}: "
                    f"{r['img_s']:.0f} img/s")
    raw["busy_cnn_2t"] = busy

    # Peak RSS of training the CNN on the whole data set (loading included: that is the peak).
    rss_ns = rss_torch = None
    run_dir = os.path.join(WORK, "runs", "cnn-rss")
    shutil.rmtree(run_dir, ignore_errors=True)
    status, out, err, rss, _ = run("netspec-rss-cnn", [NETSPEC, "train", os.path.join(SRC, "bench", "cnn.yaml"), "-o",
                                                      run_dir, "--threads", 1, "--stop-after", P["rss_batches"]])
    if status == 0:
        rss_ns = rss / 1024
        say(f"netspec cnn training peak RSS: {rss_ns:.0f} MiB")
    else:
        failures.append(f"netspec train cnn for RSS: exit {status}: {first_lines(err)}")
    if torch_python:
        r = torch_run(torch_python, "rss-cnn", ["rss", "cnn", str(P["rss_batches"])])
        if r:
            rss_torch = r["rss_kib"] / 1024
            say(f"PyTorch cnn training peak RSS: {rss_torch:.0f} MiB")
    raw["rss_mib"] = {"netspec": rss_ns, "torch": rss_torch, "batches": P["rss_batches"],
                      "how": "ru_maxrss of the process (wait4): whole training file loaded, 1 thread"}

    # Inference: the runtime, the emitted C at two optimisation levels, PyTorch.
    infer = {}
    ir = [str(P["infer_batch_reps"]), str(P["latency_reps"])]
    for m in ("cnn", "mlp"):
        trained = next((r for r in train[m][("netspec", 1)] if r), None)
        if not trained:
            continue
        src_dir = trained["run_dir"]
        if rt_bin:
            for t in threads_list:
                status, out, err, _, _ = run(f"runtime-infer-{m}-t{t}", [rt_bin, src_dir, t] + ir)
                if status == 0:
                    infer[(m, "runtime", t)] = last_json_line(out)
                else:
                    failures.append(f"runtime_infer {m} {t} threads: exit {status}: {first_lines(err)}")
        emit_dir = os.path.join(WORK, f"emit-{m}")
        shutil.rmtree(emit_dir, ignore_errors=True)
        status, out, err, _, _ = run(f"netspec-emit-{m}", [NETSPEC, "emit", src_dir, "-o", emit_dir, "--prefix",
                                                           "bench_model"])
        if status != 0:
            failures.append(f"netspec emit {m}: exit {status}: {first_lines(err)}")
        else:
            for level, flags in (("O2", ["-O2"]), ("O3native", ["-O3", "-march=native"])):
                exe = build_emitted(m, emit_dir, level, flags)
                if not exe:
                    continue
                for t in threads_list:
                    status, out, err, _, _ = run(f"emitted-infer-{m}-{level}-t{t}", [exe, t] + ir)
                    if status == 0:
                        infer[(m, "emitted_" + level, t)] = last_json_line(out)
                    else:
                        failures.append(f"emitted C {m} {level} {t} threads: exit {status}: {first_lines(err)}")
        if torch_python:
            for t in threads_list:
                r = torch_run(torch_python, f"infer-{m}-t{t}", ["infer", m, str(t)] + ir)
                if r:
                    infer[(m, "torch", t)] = r
        say(f"inference {m}: done")
    raw["inference"] = {f"{m}_{who}_{t}t": v for (m, who, t), v in infer.items()}

    # SGEMM against OpenBLAS, with the fastest OpenBLAS kernel set this CPU can run.
    gemm = {}
    openblas = None
    if obc_bin:
        # Round-robin, best of the rounds per kernel set: a burst of load then slows one
        # round of every candidate instead of deciding the choice.
        probes = {}
        for rnd in range(P["openblas_probe_rounds"]):
            for core in ("", "SkylakeX", "Haswell", "Zen"):
                env = {"OPENBLAS_CORETYPE": core} if core else {}
                status, out, err, _, _ = run(f"openblas-core-{core or 'auto'}-{rnd}", [obc_bin, P["openblas_probe_reps"]],
                                             env=env | {"OPENBLAS_NUM_THREADS": "1"})
                if status == 0:
                    r = last_json_line(out)
                    key = core or "auto"
                    if key not in probes or r["gflops"] > probes[key]["gflops"]:
                        probes[key] = r
        if probes:
            best = max(probes, key=lambda k: probes[k]["gflops"])
            openblas = {"chosen": best, "core": probes[best]["core"], "auto_detected": probes.get("auto", {}).get("core"),
                        "config": probes[best]["config"], "probes": probes}
            say(f"OpenBLAS kernels: {openblas['core']} (OPENBLAS_CORETYPE={'unset' if best == 'auto' else best}; "
                f"auto-detection picks {openblas['auto_detected']}; 512^3 SGEMM on 1 thread, GFLOP/s: " +
                ", ".join(f"{k}={v['core']} {v['gflops']:.1f}" for k, v in probes.items()) + ")")
        raw["openblas"] = openblas
    if gemm_bin and openblas:
        env = {} if openblas["chosen"] == "auto" else {"OPENBLAS_CORETYPE": openblas["chosen"]}
        for t in P["gemm_threads"]:
            if t not in threads_list:
                continue
            gemm[t] = run_gemm(gemm_bin, t, env | {"OPENBLAS_NUM_THREADS": str(t)})
    raw["sgemm"] = {f"{t}t": v for t, v in gemm.items()}

    load_after = loadavg()

    # ---- the table ----
    for m, label in (("cnn", "CNN"), ("mlp", "MLP")):
        for t in threads_list:
            ours = median_of(train[m][("netspec", t)], "img_s")
            theirs = median_of(train[m][("torch", t)], "img_s") if torch_python else None
            add_row("training (one pass, batch 64, Adam)", f"{label} training, {t} thread{'s' * (t > 1)}", ours,
                    theirs, "img/s", (">=", 2.5), reference="PyTorch" if torch_python else "PyTorch missing")
    peak1 = fma["peak_1t"] if fma else None
    peak2 = fma["peak_2t"] if fma else None
    cnn1 = median_of(train["cnn"][("netspec", 1)], "img_s")
    cnn2 = median_of(train["cnn"][("netspec", 2)], "img_s") if 2 in threads_list else None
    if fma:
        add_row("FMA peak (register-only probe)", f"FMA peak, 1 thread ({fma['best']})", peak1, None, "GFLOP/s")
        if peak2:
            add_row("FMA peak (register-only probe)", f"FMA peak, 2 threads ({fma['best']})", peak2, peak1,
                    "GFLOP/s", reference="1-thread")
    gf = lambda ips: None if ips is None else ips * FLOPS_TRAIN["cnn"] / 1e9  # noqa: E731
    add_row("FMA peak (register-only probe)", "CNN training, 1 thread / 1-thread peak", gf(cnn1), peak1, "GFLOP/s",
            (">=", 0.5), reference="peak" if fma else "FMA peak missing")
    if cnn2 is not None:
        add_row("FMA peak (register-only probe)", "CNN training, 2 threads / 2-thread peak", gf(cnn2), peak2,
                "GFLOP/s", reference="peak" if fma else "FMA peak missing")
    ref_t = "PyTorch" if torch_python else "PyTorch missing"
    for m, label in (("cnn", "CNN"), ("mlp", "MLP")):
        for who, name in (("runtime", "runtime"), ("emitted_O2", "emitted C -O2"),
                          ("emitted_O3native", "emitted C -O3 -march=native")):
            for t in threads_list:
                r, p = infer.get((m, who, t)), infer.get((m, "torch", t))
                if r is None and (m, who, 1) not in infer:
                    continue
                note = None
                if who.startswith("emitted") and r and "per image" in r.get("batch_entry", ""):
                    note = "no batch entry point: 256 one-image calls"
                add_row(f"{label} inference, batch 256", f"{label} {name}, {t} thread{'s' * (t > 1)}",
                        r and r["batch_img_s"], p and p["batch_img_s"], "img/s", reference=ref_t, note=note)
        for who, name, threads in (("runtime", "runtime", threads_list), ("emitted_O2", "emitted C -O2", [1]),
                                   ("emitted_O3native", "emitted C -O3 -march=native", [1])):
            for t in threads:
                r, p = infer.get((m, who, t)), infer.get((m, "torch", t))
                if r is None:
                    continue
                add_row(f"{label} one-image latency (median)", f"{label} {name}, {t} thread{'s' * (t > 1)}",
                        r["latency_us"], p and p["latency_us"], "us", reference=ref_t)
        if m == "cnn" and (m, "emitted_O3native", 1) in infer and peak1:
            ideal_us = FLOPS_FORWARD["cnn"] / (peak1 * 1e9) * 1e6
            add_row("CNN one-image latency (median)", "CNN emitted -O3 native / its FLOPs at 1-thread peak",
                    infer[(m, "emitted_O3native", 1)]["latency_us"], ideal_us, "us", ("<=", 2.0),
                    reference="at peak")
    for t, res in sorted(gemm.items()):
        if isinstance(res, str):
            skip(f"SGEMM, {t} thread(s)", res)
            continue
        for shape in res:
            # The target is the CNN's shapes at 1 thread; the square one is a landmark.
            cnn_shape = not shape["shape"].startswith("square")
            add_row(f"SGEMM vs OpenBLAS {openblas['core']}, {t} thread{'s' * (t > 1)}", shape["shape"],
                    shape["netspec"], shape["openblas"], "GFLOP/s", (">=", 1.0) if t == 1 and cnn_shape else None,
                    reference="OpenBLAS")
    add_row("peak RSS, training the CNN (whole training file, 1 thread)", "CNN training peak RSS", rss_ns, rss_torch,
            "MiB", ("<=", 0.25), reference="PyTorch" if torch_python else "PyTorch missing")
    if 2 in threads_list:
        add_row("busy machine (one spinning process beside training)", "CNN training, threads auto (2 cores), busy / 1 thread quiet",
                median_of(busy, "img_s"), cnn1, "img/s", (">=", 0.9), reference="quiet 1-thread")

    print()
    print(f"netspec benchmark{' (QUICK: smoke test, figures are rough)' if QUICK else ''}: {cpu}, {cores} cores; "
          f"load {load_before} before, {load_after} after")
    print(f"training: CNN {P['cnn_images']} and MLP {P['mlp_images']} images (batch {BATCH}), median of {P['repeats']}; "
          f"training FLOPs = 3 x forward = 6 x MACs: CNN {FLOPS_TRAIN['cnn'] / 1e6:.2f} MFLOP/image, "
          f"MLP {FLOPS_TRAIN['mlp'] / 1e6:.3f}")
    print("ratio = netspec / reference; met: the target from the performance issue")
    print()
    print_table()
    notes = sorted({r["note"] for r in rows if r["note"]})
    for n in notes:
        print(f"* {n}")
    if skipped or failures:
        print()
    for s in skipped:
        print(f"SKIPPED {s['what']}: {s['why']}")
    for f in failures:
        print(f"FAILED {f}")
    result = {
        "version": 1, "quick": QUICK, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": time.time() - started,
        "machine": {"cpu": cpu, "cores": cores, "load_before": load_before, "load_after": load_after,
                    "busiest_processes_before": busy_before,
                    "platform": platform.platform()},
        "versions": {"torch": torch_version, "openblas": openblas and openblas["config"],
                     "netspec": subprocess.run([NETSPEC, "--version"], capture_output=True, text=True).stdout.strip()},
        "parameters": P,
        "flops": {"cnn_macs": CNN_MACS, "mlp_macs": MLP_MACS, "forward": FLOPS_FORWARD, "training": FLOPS_TRAIN,
                  "formula": "forward = 2 x MACs; training = 3 x forward"},
        "rows": rows, "skipped": skipped, "failures": failures, "raw": raw,
    }
    os.makedirs(os.path.dirname(os.path.abspath(JSON_PATH)), exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=os.path.dirname(os.path.abspath(JSON_PATH)), delete=False) as f:
        json.dump(result, f, indent=1, default=str)
        f.write("\n")
    os.replace(f.name, JSON_PATH)
    print(f"\nwritten: {JSON_PATH} ({time.time() - started:.0f} s)")
    return 1 if failures else 0


def build_emitted(m, emit_dir, level, flags):
    """The emitted file compiled as its header says (C99, no FP contraction), linked with
    bench/emitted_infer.c, using the batch entry point when the header has one we can call."""
    header = open(os.path.join(emit_dir, "bench_model.h")).read()
    obj = os.path.join(emit_dir, f"bench_model-{level}.o")
    status, _, err, _, _ = run(f"cc-emitted-{m}-{level}", CC + ["-std=c99"] + flags + ["-ffp-contract=off", "-c",
                               os.path.join(emit_dir, "bench_model.c"), "-o", obj])
    if status != 0:
        failures.append(f"the emitted C ({m}, {level}) does not compile: {first_lines(err)}")
        return None
    driver = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-I" + emit_dir] + OPENMP + \
        [os.path.join(SRC, "bench", "emitted_infer.c"), obj, "-lm"]
    batch_fns = re.findall(r"\b(bench_model_\w*batch\w*)\s*\(", header)
    strict = ["-Werror=incompatible-pointer-types", "-Werror=int-conversion", "-Werror=implicit-function-declaration",
              "-Werror=pointer-sign"]
    for fn in batch_fns:
        for form in (1, 2):
            exe, why = compile_c(f"emitted_infer-{m}-{level}", strict + [f"-DBENCH_BATCH_FN={fn}",
                                                                          f"-DBENCH_BATCH_FORM={form}"] + driver)
            if exe:
                return exe
    if batch_fns:
        skip(f"emitted batch entry point ({m}, {level})",
             f"{', '.join(batch_fns)} in the header takes arguments bench/emitted_infer.c does not know "
             "(it tries (n, x, logits, workspace) and (x, n, logits, workspace)): timed as one-image calls")
    exe, why = compile_c(f"emitted_infer-{m}-{level}", driver)
    if not exe:
        failures.append(f"bench/emitted_infer.c ({m}, {level}) does not build: {why}")
    return exe


def run_gemm(gemm_bin, threads, env):
    """bench_gemm's rows as [{"shape", "netspec", "openblas"}], or a string saying why not.
    Uses --json when bench_gemm.c knows it, else reads its text table."""
    src = open(os.path.join(SRC, "bench", "bench_gemm.c")).read()
    if "--json" in src:
        # One JSON object per shape, one per line.
        status, out, err, _, _ = run(f"bench_gemm-json-t{threads}", [gemm_bin, "--json", "--threads", threads],
                                     env=env)
        if status == 0:
            try:
                return gemm_rows_from_json([json.loads(l) for l in out.splitlines() if l.strip().startswith("{")])
            except (ValueError, KeyError, IndexError, TypeError, StopIteration):
                pass
        return f"bench_gemm --json exit {status}: {first_lines(err or out)}"
    status, out, err, _, _ = run(f"bench_gemm-t{threads}", [gemm_bin, threads], env=env)
    if status != 0:
        return f"bench_gemm exit {status}: {first_lines(err)}"
    rows_ = []
    for line in out.splitlines():
        m = re.match(r"^(.*?)\s+([0-9.]+)\s*GF\s+([0-9.]+)\s*GF\s+([0-9.]+)x\s*$", line)
        if m:
            rows_.append({"shape": m.group(1).strip(), "netspec": float(m.group(2)), "openblas": float(m.group(3))})
    return rows_ or "bench_gemm printed no row this harness can read: " + first_lines(out)


def gemm_rows_from_json(doc):
    """Reads bench_gemm --json without knowing its exact layout: a list of per-shape objects
    (or one under a key), each with a name and netspec and OpenBLAS GFLOP/s somewhere in its
    keys."""
    items = doc
    if isinstance(doc, dict):
        items = next(v for v in doc.values() if isinstance(v, list))
    out = []
    for it in items:
        name = it.get("shape") or it.get("name") or it.get("what")
        if isinstance(name, (list, dict)) or name is None:
            name = " x ".join(str(it[k]) for k in ("m", "n", "k") if k in it)
        ours = next(v for k, v in it.items() if re.search(r"netspec|ours", k, re.I) and isinstance(v, (int, float)))
        theirs = next(v for k, v in it.items() if re.search(r"blas", k, re.I) and isinstance(v, (int, float)))
        out.append({"shape": str(name), "netspec": float(ours), "openblas": float(theirs)})
    if not out:
        raise ValueError("no rows")
    return out


if __name__ == "__main__":
    sys.exit(main())
