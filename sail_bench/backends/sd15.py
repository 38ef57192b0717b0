"""Stable Diffusion 1.5 (and any diffusers UNet + CLIP text encoder + VAE pipeline directory).

``model`` is a hub id (``stable-diffusion-v1-5/stable-diffusion-v1-5``) or a local diffusers
directory. Nothing is loaded until it is needed, so ``validate`` and ``plan`` work on a machine
without the weights; the first load names the missing model and how to provide it.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..errors import MissingInput, UserError
from .base import Backend


def resolve_model_dir(model: str, revision: str | None = None) -> Path:
    """A local diffusers directory for ``model``: the path itself, or the hub cache (never downloads in tests)."""
    p = Path(model).expanduser()
    if p.exists():
        if not any((p / f).exists() for f in ("model_index.json", "unet", "config.json")):
            raise UserError(f"backend.model: {p} is not a diffusers pipeline directory (no model_index.json)")
        return p
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, revision=revision, allow_patterns=["*.json", "*.txt", "*.safetensors"]))
    except Exception as e:  # offline, unknown repo, no credentials
        raise MissingInput(
            f"backend.model {model!r}: weights not present and not downloadable here ({type(e).__name__}); "
            "download them (huggingface-cli download MODEL) or point backend.model at a local diffusers directory"
        ) from None


class SD15Backend(Backend):
    """Stable Diffusion 1.x/2.x: CLIP text encoder, 4-channel VAE latents, epsilon-prediction UNet."""

    name = "sd15"

    def __init__(
        self, model: str, device="cpu", dtype=torch.float32, revision: str | None = None, vae: str | None = None
    ) -> None:
        super().__init__(device, dtype)
        self.model = model
        self.revision = revision
        self.vae_model = vae  # e.g. madebyollin/sdxl-vae-fp16-fix

    # -- lazily loaded parts --------------------------------------------------------------------
    @cached_property
    def model_dir(self) -> Path:
        return resolve_model_dir(self.model, self.revision)

    @cached_property
    def tokenizer(self):
        from transformers import CLIPTokenizer

        return CLIPTokenizer.from_pretrained(self.model_dir / "tokenizer")

    @cached_property
    def text_encoder(self):
        from transformers import CLIPTextModel

        enc = CLIPTextModel.from_pretrained(self.model_dir / "text_encoder", torch_dtype=self.dtype)
        return enc.requires_grad_(False).eval().to(self.device)

    @cached_property
    def vae(self):
        from diffusers import AutoencoderKL

        return (
            AutoencoderKL.from_pretrained(self.model_dir / "vae", torch_dtype=self.dtype)
            .requires_grad_(False)
            .eval()
            .to(self.device)
        )

    @cached_property
    def _unet_config(self) -> dict:
        return json.loads((self.model_dir / "unet" / "config.json").read_text())

    @property
    def vae_scale_factor(self) -> int:
        cfg = json.loads((self.model_dir / "vae" / "config.json").read_text())
        return 2 ** (len(cfg["block_out_channels"]) - 1)

    @property
    def resolution(self) -> int:
        return int(self._unet_config["sample_size"]) * self.vae_scale_factor

    @property
    def latent_shape(self) -> tuple[int, int, int]:  # type: ignore[override]
        s = int(self._unet_config["sample_size"])
        return (int(self._unet_config["in_channels"]), s, s)

    @cached_property
    def _sched_config(self) -> dict:
        return json.loads((self.model_dir / "scheduler" / "scheduler_config.json").read_text())

    @property
    def train_scheduler_config(self) -> dict:
        return self._sched_config

    # -- Backend interface ----------------------------------------------------------------------
    def fingerprint(self) -> str:
        return f"{self.name}:{self.model}@{self.revision or 'main'}"

    def load_unet(self, checkpoint: Path | None) -> nn.Module:
        from diffusers import UNet2DConditionModel

        src = self.model_dir / "unet" if checkpoint is None else Path(checkpoint) / "unet"
        return UNet2DConditionModel.from_pretrained(src, torch_dtype=torch.float32).to(self.device)

    def save_unet(self, unet: nn.Module, out_dir: Path) -> None:
        unet.save_pretrained(Path(out_dir) / "unet", safe_serialization=True)

    @torch.no_grad()
    def encode_prompts(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        ids = self.tokenizer(
            prompts,
            padding="max_length",
            max_length=self.tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids.to(self.device)
        return {"encoder_hidden_states": self.text_encoder(ids)[0].to(self.dtype)}

    def predict_noise(self, unet, x_t, t, cond) -> torch.Tensor:
        return unet(x_t, t, encoder_hidden_states=cond["encoder_hidden_states"]).sample

    def preprocess(self, images: list[Image.Image] | np.ndarray) -> torch.Tensor:
        """Resize the short side to the model resolution (bilinear), centre crop, scale to [-1, 1]."""
        res = self.resolution
        out = []
        for im in images:
            im = Image.fromarray(im) if isinstance(im, np.ndarray) else im
            im = im.convert("RGB")
            scale = res / min(im.size)
            im = im.resize((max(res, round(im.width * scale)), max(res, round(im.height * scale))), Image.BILINEAR)
            left, top = (im.width - res) // 2, (im.height - res) // 2
            im = im.crop((left, top, left + res, top + res))
            out.append(torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 127.5 - 1.0)
        return torch.stack(out)

    @torch.no_grad()
    def encode_images(self, images, batch_size: int = 16) -> torch.Tensor:
        """Images → scaled VAE latents (the posterior mean: deterministic, so it can be cached)."""
        pix = self.preprocess(images)
        lat = []
        for i in range(0, len(pix), batch_size):
            dist = self.vae.encode(pix[i : i + batch_size].to(self.device, self.vae.dtype)).latent_dist
            lat.append((dist.mean * self.vae.config.scaling_factor).float().cpu())
        return torch.cat(lat)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, batch_size: int = 8) -> np.ndarray:
        out = []
        for i in range(0, len(latents), batch_size):
            z = latents[i : i + batch_size].to(self.device, self.vae.dtype) / self.vae.config.scaling_factor
            x = self.vae.decode(z).sample.float()
            out.append(((x / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.resolution, self.resolution, 3), np.uint8)
