"""Rankers: a reward for each of the N candidates of each prompt.

``implicit`` is SAIL's self-reward (paper eqs. 8–10): the DPO-implied reward of the current
model against a reference, averaged over K shared (t, eps) draws. ``scorer:<metric>`` ranks by
an external scorer (OnlineDPO-Aes is the SAIL loop with ``scorer:aesthetics``); ``random`` is
a control.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from ..backends.base import Backend
from ..errors import UserError
from ..seeding import derive_seed, rng_for
from .losses import per_sample_mse


@dataclass
class RankRequest:
    backend: Backend
    latents: torch.Tensor  # (P, N, C, H, W)
    prompts: list[str]  # P
    policy: Path | None  # checkpoint of the current model (None = base)
    reference: Path | None
    seed: int
    draws: int = 10
    beta: float = 5000.0
    batch_size: int = 256


@torch.no_grad()
def implicit_rewards(req: RankRequest) -> np.ndarray:
    """r(x0) = -(beta/2) mean_k [ ||eps_k - eps_theta(x_t)||^2 - ||eps_k - eps_ref(x_t)||^2 ].

    The K draws of (t_k, eps_k) are shared by the N candidates of a prompt (common random
    numbers), so comparisons within a prompt carry no independent noise.
    """
    backend = req.backend
    policy = backend.load_unet(req.policy).eval()
    reference = backend.load_unet(req.reference).eval()
    abar = backend.alphas_cumprod()
    P, N = req.latents.shape[:2]
    K = req.draws
    shape = req.latents.shape[2:]
    per_chunk = max(1, req.batch_size // (N * K))
    out = np.zeros((P, N), dtype=np.float64)
    for start in tqdm(range(0, P, per_chunk), desc="rank (implicit)", unit="chunk", leave=False):
        idx = list(range(start, min(P, start + per_chunk)))
        eps, ts = [], []
        for p in idx:
            g = torch.Generator("cpu").manual_seed(derive_seed(req.seed, "implicit_reward", req.prompts[p], p))
            ts.append(torch.randint(0, backend.num_train_timesteps, (K,), generator=g))
            eps.append(torch.randn(K, *shape, generator=g))
        t = torch.stack(ts)[:, None, :].expand(len(idx), N, K)  # (p, N, K)
        e = torch.stack(eps)[:, None].expand(len(idx), N, K, *shape)
        x0 = req.latents[idx][:, :, None].expand(len(idx), N, K, *shape)
        a = abar[t].view(*t.shape, *[1] * len(shape))
        x_t = (a.sqrt() * x0 + (1 - a).sqrt() * e).reshape(-1, *shape).to(backend.device)
        e_flat = e.reshape(-1, *shape).to(backend.device)
        t_flat = t.reshape(-1).to(backend.device)
        cond = backend.encode_prompts([req.prompts[p] for p in idx for _ in range(N * K)])
        err = []
        for unet in (policy, reference):
            pred = backend.predict_noise(unet, x_t.to(backend.dtype), t_flat, cond)
            err.append(per_sample_mse(pred, e_flat).view(len(idx), N, K))
        out[idx] = (-(req.beta / 2) * (err[0] - err[1]).mean(dim=-1)).double().cpu().numpy()
    return out


def scorer_rewards(req: RankRequest, metric) -> np.ndarray:
    P, N = req.latents.shape[:2]
    images = req.backend.decode(req.latents.reshape(P * N, *req.latents.shape[2:]))
    prompts = [p for p in req.prompts for _ in range(N)]
    scores = metric.score([Image.fromarray(im) for im in images], prompts)
    return np.asarray(scores, dtype=np.float64).reshape(P, N)


def random_rewards(req: RankRequest) -> np.ndarray:
    P, N = req.latents.shape[:2]
    return rng_for(req.seed, "random_ranker").random((P, N))


def compute_rewards(ranker: str, req: RankRequest, metric_factory) -> np.ndarray:
    if ranker == "implicit":
        return implicit_rewards(req)
    if ranker == "random":
        return random_rewards(req)
    if ranker.startswith("scorer:"):
        return scorer_rewards(req, metric_factory(ranker.split(":", 1)[1]))
    raise UserError(f"unknown ranker {ranker!r}; use implicit, random or scorer:<metric>")


def select_pairs(rewards: np.ndarray, selection: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Winner and loser candidate index per prompt.

    best_worst: argmax vs argmin (paper). random: two distinct random candidates, ordered by reward.
    """
    P, N = rewards.shape
    if selection == "best_worst":
        return rewards.argmax(axis=1), rewards.argmin(axis=1)
    if selection == "random":
        a = np.array([rng.choice(N, 2, replace=False) for _ in range(P)])
        first_wins = rewards[np.arange(P), a[:, 0]] >= rewards[np.arange(P), a[:, 1]]
        return np.where(first_wins, a[:, 0], a[:, 1]), np.where(first_wins, a[:, 1], a[:, 0])
    raise UserError(f"unknown selection {selection!r}; use best_worst or random")
