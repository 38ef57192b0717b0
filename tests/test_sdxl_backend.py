"""The sdxl backend on a tiny SDXL-architecture pipeline built locally."""

import numpy as np
import pytest
import torch

from sail_bench.backends.sdxl import SDXLBackend

from .tiny_sd import make_tiny_sdxl


@pytest.fixture(scope="module")
def tiny_sdxl(tmp_path_factory):
    return make_tiny_sdxl(tmp_path_factory.mktemp("sdxl"))


@pytest.mark.parametrize("sampler,steps,guidance", [("ddim", 4, 5.0), ("ddim", 3, 1.0)])
def test_generation_matches_the_diffusers_sdxl_pipeline(tiny_sdxl, sampler, steps, guidance):
    from diffusers import DDIMScheduler, StableDiffusionXLPipeline

    backend = SDXLBackend(str(tiny_sdxl))
    prompts, seeds = ["a red circle", "a castle at night"], [5, 9]
    ours = backend.decode(backend.generate(backend.load_unet(None), prompts, seeds, sampler, steps, guidance))
    pipe = StableDiffusionXLPipeline.from_pretrained(tiny_sdxl)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    res = backend.resolution
    ref = pipe(
        prompts,
        num_inference_steps=steps,
        guidance_scale=guidance,
        output_type="np",
        height=res,
        width=res,
        generator=[torch.Generator().manual_seed(s) for s in seeds],
    ).images
    ref = (ref * 255).round().astype(np.uint8)
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1


def test_sdxl_conditioning(tiny_sdxl):
    backend = SDXLBackend(str(tiny_sdxl))
    cond = backend.encode_prompts(["a", "b c"])
    assert cond["encoder_hidden_states"].shape == (2, 16, 64)  # both encoders' penultimate states, concatenated
    assert cond["text_embeds"].shape == (2, 32)
    assert cond["time_ids"].tolist() == [[16, 16, 0, 0, 16, 16]] * 2
    unc = backend.unconditional(1)
    assert unc["encoder_hidden_states"].abs().sum() == 0 and unc["text_embeds"].abs().sum() == 0
