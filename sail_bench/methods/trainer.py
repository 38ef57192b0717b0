"""Preference fine-tuning of a backend's UNet on a pair set, on `accelerate`.

One trainer for every pairwise loss; it owns batching, noise, the optimizer, the LR rule and
logging. Winner and loser of a pair share timestep and noise (as in the official Diffusion-DPO
code); the frozen reference sees exactly the same inputs.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import pandas as pd
import torch
from accelerate import Accelerator
from tqdm.auto import tqdm

from ..backends.base import Backend
from ..config import TrainConfig
from ..data.pairs import PairSet
from .losses import dpo_loss, mapo_loss, sft_loss

log = logging.getLogger(__name__)
LORA_TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]  # attention projections, as diffusers' LoRA scripts


def resolve_schedule(cfg: TrainConfig, n_pairs: int, num_processes: int = 1) -> dict:
    """Effective batch, optimizer steps and learning rate, as the log states them."""
    effective_batch = cfg.batch_size * cfg.grad_accum * num_processes
    steps = cfg.steps if cfg.steps is not None else max(1, math.ceil(cfg.epochs * n_pairs / effective_batch))
    lr = cfg.lr if cfg.lr is not None else cfg.lr_per_sample * effective_batch
    return {"effective_batch": effective_batch, "steps": steps, "lr": lr}


def build_policy(backend: Backend, init: Path | None, cfg: TrainConfig):
    policy = backend.load_unet(init)
    if cfg.gradient_checkpointing:
        policy.enable_gradient_checkpointing()
    if cfg.lora_rank is not None:
        from peft import LoraConfig

        policy.requires_grad_(False)  # only the adapter trains
        policy.add_adapter(
            LoraConfig(
                r=cfg.lora_rank,
                lora_alpha=cfg.lora_alpha or cfg.lora_rank,
                init_lora_weights="gaussian",
                target_modules=LORA_TARGETS,
            )
        )
    policy.train()
    return policy


def build_optimizer(params, cfg: TrainConfig, lr: float):
    if cfg.optimizer == "adafactor":  # the official Diffusion-DPO SDXL setting
        from transformers.optimization import Adafactor

        return Adafactor(
            params, lr=lr, weight_decay=cfg.weight_decay, clip_threshold=1.0, scale_parameter=False, relative_step=False
        )
    return torch.optim.AdamW(params, lr=lr, betas=cfg.adam_betas, weight_decay=cfg.weight_decay, eps=cfg.adam_eps)


def _loss(cfg: TrainConfig, backend: Backend, pred, reference, x_t, t, cond, noise):
    if cfg.loss == "sft":
        return sft_loss(pred, noise)
    if cfg.loss == "mapo":
        return mapo_loss(pred, noise, cfg.mapo_beta, cfg.snr_value, backend.num_train_timesteps)
    with torch.no_grad():
        if cfg.lora_rank is not None and reference is not None and getattr(reference, "_hf_peft_config_loaded", False):
            reference.disable_adapters()  # the policy without its adapter is the reference
            try:
                ref_pred = backend.predict_noise(reference, x_t, t, cond)
            finally:
                reference.enable_adapters()
        else:
            ref_in = x_t.to(next(reference.parameters()).dtype)
            ref_pred = backend.predict_noise(reference, ref_in, t, {k: v.to(ref_in.dtype) for k, v in cond.items()})
    return dpo_loss(pred, ref_pred, noise, cfg.beta)


def save_policy(backend: Backend, policy, cfg: TrainConfig, out_dir: Path) -> None:
    """A full UNet checkpoint (LoRA merged in) that every stage can load; the adapter alone in lora/ too."""
    if cfg.lora_rank is not None:
        policy.save_lora_adapter(out_dir / "lora", safe_serialization=True)
        policy.fuse_lora()
        policy.unload_lora()
    backend.save_unet(policy, out_dir)


def train_preference(
    backend: Backend,
    init: Path | None,
    ref: Path | None,
    pairs: PairSet,
    cfg: TrainConfig,
    seed: int,
    out_dir: Path,
    desc: str = "train",
) -> dict:
    """Train ``init`` on ``pairs`` against the frozen ``ref``; save the UNet to ``out_dir``; return a summary."""
    accelerator = Accelerator(
        gradient_accumulation_steps=cfg.grad_accum,
        mixed_precision=cfg.mixed_precision,
        cpu=backend.device.type == "cpu",
    )
    sched_info = resolve_schedule(cfg, len(pairs), accelerator.num_processes)
    policy = build_policy(backend, init, cfg)
    # with LoRA and init == ref, the reference is the policy with its adapters switched off: no second UNet
    adapter_reference = cfg.lora_rank is not None and str(init) == str(ref)
    reference = None
    if cfg.loss == "dpo" and not adapter_reference:  # MaPO and SFT are reference-free
        reference = backend.load_unet(ref).requires_grad_(False).eval()
        if backend.device.type == "cuda":  # the frozen reference only runs forward: half precision is enough
            reference.to(torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    pairwise = cfg.loss != "sft"  # SFT trains on the winners alone
    log.info(
        "%s: %s loss, %d pairs, effective batch %d = %d per device x %d accumulation x %d processes, lr %.3g, %d steps",
        desc,
        cfg.loss,
        len(pairs),
        sched_info["effective_batch"],
        cfg.batch_size,
        cfg.grad_accum,
        accelerator.num_processes,
        sched_info["lr"],
        sched_info["steps"],
    )
    opt = build_optimizer([p for p in policy.parameters() if p.requires_grad], cfg, sched_info["lr"])
    warmup = cfg.warmup_steps
    lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (warmup + 1)))
    policy, opt, lr_sched = accelerator.prepare(policy, opt, lr_sched)

    # prompt embeddings once per distinct prompt, not once per step
    distinct = list(dict.fromkeys(pairs.prompts + [""]))
    table = backend.encode_prompts(distinct)
    row_of = {p: i for i, p in enumerate(distinct)}
    prompt_rows = torch.tensor([row_of[p] for p in pairs.prompts])
    empty_row = row_of[""]

    abar = backend.alphas_cumprod().to(accelerator.device)
    gen = torch.Generator("cpu").manual_seed(seed)
    micro = cfg.batch_size
    order = torch.randperm(len(pairs), generator=gen)
    cursor = 0
    rows, t0 = [], time.time()
    bar = tqdm(range(sched_info["steps"]), desc=desc, unit="step", leave=False)
    for step in bar:
        acc_stats: dict[str, float] = {}
        for _ in range(cfg.grad_accum):
            if cursor + micro > len(order):  # next epoch: a fresh seeded permutation
                order = torch.cat([order[cursor:], torch.randperm(len(pairs), generator=gen)])
                cursor = 0
            idx = order[cursor : cursor + micro]
            cursor += micro
            b = len(idx)
            copies = 2 if pairwise else 1
            x_w, x_l = pairs.x_w[idx], pairs.x_l[idx]
            if pairs.has_flips:  # mirror winner and loser independently, as the official code does
                fw, fl = (torch.rand(2, b, generator=gen) < 0.5).view(2, b, 1, 1, 1)
                x_w = torch.where(fw, pairs.x_w_flip[idx], x_w)
                x_l = torch.where(fl, pairs.x_l_flip[idx], x_l)
            x0 = (torch.cat([x_w, x_l]) if pairwise else x_w).to(accelerator.device)
            rows_b = prompt_rows[idx].clone()
            drop = torch.rand(b, generator=gen) < cfg.proportion_empty_prompts
            rows_b[drop] = empty_row
            cond = {k: v[rows_b].repeat(copies, *[1] * (v.ndim - 1)) for k, v in table.items()}
            # winner and loser share noise and timestep
            noise = torch.randn(b, *x0.shape[1:], generator=gen).repeat(copies, 1, 1, 1).to(x0.device)
            t = torch.randint(0, backend.num_train_timesteps, (b,), generator=gen).repeat(copies).to(x0.device)
            a = abar[t].view(-1, 1, 1, 1)
            x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
            with accelerator.accumulate(policy):
                with accelerator.autocast():
                    pred = backend.predict_noise(policy, x_t.to(backend.dtype), t, cond)
                ref_model = reference if reference is not None else accelerator.unwrap_model(policy)
                loss, stats = _loss(cfg, backend, pred, ref_model, x_t, t, cond, noise)
                accelerator.backward(loss)
                grad_norm = None
                if accelerator.sync_gradients:
                    grad_norm = accelerator.clip_grad_norm_(policy.parameters(), cfg.grad_clip)
                opt.step()
                lr_sched.step()
                opt.zero_grad(set_to_none=True)
            for k, v in {"loss": loss, **stats}.items():
                acc_stats[k] = acc_stats.get(k, 0.0) + float(v.detach()) / cfg.grad_accum
        acc_stats["grad_norm"] = float(grad_norm) if grad_norm is not None else float("nan")
        acc_stats["lr"] = float(lr_sched.get_last_lr()[0])
        acc_stats["step"] = step
        rows.append(acc_stats)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{acc_stats['loss']:.4f}", acc=f"{acc_stats.get('implicit_acc', float('nan')):.2f}")

    loop_seconds = time.time() - t0
    history = pd.DataFrame(rows)
    out_dir = Path(out_dir)
    if accelerator.is_main_process:
        save_policy(backend, accelerator.unwrap_model(policy), cfg, out_dir)
        history.to_parquet(out_dir / "train_log.parquet", index=False)
    tail = history.tail(max(1, len(history) // 10))
    return {
        **sched_info,
        "pairs": len(pairs),
        "seed_pair_share": sum(o == "seed" for o in pairs.origin) / max(1, len(pairs)),
        "seconds": round(time.time() - t0, 1),
        "loop_seconds": round(loop_seconds, 4),  # optimizer steps only: no loading or saving
        **{f"final_{k}": float(tail[k].mean()) for k in ("loss", "implicit_acc", "delta_w", "delta_l") if k in tail},
    }
