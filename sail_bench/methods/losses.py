"""Preference losses on per-sample denoising errors (DESIGN.md §3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def per_sample_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over all but the batch dimension, in fp32."""
    return (pred.float() - target.float()).pow(2).mean(dim=tuple(range(1, pred.ndim)))


def dpo_loss(
    model_pred: torch.Tensor, ref_pred: torch.Tensor, noise: torch.Tensor, beta: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Diffusion-DPO: predictions on the batch [winners; losers] that share timesteps and noise.

    inside = -beta/2 * ((mse_w - mse_l) - (ref_w - ref_l));  loss = -log sigmoid(inside).
    """
    mse_w, mse_l = per_sample_mse(model_pred, noise).chunk(2)
    with torch.no_grad():
        ref_w, ref_l = per_sample_mse(ref_pred, noise).chunk(2)
    inside = -0.5 * beta * ((mse_w - mse_l) - (ref_w - ref_l))
    loss = -F.logsigmoid(inside).mean()
    stats = {
        "implicit_acc": (inside > 0).float().mean(),
        "mse_w": mse_w.mean().detach(),
        "mse_l": mse_l.mean().detach(),
        "ref_mse_w": ref_w.mean(),
        "ref_mse_l": ref_l.mean(),
        # policy minus reference error: when both rise, the run is over-trained (DESIGN.md §8.2)
        "delta_w": (mse_w - ref_w).mean().detach(),
        "delta_l": (mse_l - ref_l).mean().detach(),
    }
    return loss, stats


def mapo_loss(
    model_pred: torch.Tensor, noise: torch.Tensor, beta: float, snr_value: float, num_train_timesteps: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """MaPO (Hong et al. 2024), reference-free, on the batch [winners; losers]:

    log_odds = s*Lw/(exp(s*Lw) - 1) - s*Ll/(exp(s*Ll) - 1);  loss = mean(Lw) - beta * mean(logsigmoid(T * log_odds)).
    """
    mse_w, mse_l = per_sample_mse(model_pred, noise).chunk(2)
    score_w = snr_value * mse_w / torch.expm1(snr_value * mse_w)
    score_l = snr_value * mse_l / torch.expm1(snr_value * mse_l)
    margin = F.logsigmoid((score_w - score_l) * num_train_timesteps)
    loss = mse_w.mean() - beta * margin.mean()
    stats = {
        "implicit_acc": (score_w > score_l).float().mean(),
        "mse_w": mse_w.mean().detach(),
        "mse_l": mse_l.mean().detach(),
        "margin_loss": -margin.mean().detach(),
    }
    return loss, stats


def sft_loss(model_pred: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Supervised fine-tuning on the preferred images only: the plain denoising loss."""
    mse = per_sample_mse(model_pred, noise)
    return mse.mean(), {"mse_w": mse.mean().detach()}
