"""The toy world's model: a tiny pixel-space diffusers UNet and a slot-wise prompt encoder.

The prompt encoder stands in for CLIP: each of the three prompt slots (colour, shape,
background) has its own embedding table whose index 0 means "not named", so the empty prompt
(every slot 0) is the unconditional branch used for classifier-free guidance.
"""

from __future__ import annotations

import torch
from diffusers import DDPMScheduler, UNet2DConditionModel
from torch import nn

from .world import BACKGROUNDS, COLOURS, IMAGE_SIZE, SHAPES, parse_prompt

EMBED_DIM = 32
SLOTS = (list(COLOURS), list(SHAPES), list(BACKGROUNDS))


def toy_unet_config() -> dict:
    return dict(
        sample_size=IMAGE_SIZE,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(32, 64),
        layers_per_block=1,
        cross_attention_dim=EMBED_DIM,
        attention_head_dim=8,
        norm_num_groups=8,
    )


def toy_scheduler() -> DDPMScheduler:
    # a cosine schedule suits small pixel-space images better than SD's scaled-linear one
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", clip_sample=True)


class ToyPromptEncoder(nn.Module):
    """Prompt text → (B, 3, EMBED_DIM) token states, one token per prompt slot."""

    def __init__(self) -> None:
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(len(vocab) + 1, EMBED_DIM) for vocab in SLOTS)
        self.slot = nn.Parameter(torch.zeros(len(SLOTS), EMBED_DIM))

    @staticmethod
    def token_ids(prompts: list[str]) -> torch.Tensor:
        ids = []
        for text in prompts:
            p = parse_prompt(text)
            values = (p.colour, p.shape, p.background)
            ids.append([0 if v is None else vocab.index(v) + 1 for v, vocab in zip(values, SLOTS, strict=True)])
        return torch.tensor(ids, dtype=torch.long)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        ids = ids.to(self.slot.device)
        return torch.stack([t(ids[:, i]) for i, t in enumerate(self.tables)], dim=1) + self.slot


def new_toy_unet() -> UNet2DConditionModel:
    return UNet2DConditionModel(**toy_unet_config())
