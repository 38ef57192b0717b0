"""The sd15 backend on a tiny SD1.5-architecture pipeline built locally."""

import numpy as np
import pytest
import torch

from sail_bench.backends.sd15 import SD15Backend
from sail_bench.errors import UserError

from .tiny_sd import make_tiny_sd15


@pytest.fixture(scope="module")
def tiny_sd15(tmp_path_factory):
    return make_tiny_sd15(tmp_path_factory.mktemp("sd15"))


@pytest.mark.parametrize("sampler,steps,guidance", [("ddim", 4, 5.0), ("ddpm", 4, 7.5), ("ddim", 3, 1.0)])
def test_generation_matches_the_diffusers_pipeline(tiny_sd15, sampler, steps, guidance):
    from diffusers import DDIMScheduler, DDPMScheduler, StableDiffusionPipeline

    backend = SD15Backend(str(tiny_sd15))
    prompts, seeds = ["a red circle", "two cats on a sofa", "a tree"], [3, 1, 4]
    ours = backend.decode(
        backend.generate(backend.load_unet(None), prompts, seeds, sampler, steps, guidance, batch_size=2)
    )
    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd15, safety_checker=None)
    cls = {"ddim": DDIMScheduler, "ddpm": DDPMScheduler}[sampler]
    pipe.scheduler = cls.from_config(pipe.scheduler.config)
    ref = pipe(
        prompts,
        num_inference_steps=steps,
        guidance_scale=guidance,
        output_type="np",
        generator=[torch.Generator().manual_seed(s) for s in seeds],
    ).images
    ref = (ref * 255).round().astype(np.uint8)
    assert ours.shape == ref.shape == (3, 16, 16, 3)
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1


def test_encode_decode_and_cond_shapes(tiny_sd15):
    backend = SD15Backend(str(tiny_sd15))
    assert backend.latent_shape == (4, 8, 8) and backend.resolution == 16
    imgs = np.random.default_rng(0).integers(0, 255, size=(3, 40, 24, 3), dtype=np.uint8)  # resized + cropped
    lat = backend.encode_images(imgs)
    assert lat.shape == (3, 4, 8, 8)
    assert torch.equal(lat, backend.encode_images(imgs))  # posterior mean: cacheable
    assert backend.decode(lat).shape == (3, 16, 16, 3)
    cond = backend.encode_prompts(["a", "a much longer prompt that will be truncated"])
    assert cond["encoder_hidden_states"].shape == (2, 16, 32)


def test_missing_weights_are_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    backend = SD15Backend("nobody/not-a-model")  # constructing loads nothing
    with pytest.raises(UserError, match="weights not present"):
        backend.load_unet(None)
    (tmp_path / "x").mkdir()
    with pytest.raises(UserError, match="not a diffusers pipeline directory"):
        SD15Backend(str(tmp_path / "x")).load_unet(None)


def _sd_pairs(backend, n=4):
    from sail_bench.data.pairs import PairSet

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2 * n, *backend.latent_shape, generator=g)
    return PairSet(x[:n], x[n:], ["a cat", "a dog"] * (n // 2), ["seed"] * n)


def test_lora_training_round_trip(tiny_sd15, tmp_path):
    from diffusers import UNet2DConditionModel

    from sail_bench.config import TrainConfig
    from sail_bench.methods.trainer import train_preference

    backend = SD15Backend(str(tiny_sd15))
    cfg = TrainConfig(beta=500, lr=1e-2, batch_size=2, steps=2, lora_rank=4)
    summary = train_preference(backend, None, None, _sd_pairs(backend), cfg, seed=0, out_dir=tmp_path)
    assert summary["final_loss"] > 0
    merged = backend.load_unet(tmp_path).eval()
    base = UNet2DConditionModel.from_pretrained(tiny_sd15 / "unet").eval()
    x, t = torch.randn(2, 4, 8, 8), torch.tensor([10, 500])
    cond = backend.encode_prompts(["a cat", "a dog"])
    with torch.no_grad():
        before = backend.predict_noise(base, x, t, cond)
        base.load_lora_adapter(tmp_path / "lora", prefix=None, use_safetensors=True)
        via_adapter = backend.predict_noise(base, x, t, cond)
        via_merged = backend.predict_noise(merged, x, t, cond)
    assert not torch.allclose(before, via_merged, atol=1e-5)  # the adapter learnt something
    assert torch.allclose(via_adapter, via_merged, atol=1e-4)  # and the merged checkpoint is the same model


def test_adafactor_with_gradient_checkpointing_trains(tiny_sd15, tmp_path):
    from sail_bench.config import TrainConfig
    from sail_bench.methods.trainer import train_preference

    backend = SD15Backend(str(tiny_sd15))
    cfg = TrainConfig(
        beta=500,
        lr=1e-4,
        batch_size=2,
        steps=2,
        optimizer="adafactor",
        gradient_checkpointing=True,
        proportion_empty_prompts=0.5,
    )
    train_preference(backend, None, None, _sd_pairs(backend), cfg, seed=0, out_dir=tmp_path)
    a, b = backend.load_unet(None).state_dict(), backend.load_unet(tmp_path).state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_eval_a_base_model_by_path(tiny_sd15, tmp_path):
    from sail_bench.evaluate import evaluate_model

    kw = dict(backend="sd15", sampler={"name": "ddim", "steps": 2, "guidance": 3.0}, limit=1)
    kw |= dict(output_dir=str(tmp_path / "eval"), tracking_uri=f"sqlite:///{tmp_path / 'db.sqlite'}")
    df = evaluate_model(str(tiny_sd15), ["toy_shapes"], ["toy_aesthetic"], **kw)
    assert list(df["method"]) == [f"sd15:{tiny_sd15}"] and df["mean"].notna().all()
    with pytest.raises(UserError, match="--backend sd15\\|sdxl"):
        evaluate_model(str(tiny_sd15), ["toy_shapes"], ["toy_aesthetic"])  # a directory, but not ours
