"""LAION improved aesthetic predictor: an MLP on the L2-normalised OpenAI CLIP ViT-L/14 image embedding.

Head: ``sac+logos+ava1-l14-linearMSE.pth`` — Linear(768, 1024), Linear(1024, 128), Linear(128, 64),
Linear(64, 16), Linear(16, 1), with dropout between the first four and no activations (keys
``layers.{0,2,4,6,7}``). The score is the raw output (SD1.5 ≈ 5.4, SDXL ≈ 6.0).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import torch
from PIL import Image

from ..errors import MissingInput, UserError
from . import METRICS
from .common import BatchedScorer, LinearMLPHead, clip_transform, load

CLIP_MODEL = "openai/clip-vit-large-patch14"
HEAD_FILE = "sac+logos+ava1-l14-linearMSE.pth"  # github.com/christophschuhmann/improved-aesthetic-predictor


class AestheticHead(LinearMLPHead):
    @classmethod
    def from_file(cls, path: str | Path) -> LinearMLPHead:
        state = torch.load(path, map_location="cpu", weights_only=True)  # third-party .pth: tensors only
        return cls.from_state(state)


@METRICS.register("aesthetics")
class Aesthetics(BatchedScorer):
    """LAION aesthetic predictor (CLIP ViT-L/14 + linear MLP), raw score.

    Preprocessing is OpenAI CLIP's own transform (what the predictor was fitted on), not the HF processor.
    """

    name = "aesthetics"
    display = "Aesthetic"

    def __init__(
        self,
        model: str | None = None,
        weights: str | None = None,
        device: str = "cpu",
        dtype: str = "fp32",
        batch_size: int = 32,
    ) -> None:
        self.model_id = model or CLIP_MODEL
        if not weights:  # no hub copy to fall back on: a suite without it can never score
            raise UserError(
                f"evaluation.metrics: aesthetics needs weights: /path/to/{HEAD_FILE} "
                "(github.com/christophschuhmann/improved-aesthetic-predictor)"
            )
        self.weights = weights
        super().__init__(device, dtype, batch_size)

    @cached_property
    def clip(self):
        from transformers import CLIPVisionModelWithProjection

        return load(
            "aesthetics: CLIP model",
            self.model_id,
            lambda: (
                CLIPVisionModelWithProjection.from_pretrained(self.model_id, dtype=self.dtype).eval().to(self.device)
            ),
            f"pass model: /path/to/clip-vit-large-patch14 (hub {CLIP_MODEL})",
        )

    @cached_property
    def head(self) -> LinearMLPHead:
        if not Path(self.weights).exists():
            raise MissingInput(
                f"aesthetics: weights: {self.weights!r} not found; give the path to {HEAD_FILE} "
                "(github.com/christophschuhmann/improved-aesthetic-predictor)"
            )
        return AestheticHead.from_file(self.weights).to(self.device)

    @torch.no_grad()
    def embed(self, images: list[Image.Image]) -> torch.Tensor:
        model = self.clip
        tf = clip_transform(model.config.image_size)
        pix = torch.stack([tf(im) for im in images]).to(self.device, self.dtype)
        emb = model(pixel_values=pix).image_embeds.float()
        return emb / emb.norm(dim=-1, keepdim=True)

    def score_batch(self, images: list[Image.Image], prompts: list[str]) -> torch.Tensor:
        return self.head(self.embed(images)).squeeze(-1)
