"""The interface every model backend (toy, sd15, sdxl) offers to training, ranking and evaluation.

A *checkpoint* is a directory; ``None`` means the backend's pretrained base model. Only the
denoiser (UNet) is trained; prompt encoders and the VAE stay those of the base model.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .sampling import sample_latents


class Backend(ABC):
    name: str
    #: shape of one latent (C, H, W) — what the UNet denoises
    latent_shape: tuple[int, int, int]

    def __init__(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> None:
        self.device = torch.device(device)
        self.dtype = dtype

    # -- model -----------------------------------------------------------------------------
    @abstractmethod
    def fingerprint(self) -> str:
        """A string that changes whenever the base model's weights or preprocessing change."""

    @abstractmethod
    def load_unet(self, checkpoint: Path | None) -> nn.Module:
        """The denoiser of ``checkpoint`` (or of the base model), on ``self.device``."""

    @abstractmethod
    def save_unet(self, unet: nn.Module, out_dir: Path) -> None:
        """Write ``unet`` as a checkpoint directory (safetensors) that ``load_unet`` reads back."""

    @property
    @abstractmethod
    def train_scheduler_config(self) -> dict:
        """The training noise scheduler's config (its ``alphas_cumprod`` define q(x_t | x_0))."""

    @abstractmethod
    def encode_prompts(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        """Conditioning tensors for the UNet, batched along dim 0."""

    @abstractmethod
    def predict_noise(self, unet: nn.Module, x_t: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
        """eps_theta(x_t, t, cond)."""

    @abstractmethod
    def encode_images(self, images: np.ndarray) -> torch.Tensor:
        """uint8 (B, H, W, 3) → latents (B, *latent_shape)."""

    @abstractmethod
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """latents → uint8 (B, H, W, 3)."""

    # -- shared behaviour -----------------------------------------------------------------
    def unconditional(self, n: int) -> dict[str, torch.Tensor]:
        """The classifier-free-guidance branch: the empty prompt (SDXL may use zeros instead)."""
        return self.encode_prompts([""] * n)

    def alphas_cumprod(self) -> torch.Tensor:
        from diffusers import DDPMScheduler

        return DDPMScheduler.from_config(self.train_scheduler_config).alphas_cumprod.float()

    @property
    def num_train_timesteps(self) -> int:
        return int(self.train_scheduler_config["num_train_timesteps"])

    @torch.no_grad()
    def generate(
        self,
        unet: nn.Module,
        prompts: list[str],
        seeds: list[int],
        sampler: str,
        steps: int,
        guidance: float,
        batch_size: int = 64,
        desc: str = "generate",
    ) -> torch.Tensor:
        """Latents for (prompt, seed) pairs; each image depends only on its own prompt and seed."""
        unet.eval()
        out = []
        uncond = self.unconditional(1) if guidance > 1.0 else None
        for start in tqdm(range(0, len(prompts), batch_size), desc=desc, unit="batch", leave=False):
            ps, ss = prompts[start : start + batch_size], seeds[start : start + batch_size]
            cond = self.encode_prompts(ps)
            unc = {k: v.expand(len(ps), *v.shape[1:]) for k, v in uncond.items()} if uncond else None
            lat = sample_latents(
                lambda x, t, c: self.predict_noise(unet, x, t, c),
                cond,
                unc,
                self.latent_shape,
                ss,
                sampler,
                steps,
                guidance,
                self.train_scheduler_config,
                self.device,
                self.dtype,
            )
            out.append(lat.cpu())
        return torch.cat(out) if out else torch.empty(0, *self.latent_shape)


def hash_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
