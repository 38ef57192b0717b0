"""DPO step time of the trainer against the bare minimum, on a small SD1.5-architecture pipeline (CPU).

    python benchmarks/dpo_step.py [--steps 20] [--batch 4] [--width 64]

Three measurements on the same tensors, in one run:
  bare     policy forward+backward on 2B + reference forward on 2B + AdamW step (pre-noised inputs)
  trainer  sail_bench's train_preference (cached latents and text embeddings), its loop time only
  vae      the bare step plus VAE-encoding the 2B images every step, as the reference code does
and prints trainer/bare and vae/bare. Ratios, not seconds, are the result (one machine, one run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sail_bench.backends.sd15 import SD15Backend  # noqa: E402
from sail_bench.config import TrainConfig  # noqa: E402
from sail_bench.data.pairs import PairSet  # noqa: E402
from sail_bench.methods.trainer import train_preference  # noqa: E402
from tests.tiny_sd import make_tiny_sd15  # noqa: E402


def bare_steps(backend, x0, cond, steps: int, beta: float, with_vae: bool, images=None) -> float:
    policy = backend.load_unet(None).train()
    reference = backend.load_unet(None).requires_grad_(False).eval()
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-6)
    abar = backend.alphas_cumprod()
    b = x0.shape[0] // 2
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        if with_vae:  # the reference implementation encodes every batch
            with torch.no_grad():
                x0 = backend.vae.encode(images).latent_dist.sample() * backend.vae.config.scaling_factor
        noise = torch.randn(b, *x0.shape[1:], generator=gen).repeat(2, 1, 1, 1)
        t = torch.randint(0, 1000, (b,), generator=gen).repeat(2)
        a = abar[t].view(-1, 1, 1, 1)
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
        pred = backend.predict_noise(policy, x_t, t, cond)
        with torch.no_grad():
            ref = backend.predict_noise(reference, x_t, t, cond)
        mse = (pred - noise).pow(2).mean(dim=(1, 2, 3))
        rmse = (ref - noise).pow(2).mean(dim=(1, 2, 3))
        mw, ml = mse.chunk(2)
        rw, rl = rmse.chunk(2)
        loss = -F.logsigmoid(-0.5 * beta * ((mw - ml) - (rw - rl))).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=4, help="pairs per step (B)")
    ap.add_argument("--latent", type=int, default=32, help="latent side (images are twice as large)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating repeats; medians are reported")
    args = ap.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        backend = SD15Backend(str(make_tiny_sd15(Path(tmp) / "sd15", sample_size=args.latent, widths=(64, 128))))
        B = args.batch
        images = torch.rand(2 * B, 3, backend.resolution, backend.resolution) * 2 - 1
        with torch.no_grad():
            x0 = backend.vae.encode(images).latent_dist.mean * backend.vae.config.scaling_factor
        prompts = [f"prompt {i}" for i in range(B)]
        cond = {k: v.repeat(2, *[1] * (v.ndim - 1)) for k, v in backend.encode_prompts(prompts).items()}
        pairs = PairSet(x0[:B], x0[B:], prompts, ["seed"] * B)
        cfg = TrainConfig(beta=5000, lr=1e-6, batch_size=B, steps=args.steps, warmup_steps=0)
        # warm-up of every path once, then the measured runs
        bare_steps(backend, x0, cond, 2, 5000, False)
        train_preference(backend, None, None, pairs, cfg.model_copy(update={"steps": 2}), 0, Path(tmp) / "w")
        times: dict[str, list[float]] = {"bare": [], "ours": [], "vae": []}
        for r in range(args.rounds):  # alternate, so drift in machine speed hits all three alike
            times["bare"].append(bare_steps(backend, x0, cond, args.steps, 5000, False))
            out = Path(tmp) / f"t{r}"
            times["ours"].append(train_preference(backend, None, None, pairs, cfg, 0, out)["loop_seconds"])
            times["vae"].append(bare_steps(backend, x0, cond, args.steps, 5000, True, images))
        bare, ours, vae = (sorted(v)[len(v) // 2] for v in (times["bare"], times["ours"], times["vae"]))
    print(f"{args.steps} steps, {B} pairs/step, latents {tuple(x0.shape[1:])}, torch threads {torch.get_num_threads()}")
    print(f"bare minimum     {bare / args.steps * 1000:8.1f} ms/step")
    print(f"sail-bench       {ours / args.steps * 1000:8.1f} ms/step   ratio {ours / bare:.3f}x bare")
    print(f"VAE every step   {vae / args.steps * 1000:8.1f} ms/step   ratio {vae / bare:.3f}x bare")


if __name__ == "__main__":
    main()
