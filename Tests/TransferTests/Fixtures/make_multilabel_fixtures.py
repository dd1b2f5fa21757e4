"""Makes multilabel.json: multi-label metrics on scores and targets made from seeds, with
scikit-learn's answers: `average_precision_score` per class and macro (mAP), the per-class
threshold that maximises F1 on `precision_recall_curve` (its first maximum, as np.argmax
takes it), and `f1_score` micro and macro at those thresholds and at 0.5; plus torch's
`binary_cross_entropy_with_logits` (mean) on the logits. One case has tied scores.

And the multi-label linear probe: on features and targets made from a seed, standardised by
column (population std), scikit-learn's `LogisticRegression` per class (lbfgs, C = 1/(l2·n), so
its objective is n·C times the mean binary cross-entropy + l2/2 ‖w‖²), fitted to 1e-12; its
probabilities on the training features.

    ~/.cache/graft/ref-venv/bin/python Tests/TransferTests/Fixtures/make_multilabel_fixtures.py

Pinned: torch==2.15.0, scikit-learn (the ref venv's).
"""
import json
import os

import numpy as np
import sklearn
import torch
from sklearn.metrics import average_precision_score, f1_score, precision_recall_curve

HERE = os.path.dirname(os.path.abspath(__file__))


def best_threshold(y, s):
    precision, recall, thresholds = precision_recall_curve(y, s)
    p, r = precision[:-1], recall[:-1]
    f1 = np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-300), 0)
    return float(thresholds[int(np.argmax(f1))])


def case(name, n, c, seed, ties=False):
    g = np.random.default_rng(seed)
    targets = (g.random((n, c)) < g.uniform(0.15, 0.5, size=c)).astype(np.int64)
    targets[0] = 1  # every class has a positive
    logits = g.normal(size=(n, c)) + 1.6 * targets
    if ties:
        logits = np.round(logits * 2) / 2
    scores = 1 / (1 + np.exp(-logits))
    thresholds = [best_threshold(targets[:, k], scores[:, k]) for k in range(c)]
    at = (scores >= np.array(thresholds)).astype(np.int64)
    half = (scores >= 0.5).astype(np.int64)
    return {"name": name, "classes": c, "logits": logits.flatten().tolist(), "targets": targets.flatten().tolist(),
            "ap": [float(average_precision_score(targets[:, k], scores[:, k])) for k in range(c)],
            "map": float(average_precision_score(targets, scores, average="macro")),
            "thresholds": thresholds,
            "f1_micro": float(f1_score(targets, at, average="micro", zero_division=0)),
            "f1_macro": float(f1_score(targets, at, average="macro", zero_division=0)),
            "f1_micro_half": float(f1_score(targets, half, average="micro", zero_division=0)),
            "f1_macro_half": float(f1_score(targets, half, average="macro", zero_division=0)),
            "bce": float(torch.nn.functional.binary_cross_entropy_with_logits(
                torch.tensor(logits), torch.tensor(targets, dtype=torch.float64)))}


def probe(n=60, d=8, c=3, l2=0.05, seed=3):
    from sklearn.linear_model import LogisticRegression
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, d)) * g.uniform(0.5, 3, size=d) + g.normal(size=d)
    w = g.normal(size=(d, c))
    targets = ((x - x.mean(0)) @ w / 3 + g.normal(size=(n, c)) > 0).astype(np.int64)
    z = (x - x.mean(0)) / x.std(0)
    probabilities = np.stack([LogisticRegression(C=1 / (l2 * n), tol=1e-12, max_iter=100000)
                              .fit(z, targets[:, k]).predict_proba(z)[:, 1] for k in range(c)], axis=1)
    return {"features": x.flatten().tolist(), "targets": targets.flatten().tolist(), "n": n, "d": d, "classes": c,
            "l2": l2, "probabilities": probabilities.flatten().tolist()}


cases = [case("random", 120, 6, 1), case("tied scores", 90, 4, 2, ties=True)]
with open(os.path.join(HERE, "multilabel.json"), "w") as f:
    json.dump({"sklearn": sklearn.__version__, "cases": cases, "probe": probe()}, f)
for c in cases:
    print(c["name"], "mAP", round(c["map"], 4), "F1 micro", round(c["f1_micro"], 4))
