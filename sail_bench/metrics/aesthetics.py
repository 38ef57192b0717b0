"""LAION improved aesthetic predictor: an MLP on the L2-normalised OpenAI CLIP ViT-L/14 image embedding.

Head: ``sac+logos+ava1-l14-linearMSE.pth`` — Linear(768, 1024), Linear(1024, 128), Linear(128, 64),
Linear(64, 16), Linear(16, 1), with dropout between the first four and no activations (keys
``layers.{0,2,4,6,7}``). The score is the raw output (SD1.5 ≈ 5.4, SDXL ≈ 6.0).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..errors import MissingInput
from . import METRICS

CLIP_MODEL = "openai/clip-vit-large-patch14"
HEAD_FILE = "sac+logos+ava1-l14-linearMSE.pth"  # github.com/christophschuhmann/improved-aesthetic-predictor


class AestheticHead(nn.Module):
    def __init__(self, dim: int = 768) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(dim, 1024),
            nn.Dropout(0.2),
            nn.Linear(1024, 128),
            nn.Dropout(0.2),
            nn.Linear(128, 64),
            nn.Dropout(0.1),
            nn.Linear(64, 16),
            nn.Linear(16, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    @classmethod
    def from_file(cls, path: str | Path) -> AestheticHead:
        state = torch.load(path, map_location="cpu", weights_only=True)  # third-party .pth: tensors only
        head = cls(state["layers.0.weight"].shape[1])
        head.load_state_dict(state)
        return head.eval()


@METRICS.register("aesthetics")
class Aesthetics:
    """LAION aesthetic predictor (CLIP ViT-L/14 + linear MLP), raw score."""

    name = "aesthetics"
    display = "Aesthetic"

    def __init__(
        self, model: str | None = None, weights: str | None = None, device: str = "cpu", batch_size: int = 32
    ) -> None:
        self.model_id = model or CLIP_MODEL
        self.weights = weights
        self.device = torch.device(device)
        self.batch_size = batch_size

    @cached_property
    def clip(self):
        from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

        try:
            model = CLIPVisionModelWithProjection.from_pretrained(self.model_id).eval().to(self.device)
            processor = CLIPImageProcessor.from_pretrained(self.model_id)
        except OSError as e:
            raise MissingInput(
                f"aesthetics: CLIP model {self.model_id!r} not present ({str(e).splitlines()[0][:120]})"
                "; pass model: /path/to/clip-vit-large-patch14"
            ) from None
        return model, processor

    @cached_property
    def head(self) -> AestheticHead:
        if not self.weights or not Path(self.weights).exists():
            raise MissingInput(
                f"aesthetics: weights: {self.weights!r} not found; give the path to {HEAD_FILE} "
                "(github.com/christophschuhmann/improved-aesthetic-predictor)"
            )
        return AestheticHead.from_file(self.weights).to(self.device)

    @torch.no_grad()
    def embed(self, images: list[Image.Image]) -> torch.Tensor:
        model, processor = self.clip
        pix = processor(images=[im.convert("RGB") for im in images], return_tensors="pt")["pixel_values"]
        emb = model(pixel_values=pix.to(self.device)).image_embeds.float()
        return emb / emb.norm(dim=-1, keepdim=True)

    @torch.no_grad()
    def score(self, images: list[Image.Image], prompts: list[str]) -> np.ndarray:
        out = []
        for i in range(0, len(images), self.batch_size):
            out.append(self.head(self.embed(images[i : i + self.batch_size])).squeeze(-1).cpu())
        return torch.cat(out).double().numpy() if out else np.zeros(0)
