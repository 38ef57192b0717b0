"""Tiny Stable Diffusion pipelines of the real architectures, written to a directory with save_pretrained.

Random weights, a character-level CLIP tokenizer written by the test (every byte is a token),
so nothing is downloaded. Loaded back through the same code a user's hub id goes through.
"""

from __future__ import annotations

from pathlib import Path

import torch


def _byte_chars() -> list[str]:
    """The byte-level BPE alphabet: printable bytes map to themselves, the rest to code points from 256 up."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    chars, extra = [], 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def _write_tokenizer(out: Path) -> None:
    from transformers import CLIPTokenizer

    chars = _byte_chars()
    vocab = {c: i for i, c in enumerate(chars)}
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    out.mkdir(parents=True, exist_ok=True)
    tok = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=16)
    tok.save_pretrained(out)


def _text_encoder(hidden: int, projection: bool = False):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    cfg = CLIPTextConfig(
        vocab_size=520,
        hidden_size=hidden,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=16,
        projection_dim=hidden,
        bos_token_id=514,
        eos_token_id=515,
        pad_token_id=515,
    )
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(cfg)


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(16, 32),
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=8,
        sample_size=16,
    )


def make_tiny_sd15(out: Path, sample_size: int = 8, widths: tuple[int, int] = (32, 64)) -> Path:
    """A StableDiffusionPipeline directory: by default 16x16 images, 8x8x4 latents."""
    from diffusers import DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=sample_size,
        in_channels=4,
        out_channels=4,
        block_out_channels=widths,
        layers_per_block=1,
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=8,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    )
    sched = DDPMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
        clip_sample=False,
    )  # as SD1.5 ships it
    _write_tokenizer(out / "tokenizer")
    from transformers import CLIPTokenizer

    pipe = StableDiffusionPipeline(
        vae=_vae(),
        text_encoder=_text_encoder(32),
        tokenizer=CLIPTokenizer.from_pretrained(out / "tokenizer"),
        unet=unet,
        scheduler=sched,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(out, safe_serialization=True)
    return out


def make_tiny_sdxl(out: Path) -> Path:
    """A StableDiffusionXLPipeline directory: two text encoders (32 + 32 wide), size-conditioned UNet."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=6 * 8 + 32,
        cross_attention_dim=64,
        norm_num_groups=8,
    )
    sched = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1, timestep_spacing="leading"
    )
    _write_tokenizer(out / "tokenizer")
    _write_tokenizer(out / "tokenizer_2")
    pipe = StableDiffusionXLPipeline(
        vae=_vae(),
        text_encoder=_text_encoder(32),
        text_encoder_2=_text_encoder(32, True),
        tokenizer=CLIPTokenizer.from_pretrained(out / "tokenizer"),
        tokenizer_2=CLIPTokenizer.from_pretrained(out / "tokenizer_2"),
        unet=unet,
        scheduler=sched,
    )
    pipe.save_pretrained(out, safe_serialization=True)
    return out
