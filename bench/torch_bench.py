"""The PyTorch side of `make bench` (bench/bench.py runs it, one measurement per process so
each gets its own thread setting and peak RSS): the same two networks as bench/cnn.yaml and
bench/mlp.yaml, the same data, batch size and optimizer.

usage (each prints one line of JSON):
  torch_bench.py train MODEL THREADS IMAGES      training images/s on the first IMAGES
                                                 training images, one pass, batch 64, Adam
  torch_bench.py infer MODEL THREADS BATCH_REPS LATENCY_REPS
                                                 inference images/s at batch 256 and the
                                                 latency of one image (medians)
  torch_bench.py rss MODEL BATCHES               load the whole training file (as netspec
                                                 does), train BATCHES batches on 1 thread:
                                                 the parent reads the peak RSS
MODEL is cnn or mlp. The caller sets OMP_WAIT_POLICY=passive and OPENBLAS_NUM_THREADS=1;
torch.set_num_threads(THREADS) is set here and the value torch reports back is printed.
"""
import gzip
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

DATA = os.environ.get("BENCH_DATA", "/usr/share/datasets/fashion-mnist")
BATCH = 64
INFER_BATCH = 256


def model(name):
    """The networks of bench/cnn.yaml and bench/mlp.yaml layer for layer."""
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    raise SystemExit(f"torch_bench.py: unknown model {name!r} (cnn or mlp)")


def read_idx(path, header):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


def images(split, count=None):
    x = read_idx(f"{DATA}/{split}-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    y = read_idx(f"{DATA}/{split}-labels-idx1-ubyte.gz", 8)
    if count is not None:
        x, y = x[:count], y[:count]
    # Scaled to [0, 1] in float32 up front, as netspec holds its data (data.normalize.scale).
    return torch.from_numpy(x.astype(np.float32) / 255), torch.from_numpy(y.astype(np.int64))


def train(net, x, y, batches=None):
    """One pass over x in a random order (the last batch may be short, as netspec's is).
    Returns the seconds of the loop alone: indexing the batch, forward, loss, backward, Adam."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n = len(x)
    perm = torch.randperm(n)
    net.train()
    steps = 0
    t0 = time.perf_counter()
    for i in range(0, n, BATCH):
        if batches is not None and steps >= batches:
            break
        rows = perm[i:i + BATCH]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x[rows]), y[rows])
        loss.backward()
        opt.step()
        steps += 1
    return time.perf_counter() - t0, steps


def median_seconds(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] if len(times) % 2 else 0.5 * (times[len(times) // 2 - 1] + times[len(times) // 2])


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    what, name = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    net = model(name)
    if what == "train":
        threads, count = int(sys.argv[3]), int(sys.argv[4])
        torch.set_num_threads(threads)
        x, y = images("train", count)
        seconds, steps = train(net, x, y)
        print(json.dumps({"threads": torch.get_num_threads(), "images": len(x), "batches": steps,
                          "seconds": seconds, "img_s": len(x) / seconds}))
    elif what == "infer":
        threads, batch_reps, latency_reps = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        torch.set_num_threads(threads)
        # Pixel-like values in [0, 1], as the C drivers use.
        x = (torch.arange(INFER_BATCH * 784, dtype=torch.int64) * 7919 % 256).float().div(255).reshape(-1, 1, 28, 28)
        one = x[:1].clone()
        net.eval()
        with torch.inference_mode():
            batch_s = median_seconds(lambda: net(x), batch_reps)
            one_s = median_seconds(lambda: net(one), latency_reps)
        print(json.dumps({"threads": torch.get_num_threads(), "batch": INFER_BATCH,
                          "batch_img_s": INFER_BATCH / batch_s, "latency_us": 1e6 * one_s}))
    elif what == "rss":
        batches = int(sys.argv[3])
        torch.set_num_threads(1)
        x, y = images("train")
        seconds, steps = train(net, x, y, batches)
        print(json.dumps({"threads": 1, "batches": steps, "held_images": len(x)}))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
