"""PickScore (Kirstain et al. 2023): a CLIP ViT-H/14 fine-tuned on Pick-a-Pic.

score = exp(logit_scale) * cos(image embedding, prompt embedding)   (≈ 20–23 for SD images)

Model ``yuvalkirstain/PickScore_v1`` (transformers CLIPModel); processor from
``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``, as in the official snippet. transformers 5 would pick the
torchvision image backend; ``backend="pil"`` keeps the PIL bicubic resize the model was scored with.
"""

from __future__ import annotations

from functools import cached_property

import torch
from PIL import Image

from . import METRICS
from .common import BatchedScorer, features, load

MODEL = "yuvalkirstain/PickScore_v1"
PROCESSOR = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"


@METRICS.register("pickscore")
class PickScore(BatchedScorer):
    """PickScore (CLIP ViT-H/14 fine-tuned on Pick-a-Pic), exp(logit_scale) x cosine."""

    name = "pickscore"
    display = "PickScore"

    def __init__(
        self,
        model: str | None = None,
        processor: str | None = None,
        device: str = "cpu",
        dtype: str = "fp32",
        batch_size: int = 32,
    ) -> None:
        self.model_id = model or MODEL
        self.processor_id = processor or PROCESSOR
        super().__init__(device, dtype, batch_size)

    @cached_property
    def model(self):
        from transformers import CLIPModel

        return load(
            "pickscore: model",
            self.model_id,
            lambda: CLIPModel.from_pretrained(self.model_id, dtype=self.dtype).eval().to(self.device),
            f"pass model: /path/to/PickScore_v1 (hub {MODEL})",
        )

    @cached_property
    def processor(self):
        from transformers import AutoProcessor

        return load(
            "pickscore: processor",
            self.processor_id,
            lambda: AutoProcessor.from_pretrained(self.processor_id, backend="pil"),
            f"pass processor: /path/to/CLIP-ViT-H-14-laion2B-s32B-b79K (hub {PROCESSOR})",
        )

    def score_batch(self, images: list[Image.Image], prompts: list[str]) -> torch.Tensor:
        model, proc = self.model, self.processor
        pix = proc(images=[im.convert("RGB") for im in images], return_tensors="pt")["pixel_values"]
        txt = proc(text=prompts, padding=True, truncation=True, max_length=77, return_tensors="pt")
        img = features(model.get_image_features(pixel_values=pix.to(self.device, self.dtype))).float()
        txt = features(
            model.get_text_features(
                input_ids=txt["input_ids"].to(self.device), attention_mask=txt["attention_mask"].to(self.device)
            )
        ).float()
        img, txt = img / img.norm(dim=-1, keepdim=True), txt / txt.norm(dim=-1, keepdim=True)
        return model.logit_scale.float().exp() * (img * txt).sum(-1)
