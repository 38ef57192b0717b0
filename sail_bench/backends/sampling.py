"""One sampling loop for every backend: diffusers schedulers, CFG, one generator per item.

Every item of a batch draws its initial noise (and, for stochastic samplers such as DDPM, its
per-step noise) from its own ``torch.Generator`` seeded from the item's id, so an image does not
depend on which other items share its batch, on sharding, or on restarts.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import DDIMScheduler, DDPMScheduler, EulerDiscreteScheduler
from diffusers.utils.torch_utils import randn_tensor

SAMPLERS = {"ddim": DDIMScheduler, "ddpm": DDPMScheduler, "euler": EulerDiscreteScheduler}

NoiseFn = Callable[[torch.Tensor, torch.Tensor, dict], torch.Tensor]


def make_sampler(name: str, train_scheduler_config: dict):
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; one of {sorted(SAMPLERS)}")
    return SAMPLERS[name].from_config(train_scheduler_config)


def cat_cond(a: dict, b: dict) -> dict:
    return {k: torch.cat([a[k], b[k]]) for k in a}


@torch.no_grad()
def sample_latents(
    predict_noise: NoiseFn,
    cond: dict,
    uncond: dict | None,
    shape: tuple[int, ...],
    seeds: list[int],
    sampler_name: str,
    steps: int,
    guidance: float,
    train_scheduler_config: dict,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Denoise ``len(seeds)`` latents of ``shape`` (without batch dim); CFG when guidance > 1."""
    scheduler = make_sampler(sampler_name, train_scheduler_config)
    scheduler.set_timesteps(steps, device=device)
    gens = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
    latents = randn_tensor((len(seeds), *shape), generator=gens, device=torch.device("cpu"), dtype=torch.float32)
    latents = (latents * scheduler.init_noise_sigma).to(device)
    use_cfg = guidance > 1.0  # as diffusers' pipelines: guidance <= 1 means no CFG
    if use_cfg:
        assert uncond is not None, "classifier-free guidance needs the unconditional embedding"
        both = cat_cond(uncond, cond)
    for t in scheduler.timesteps:
        model_in = scheduler.scale_model_input(latents, t)
        if use_cfg:
            eps_u, eps_c = predict_noise(torch.cat([model_in] * 2).to(dtype), t, both).float().chunk(2)
            eps = eps_u + guidance * (eps_c - eps_u)
        else:
            eps = predict_noise(model_in.to(dtype), t, cond).float()
        # per-item generators also drive the noise of stochastic steps (DDPM); diffusers draws it
        # on the generators' device (CPU), so a GPU and a CPU run draw the same numbers
        step_kwargs = {"generator": gens} if sampler_name in ("ddpm", "euler") else {}
        latents = scheduler.step(eps, t, latents, **step_kwargs).prev_sample
    return latents
