"""The toy backend: the embedded pixel-space model of ``sail_bench/toy`` behind the Backend interface."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import load_file, save_file
from torch import nn

from ..errors import UserError
from ..toy.model import ToyPromptEncoder, toy_scheduler
from ..toy.world import IMAGE_SIZE, from_model_space, to_model_space
from .base import Backend, hash_files

BUILTIN_CHECKPOINT = Path(__file__).resolve().parent.parent / "toy" / "checkpoint"
PROMPT_ENCODER_FILE = "prompt_encoder.safetensors"


class ToyBackend(Backend):
    """Tiny pixel-space UNet on coloured shapes; runs on a laptop CPU."""

    name = "toy"
    latent_shape = (3, IMAGE_SIZE, IMAGE_SIZE)

    def __init__(self, model: str = "builtin", device="cpu", dtype=torch.float32, revision=None, vae=None) -> None:
        super().__init__(device, dtype)
        if revision is not None or vae is not None:
            raise UserError("backend: the toy backend takes no revision or vae (it works in pixel space)")
        self.base_dir = BUILTIN_CHECKPOINT if model in ("builtin", "", None) else Path(model)
        if not (self.base_dir / "unet" / "config.json").exists():
            raise UserError(
                f"backend.model: no toy checkpoint at {self.base_dir} (expected unet/config.json); "
                "create one with `sail-bench toy pretrain --out DIR` or use model: builtin"
            )
        self.prompt_encoder = ToyPromptEncoder()
        self.prompt_encoder.load_state_dict(load_file(self.base_dir / PROMPT_ENCODER_FILE))
        self.prompt_encoder.requires_grad_(False).eval().to(self.device)
        self._sched_config = dict(toy_scheduler().config)

    def fingerprint(self) -> str:
        if not hasattr(self, "_fingerprint"):  # every stage key asks; hash the checkpoint once
            files = [p for p in self.base_dir.rglob("*") if p.is_file()]
            self._fingerprint = "toy:" + hash_files(files)[:16]
        return self._fingerprint

    def load_unet(self, checkpoint: Path | None) -> nn.Module:
        src = (self.base_dir if checkpoint is None else Path(checkpoint)) / "unet"
        return UNet2DConditionModel.from_pretrained(src).to(self.device)

    def save_unet(self, unet: nn.Module, out_dir: Path) -> None:
        unet.save_pretrained(Path(out_dir) / "unet", safe_serialization=True)

    @property
    def train_scheduler_config(self) -> dict:
        return self._sched_config

    def encode_prompts(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            states = self.prompt_encoder(ToyPromptEncoder.token_ids(prompts))
        return {"encoder_hidden_states": states.to(self.device, self.dtype)}

    def predict_noise(self, unet, x_t, t, cond) -> torch.Tensor:
        return unet(x_t, t, encoder_hidden_states=cond["encoder_hidden_states"]).sample

    def encode_images(self, images: np.ndarray) -> torch.Tensor:
        return to_model_space(images)

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        return from_model_space(latents)


def save_toy_checkpoint(unet: nn.Module, encoder: ToyPromptEncoder, out_dir: Path, meta: dict) -> None:
    out_dir = Path(out_dir)
    unet.save_pretrained(out_dir / "unet", safe_serialization=True)
    save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, out_dir / PROMPT_ENCODER_FILE)
    (out_dir / "pretrain.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
