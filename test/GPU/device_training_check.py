"""Checks a dry run of device_training.py (test/GPU/device-training-dry-run.test):
its MLP BM6 losses against Runner(device="cpu") on the same 640 images,
seed and batch order, bit for bit; and its FP32 and PyTorch runs against
each other (the same model, initial weights and batches: the same losses
up to float32 rounding)."""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import torch  # noqa: E402
from bm.train import data, models  # noqa: E402
from bm.train.runner import Runner  # noqa: E402

results = {r["run"]: r for r in json.load(open(sys.argv[1]))["results"]}
x, y = data.load("train", limit=640)
torch.manual_seed(0)
r = Runner(models.build("mlp"), (64, 1, 28, 28), fmt="bm6", seed=0, lr=0.05,
           momentum=0.9, weight_decay=5e-4)
rng = np.random.default_rng(0)
losses = [r.step(xb, yb) for xb, yb in data.batches(x, y, 64, rng)]
got = results["mlp bm6"]["losses"]
assert len(got) == len(losses), (len(got), len(losses))
for i, (g, w) in enumerate(zip(got, losses)):
    assert np.float32(g) == np.float32(w), (i, g, w)
print("mlp bm6: %d losses equal the CPU runner's" % len(got))
fp32, ref = results["mlp fp32"]["losses"], results["mlp torch"]["losses"]
assert np.allclose(fp32, ref, rtol=1e-4), (fp32, ref)
print("mlp fp32: within 1e-4 of PyTorch's step")
