"""`sail-bench toy pretrain`: train the toy base model from scratch on procedurally drawn scenes.

The shipped checkpoint in ``sail_bench/toy/checkpoint`` was made by this command with its
defaults. Plain epsilon-prediction training with the prompt encoder learnt jointly; 10% of the
prompts are dropped to empty so the model can be sampled with classifier-free guidance.
"""

from __future__ import annotations

import copy
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..backends.toy import save_toy_checkpoint
from ..io import replace_dir
from .model import ToyPromptEncoder, new_toy_unet, toy_scheduler
from .world import all_prompts, sample_scenes, to_model_space


def pretrain(
    out_dir: Path,
    steps: int = 1600,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    empty_prob: float = 0.1,
    ema_decay: float = 0.995,
) -> dict:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    unet, encoder = new_toy_unet(), ToyPromptEncoder()
    ema = copy.deepcopy((unet, encoder))
    params = list(unet.parameters()) + list(encoder.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-2)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
    )
    noise_sched = toy_scheduler()
    abar = noise_sched.alphas_cumprod
    prompts = all_prompts()
    t0 = time.time()
    bar = tqdm(range(steps), desc="toy pretrain", unit="step")
    for step in bar:
        batch = [prompts[i] for i in rng.integers(0, len(prompts), batch_size)]
        x0 = to_model_space(sample_scenes(batch, rng))
        texts = ["" if rng.random() < empty_prob else p.text for p in batch]
        cond = encoder(ToyPromptEncoder.token_ids(texts))
        t = torch.randint(0, noise_sched.config.num_train_timesteps, (batch_size,))
        eps = torch.randn_like(x0)
        a = abar[t].view(-1, 1, 1, 1)
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps
        loss = F.mse_loss(unet(x_t, t, encoder_hidden_states=cond).sample, eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            for live, avg in ((unet, ema[0]), (encoder, ema[1])):
                for p, q in zip(live.parameters(), avg.parameters(), strict=True):
                    q.lerp_(p, 1 - ema_decay)
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.4f}")
    meta = dict(
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        empty_prob=empty_prob,
        ema_decay=ema_decay,
        final_loss=float(loss.item()),
        seconds=round(time.time() - t0, 1),
    )
    Path(out_dir).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=Path(out_dir).parent) as tmp:
        save_toy_checkpoint(ema[0], ema[1], Path(tmp) / "ckpt", meta)
        replace_dir(Path(tmp) / "ckpt", Path(out_dir))
    return meta
