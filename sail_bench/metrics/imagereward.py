"""ImageReward (Xu et al. 2023), ported to run under transformers 5.

The PyPI package ``image-reward`` does not import under transformers 5, so the model is rebuilt from
transformers' BLIP classes and the official ``ImageReward.pt`` is loaded into it with the key renames
below (a plain state dict, ``weights_only=True``):

- vision: BLIP ViT-L/16 at 224 px, LayerNorm eps 1e-6 -> ``BlipVisionModel`` (fused qkv as in BLIP);
- text: BERT-base with cross-attention to the image tokens (``med_config.json``, encoder width = the
  vision width) -> ``BlipTextModel``, self-attention bidirectional;
- head: the linear MLP 768 -> 1024 -> 128 -> 64 -> 16 -> 1 on the [CLS] state.

score = (mlp(cls) - 0.16717362830052426) / 1.0333394966054072. Text: ``bert-base-uncased`` plus BLIP's
``[DEC]``/``[ENC]`` tokens, padded to 35 tokens (the [CLS] token is kept, as ``ImageReward.score`` does).
Image: OpenAI CLIP's transform at the checkpoint's resolution. Parity with the original package:
``tests/fixtures/parity`` (made by ``benchmarks/parity/make_fixtures.py``).
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from pathlib import Path

import torch
from PIL import Image

from . import METRICS
from .common import BatchedScorer, LinearMLPHead, clip_transform, load

HUB_REPO = "THUDM/ImageReward"
TOKENIZER = "bert-base-uncased"
MEAN, STD = 0.16717362830052426, 1.0333394966054072
MAX_TOKENS = 35

_VISION_RENAMES = [  # BLIP ViT (timm style) -> transformers BlipVisionModel
    (r"^cls_token$", "embeddings.class_embedding"),
    (r"^pos_embed$", "embeddings.position_embedding"),
    (r"^patch_embed\.proj\.", "embeddings.patch_embedding."),
    (r"^blocks\.(\d+)\.norm1\.", r"encoder.layers.\1.layer_norm1."),
    (r"^blocks\.(\d+)\.norm2\.", r"encoder.layers.\1.layer_norm2."),
    (r"^blocks\.(\d+)\.attn\.qkv\.", r"encoder.layers.\1.self_attn.qkv."),
    (r"^blocks\.(\d+)\.attn\.proj\.", r"encoder.layers.\1.self_attn.projection."),
    (r"^blocks\.(\d+)\.mlp\.", r"encoder.layers.\1.mlp."),
    (r"^norm\.", "post_layernorm."),
]


def _part(state: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def vision_state(state: dict) -> dict:
    out = {}
    for k, v in _part(state, "blip.visual_encoder.").items():
        for pat, rep in _VISION_RENAMES:
            if re.match(pat, k):
                out[re.sub(pat, rep, k)] = v
                break
        else:
            raise KeyError(f"unexpected BLIP vision key blip.visual_encoder.{k}")
    return out


def build_blip(state: dict, med_config: dict):
    """BlipVisionModel + BlipTextModel shaped by the checkpoint (vision) and med_config (text), weights loaded."""
    from transformers import BlipTextConfig, BlipTextModel, BlipVisionConfig, BlipVisionModel

    vis = vision_state(state)
    width = vis["embeddings.class_embedding"].shape[-1]
    patch = vis["embeddings.patch_embedding.weight"].shape[-1]
    n_pos = vis["embeddings.position_embedding"].shape[1] - 1
    vcfg = BlipVisionConfig(
        hidden_size=width,
        intermediate_size=vis["encoder.layers.0.mlp.fc1.weight"].shape[0],
        num_hidden_layers=len({k.split(".")[2] for k in vis if k.startswith("encoder.layers.")}),
        num_attention_heads=max(1, width // 64),  # BLIP: ViT-B 768/12, ViT-L 1024/16
        image_size=patch * round(n_pos**0.5),
        patch_size=patch,
        layer_norm_eps=1e-6,
        hidden_act="gelu",
        attention_dropout=0.0,
    )
    vision = BlipVisionModel(vcfg)
    vision.load_state_dict(vis)

    m = med_config
    tcfg = BlipTextConfig(
        vocab_size=m["vocab_size"],
        hidden_size=m["hidden_size"],
        encoder_hidden_size=width,  # BLIP sets encoder_width to the vision width
        intermediate_size=m["intermediate_size"],
        num_hidden_layers=m["num_hidden_layers"],
        num_attention_heads=m["num_attention_heads"],
        max_position_embeddings=m["max_position_embeddings"],
        layer_norm_eps=m.get("layer_norm_eps", 1e-12),
        hidden_act=m.get("hidden_act", "gelu"),
        pad_token_id=m.get("pad_token_id", 0),
        bos_token_id=None,  # BlipTextConfig's captioning defaults (30522, 102) mean nothing for a scorer
        sep_token_id=None,
        is_decoder=True,  # builds the cross-attention layers; forward runs with is_decoder=False (bidirectional)
    )
    text = BlipTextModel(tcfg, add_pooling_layer=False)
    txt = {k: v for k, v in _part(state, "blip.text_encoder.").items() if not k.endswith("position_ids")}
    text.load_state_dict(txt)
    return vision.eval(), text.eval()


@METRICS.register("imagereward")
class ImageReward(BatchedScorer):
    """ImageReward (BLIP ViT-L + BERT cross-attention, ported to transformers 5), normalised."""

    name = "imagereward"
    display = "ImageReward"

    def __init__(
        self,
        model: str | None = None,
        weights: str | None = None,
        processor: str | None = None,
        device: str = "cpu",
        dtype: str = "fp32",
        batch_size: int = 32,
    ) -> None:
        self.repo = model or HUB_REPO
        self.weights = weights
        self.tokenizer_id = processor or TOKENIZER
        super().__init__(device, dtype, batch_size)

    def _file(self, name: str) -> str:
        """``weights`` for the checkpoint; other files beside it, else in ``model`` (a directory or hub repo)."""
        if self.weights and name == "ImageReward.pt":
            return self.weights
        places = ([Path(self.weights).parent] if self.weights else []) + [Path(self.repo)]
        for d in places:
            if (d / name).is_file():
                return str(d / name)
        if Path(self.repo).is_dir():
            raise FileNotFoundError(str(Path(self.repo) / name))
        from huggingface_hub import hf_hub_download

        return hf_hub_download(self.repo, name)

    @cached_property
    def model(self):
        def build():
            state = torch.load(self._file("ImageReward.pt"), map_location="cpu", weights_only=True)
            med = json.loads(Path(self._file("med_config.json")).read_text())
            vision, text = build_blip(state, med)
            head = LinearMLPHead.from_state(_part(state, "mlp."))
            return vision.to(self.device, self.dtype), text.to(self.device, self.dtype), head.to(self.device)

        return load(
            "imagereward: checkpoint",
            self.weights or self.repo,
            build,
            f"pass model: /path/to/dir with ImageReward.pt + med_config.json (hub {HUB_REPO})",
        )

    @cached_property
    def tokenizer(self):
        from transformers import BertTokenizer

        def build():
            tok = BertTokenizer.from_pretrained(self.tokenizer_id)
            tok.add_special_tokens({"bos_token": "[DEC]"})  # as BLIP's init_tokenizer: same ids for these strings
            tok.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
            return tok

        return load("imagereward: tokenizer", self.tokenizer_id, build, f"pass processor: /path/to/{TOKENIZER}")

    def score_batch(self, images: list[Image.Image], prompts: list[str]) -> torch.Tensor:
        vision, text, head = self.model
        tf = clip_transform(vision.config.image_size)
        pix = torch.stack([tf(im) for im in images]).to(self.device, self.dtype)
        tok = self.tokenizer(
            prompts, padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        ).to(self.device)
        image_embeds = vision(pixel_values=pix).last_hidden_state
        state = text(
            input_ids=tok["input_ids"],
            attention_mask=tok["attention_mask"],
            encoder_hidden_states=image_embeds,
            encoder_attention_mask=torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=self.device),
            is_decoder=False,
        ).last_hidden_state
        reward = head(state[:, 0, :].float()).squeeze(-1)
        return (reward - MEAN) / STD
