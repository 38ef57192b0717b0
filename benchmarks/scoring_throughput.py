"""Scoring throughput of the four preference scorers, batched against one image at a time (CPU).

    python benchmarks/scoring_throughput.py [--images 64] [--batch 32] [--size 512] [--rounds 3]

Each scorer loads its tiny checkpoint from ``tests/fixtures/parity`` (the official formats, random weights)
once; the same images (``--size`` px, as a benchmark's generations are) are then scored with
``batch_size = --batch`` and with ``batch_size = 1``, alternating, ``--rounds`` times; medians. Prints
images/s for both and the ratio batched / one-by-one. Ratios, not seconds, are the result. The
checkpoints are tiny, so preprocessing (decode-free PIL/torchvision resizing) is a larger share here than
with the real ViT-H/L models, where batching matters more, not less.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sail_bench.metrics import build_metric  # noqa: E402

FIX = ROOT / "tests" / "fixtures" / "parity"
SHARED = Path(os.environ.get("SAIL_BENCH_SHARED", ROOT.parent / "shared"))
SCORERS = {
    "pickscore": {"model": str(FIX / "pickscore"), "processor": str(FIX / "pickscore")},
    "hpsv2": {"version": "v2.1", "weights": str(FIX / "hpsv2/HPS_tiny.pt"), "arch": str(FIX / "hpsv2/hps_tiny.json")},
    "imagereward": {"model": str(FIX / "imagereward"), "processor": str(FIX / "imagereward/tokenizer")},
    "aesthetics": {
        "model": str(FIX / "aesthetics"),
        "weights": str(SHARED / "data" / "sac+logos+ava1-l14-linearMSE.pth"),
    },
}


def timed(scorer, images, prompts, batch: int) -> float:
    scorer.batch_size = batch
    with contextlib.redirect_stderr(io.StringIO()):  # the scorers' progress bars would garble the table
        t0 = time.perf_counter()
        scorer.score(images, prompts)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    images = [
        Image.fromarray(rng.integers(0, 255, (args.size, args.size, 3), dtype=np.uint8)) for _ in range(args.images)
    ]
    prompts = [f"a photo of object number {i} on a table, detailed" for i in range(args.images)]
    print(
        f"{args.images} images of {args.size}px, batch {args.batch} vs 1, {args.rounds} rounds, {args.threads} threads"
    )
    print(f"{'metric':<12} {'batched img/s':>14} {'one-by-one img/s':>17} {'ratio':>6}")
    for name, options in SCORERS.items():
        scorer = build_metric(name, **options)
        scorer.score(images[:2], prompts[:2])  # load + warm up
        batched, single = [], []
        for _ in range(args.rounds):
            batched.append(timed(scorer, images, prompts, args.batch))
            single.append(timed(scorer, images, prompts, 1))
        b, s = args.images / np.median(batched), args.images / np.median(single)
        print(f"{name:<12} {b:>14.1f} {s:>17.1f} {b / s:>5.2f}x")


if __name__ == "__main__":
    main()
