#!/usr/bin/env python3
"""Training throughput: netspec against PyTorch (Debian's python3-torch) on the same models,
data, batch size and thread count, in one run. Prints images/s and GFLOP/s (training counted
as 3x the forward FLOPs that `netspec check` reports) side by side, with the ratio.

usage: bench_train.py NETSPEC_BIN [THREADS]
"""
import gzip, os, re, subprocess, sys, tempfile, time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
DATA = "/usr/share/datasets/fashion-mnist"


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def netspec_run(binary, spec, threads):
    """One epoch; returns (images/s of the epoch, forward FLOPs per image)."""
    check = subprocess.run([binary, "check", spec], capture_output=True, text=True, check=True).stdout
    flops = float(check.strip().splitlines()[-1].split()[-1].replace(",", ""))
    with tempfile.TemporaryDirectory() as run:
        out = subprocess.run([binary, "train", spec, "--set", "train.epochs=1", "-o", run + "/r",
                              "--threads", str(threads)], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"([0-9.]+) img/s", out).group(1))
    return rate, flops


def torch_model(name):
    if name == "fashion_mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10)), 128
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10)), 64


def torch_run(name, x, y, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, batch = torch_model(name)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n = 54000  # the training part netspec uses (validation 0.1 held out)
    perm = torch.randperm(len(x))[:n]
    model.train()
    t0 = time.perf_counter()
    for i in range(0, n, batch):
        idx_ = perm[i:i + batch]
        opt.zero_grad()
        loss = loss_fn(model(x[idx_]), y[idx_])
        loss.backward()
        opt.step()
    return n / (time.perf_counter() - t0)


def main():
    binary = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()
    x = torch.from_numpy(idx(f"{DATA}/train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255)
    y = torch.from_numpy(idx(f"{DATA}/train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    print(f"training throughput, one epoch of Fashion-MNIST (54000 images), {threads} threads")
    print(f"{'model':<14} {'netspec img/s':>14} {'GFLOP/s':>8} {'PyTorch img/s':>14} {'GFLOP/s':>8} {'ratio':>7}")
    for name in ("fashion_mlp", "fashion_cnn"):
        ours, flops = netspec_run(binary, f"{TOP}/specs/{name}.yaml", threads)
        theirs = torch_run(name, x, y, threads)
        gf = 3 * flops / 1e9
        print(f"{name:<14} {ours:>14.0f} {ours * gf:>8.1f} {theirs:>14.0f} {theirs * gf:>8.1f} {ours / theirs:>6.2f}x")


if __name__ == "__main__":
    main()
