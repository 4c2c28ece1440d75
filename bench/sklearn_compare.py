#!/usr/bin/python3
"""netspec beside scikit-learn on the tabular data sets Debian's python3-sklearn ships.

    bench/run.sh sklearn              (builds first)
    /usr/bin/python3 bench/sklearn_compare.py --netspec build/release/netspec [--json] [--keep DIR]

For iris, wine, breast_cancer and digits (classification) and diabetes (regression), read from
the files python3-sklearn installs (sklearn.datasets.load_*: nothing is downloaded), one
stratified split (75% train, 25% test, random_state 0) is written as train.csv and test.csv
with named columns and class names as labels. netspec trains on train.csv with
`normalize: standardize` and no validation hold-out, and `netspec eval` reports the test
split; scikit-learn fits StandardScaler + LogisticRegression and StandardScaler +
MLPClassifier (one hidden layer of 64, like netspec's) on the same rows, or LinearRegression
for diabetes, and scores the same test rows. The targets: netspec's test accuracy at least
the better of the two classifiers; its test RMSE within 5% of LinearRegression's. Exit status 1
when a target is missed, 2 when scikit-learn is missing.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from sklearn import datasets
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.metrics import accuracy_score, mean_squared_error
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
except ImportError as e:  # say why, loudly: this comparison cannot run without them
    print(f"sklearn_compare: scikit-learn is missing ({e}); install python3-sklearn "
          "(apt-get install python3-sklearn) and run it with /usr/bin/python3", file=sys.stderr)
    sys.exit(2)

# name, loader, task, netspec model and training (the same for every classification set)
CLASSIFIER = """model:
  layers:
    - dense: {units: 64, activation: relu}
    - dense: {units: auto}
loss: cross_entropy
optimizer: {type: adamw, lr: 0.005, weight_decay: 0.0001}
schedule: {type: cosine}
train: {epochs: 150, batch_size: 16, checkpoint_every: 0}
"""
REGRESSOR = """model:
  layers:
    - dense: {units: 1}
loss: mse
optimizer: {type: adam, lr: 0.5}
schedule: {type: cosine}
train: {epochs: 300, batch_size: 16, checkpoint_every: 0}
"""
SETS = [
    ("iris", datasets.load_iris, "classification"),
    ("wine", datasets.load_wine, "classification"),
    ("breast_cancer", datasets.load_breast_cancer, "classification"),
    ("digits", datasets.load_digits, "classification"),
    ("diabetes", datasets.load_diabetes, "regression"),
]


def column_names(bunch, n):
    names = getattr(bunch, "feature_names", None)
    if names is None or len(names) != n:
        names = [f"x{i}" for i in range(n)]
    return [str(c).replace(" ", "_") for c in names]


def write_csv(path, header, x, y):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row, label in zip(x, y):
            w.writerow([repr(float(v)) for v in row] + [label])


def run(netspec, args, cwd):
    r = subprocess.run([netspec] + args, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"sklearn_compare: netspec {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def compare(netspec, name, loader, task, work):
    bunch = loader()
    x, y = bunch.data.astype(np.float64), bunch.target
    classify = task == "classification"
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=0,
                                          stratify=y if classify else None)
    folder = os.path.join(work, name)
    os.makedirs(folder, exist_ok=True)
    header = column_names(bunch, x.shape[1]) + ["target"]
    if classify:
        classes = [str(c) for c in getattr(bunch, "target_names", sorted(set(y)))]
        label = lambda v: f"class_{classes[int(v)]}"  # names, as a person's file has them
    else:
        label = lambda v: repr(float(v))
    write_csv(os.path.join(folder, "train.csv"), header, xtr, [label(v) for v in ytr])
    write_csv(os.path.join(folder, "test.csv"), header, xte, [label(v) for v in yte])
    spec = (f"version: 1\nname: {name}\nseed: 1\ndata:\n  format: csv\n  train: train.csv\n"
            f"  test: test.csv\n  label_column: target\n  validation: 0\n  normalize: standardize\n"
            + (CLASSIFIER if classify else REGRESSOR))
    with open(os.path.join(folder, "spec.yaml"), "w") as f:
        f.write(spec)
    run(netspec, ["train", "spec.yaml", "-o", "run"], folder)
    report = json.loads(run(netspec, ["eval", "run", "--json"], folder))
    row = {"data": name, "task": task, "train_rows": len(ytr), "test_rows": len(yte),
           "features": x.shape[1]}
    if classify:
        lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=10000)).fit(xtr, ytr)
        mlp = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), max_iter=3000,
                                                            random_state=0)).fit(xtr, ytr)
        row.update(metric="accuracy", netspec=report["accuracy"],
                   logistic_regression=accuracy_score(yte, lr.predict(xte)),
                   mlp_classifier=accuracy_score(yte, mlp.predict(xte)))
        row["reference"] = max(row["logistic_regression"], row["mlp_classifier"])
        row["target"] = "netspec >= the better of the two"
        row["met"] = row["netspec"] >= row["reference"]
    else:
        ols = LinearRegression().fit(xtr, ytr)
        row.update(metric="rmse", netspec=report["rmse"],
                   linear_regression=float(np.sqrt(mean_squared_error(yte, ols.predict(xte)))))
        row["reference"] = row["linear_regression"]
        row["target"] = "netspec <= 1.05 x LinearRegression"
        row["met"] = row["netspec"] <= 1.05 * row["reference"]
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--netspec", default=os.path.join(os.path.dirname(__file__), "..", "build", "release",
                                                       "netspec"))
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep the files and runs")
    a = ap.parse_args()
    netspec = os.path.abspath(a.netspec)
    work = a.keep or tempfile.mkdtemp(prefix="netspec-sklearn-")
    rows = [compare(netspec, *s, work) for s in SETS]
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'data':<14} {'metric':<9} {'netspec':>8} {'LogReg':>8} {'MLP':>8} {'LinReg':>8}  target met")
        for r in rows:
            cell = lambda k: f"{r[k]:8.4f}" if k in r else f"{'-':>8}"
            print(f"{r['data']:<14} {r['metric']:<9} {r['netspec']:8.4f} {cell('logistic_regression')} "
                  f"{cell('mlp_classifier')} {cell('linear_regression')}  {'yes' if r['met'] else 'NO'}")
        print("targets: accuracy >= the better of LogisticRegression and MLPClassifier; "
              "RMSE <= 1.05 x LinearRegression; the same 75/25 split for all")
    if not a.keep:
        subprocess.run(["rm", "-rf", work])
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
