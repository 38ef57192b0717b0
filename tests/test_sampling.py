import torch

from sail_bench.backends.toy import ToyBackend


def test_image_depends_only_on_its_prompt_and_seed():
    backend = ToyBackend()
    unet = backend.load_unet(None)
    prompts = ["a red circle", "a blue square on white", "a triangle", "a green shape"]
    seeds = [11, 22, 33, 44]
    for sampler in ("ddim", "ddpm"):
        batch = backend.generate(unet, prompts, seeds, sampler, 5, 1.0, batch_size=4)
        alone = backend.generate(unet, prompts[2:3], seeds[2:3], sampler, 5, 1.0, batch_size=1)
        assert torch.allclose(batch[2], alone[0], atol=1e-4)
        assert not torch.allclose(batch[0], batch[1], atol=1e-2)
    again = backend.generate(unet, prompts, seeds, "ddpm", 5, 3.0, batch_size=2)
    assert torch.equal(again, backend.generate(unet, prompts, seeds, "ddpm", 5, 3.0, batch_size=2))
