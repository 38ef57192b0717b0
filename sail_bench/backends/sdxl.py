"""Stable Diffusion XL: two text encoders and size conditioning on top of the sd15 backend.

Text states are the penultimate hidden states of both encoders, concatenated; the pooled
embedding comes from encoder 2 (with projection); ``add_time_ids = [res, res, 0, 0, res, res]``
(original size, crop top-left, target size). As in diffusers' pipeline, the unconditional branch
is all zeros when the model says ``force_zeros_for_empty_prompt`` (SDXL base does).
"""

from __future__ import annotations

import json
from functools import cached_property

import torch

from .sd15 import SD15Backend


class SDXLBackend(SD15Backend):
    """Stable Diffusion XL base: CLIP ViT-L + OpenCLIP bigG text encoders, size-conditioned UNet."""

    name = "sdxl"

    def __init__(
        self, model: str, device="cpu", dtype=torch.float32, revision: str | None = None, vae: str | None = None
    ) -> None:
        super().__init__(model, device, dtype, revision, vae)

    @cached_property
    def tokenizer_2(self):
        from transformers import CLIPTokenizer

        return CLIPTokenizer.from_pretrained(self.model_dir / "tokenizer_2")

    @cached_property
    def text_encoder_2(self):
        from transformers import CLIPTextModelWithProjection

        enc = CLIPTextModelWithProjection.from_pretrained(self.model_dir / "text_encoder_2", torch_dtype=self.dtype)
        return enc.requires_grad_(False).eval().to(self.device)

    @cached_property
    def force_zeros_for_empty_prompt(self) -> bool:
        index = self.model_dir / "model_index.json"
        return bool(json.loads(index.read_text()).get("force_zeros_for_empty_prompt", True)) if index.exists() else True

    def time_ids(self, n: int) -> torch.Tensor:
        res = self.resolution
        return torch.tensor([[res, res, 0, 0, res, res]], dtype=self.dtype, device=self.device).repeat(n, 1)

    @torch.no_grad()
    def encode_prompts(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        states, pooled = [], None
        for tok, enc in ((self.tokenizer, self.text_encoder), (self.tokenizer_2, self.text_encoder_2)):
            ids = tok(
                prompts, padding="max_length", max_length=tok.model_max_length, truncation=True, return_tensors="pt"
            ).input_ids.to(self.device)
            out = enc(ids, output_hidden_states=True)
            states.append(out.hidden_states[-2])
            pooled = out[0]  # the last encoder's projected pooled output
        return {
            "encoder_hidden_states": torch.cat(states, dim=-1).to(self.dtype),
            "text_embeds": pooled.to(self.dtype),
            "time_ids": self.time_ids(len(prompts)),
        }

    def unconditional(self, n: int) -> dict[str, torch.Tensor]:
        cond = self.encode_prompts([""] * n)
        if self.force_zeros_for_empty_prompt:
            cond["encoder_hidden_states"] = torch.zeros_like(cond["encoder_hidden_states"])
            cond["text_embeds"] = torch.zeros_like(cond["text_embeds"])
        return cond

    def predict_noise(self, unet, x_t, t, cond) -> torch.Tensor:
        added = {"text_embeds": cond["text_embeds"], "time_ids": cond["time_ids"]}
        return unet(x_t, t, encoder_hidden_states=cond["encoder_hidden_states"], added_cond_kwargs=added).sample
