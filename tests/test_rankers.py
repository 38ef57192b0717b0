"""The implicit self-reward on a case with a known answer.

Point-mass "models": a denoiser trained to convergence on data that is a single point mu
predicts eps_hat(x_t) = (x_t - sqrt(abar_t) mu) / sqrt(1 - abar_t). With policy mass at A and
reference mass at 0, the reward of a candidate x0 is, exactly,
    r(x0) = -(beta/2) * mean_k[abar_k / (1 - abar_k)] * (||x0 - A||^2 - ||x0||^2) / D,
so it orders candidates by how much closer they are to A than to 0 — and, because the K draws
are shared by the candidates of a prompt, r / (||x0||^2 - ||x0 - A||^2) is the same for all of them.
"""

from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from sail_bench.backends.toy import ToyBackend
from sail_bench.methods.rankers import RankRequest, implicit_rewards, select_pairs


class PointMassDenoiser(nn.Module):
    def __init__(self, mu: torch.Tensor, abar: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mu", mu)
        self.register_buffer("abar", abar)

    def forward(self, x_t, t, encoder_hidden_states=None):
        a = self.abar[t].view(-1, 1, 1, 1)
        return SimpleNamespace(sample=(x_t - a.sqrt() * self.mu) / (1 - a).sqrt())


class PointMassBackend(ToyBackend):
    def __init__(self, models: dict) -> None:
        super().__init__()
        self.models = models

    def load_unet(self, checkpoint):
        return self.models[str(checkpoint)]


def test_implicit_reward_known_answer_and_shared_draws():
    torch.manual_seed(0)
    shape = (3, 16, 16)
    backend = PointMassBackend({})
    abar = backend.alphas_cumprod()
    A = torch.randn(shape) * 0.5
    backend.models = {"policy": PointMassDenoiser(A, abar), "ref": PointMassDenoiser(torch.zeros(shape), abar)}
    # 2 prompts x 5 candidates: A itself, 0, and points in between and beyond
    fractions = torch.tensor([1.0, 0.0, 0.3, 0.7, 1.4])
    cands = torch.stack([torch.stack([f * A + 0.05 * torch.randn(shape) for f in fractions]) for _ in range(2)])
    req = RankRequest(backend, cands, ["a red circle", "a blue square"], "policy", "ref", seed=1, draws=10, beta=10.0)
    r = implicit_rewards(req)
    closeness = ((cands**2).sum(dim=(2, 3, 4)) - ((cands - A) ** 2).sum(dim=(2, 3, 4))).numpy()
    for p in range(2):
        assert list(np.argsort(r[p])) == list(np.argsort(closeness[p]))
        ratio = r[p] / closeness[p]
        assert np.allclose(ratio, ratio[0], rtol=1e-3), ratio  # common random numbers within a prompt
    assert r[:, 0].min() > 0 > r[:, 1].max()  # A is rewarded, the reference's own mode is not
    w, l_ = select_pairs(r, "best_worst", np.random.default_rng(0))
    assert list(l_) == [1, 1]  # the reference mode is always the loser
    assert all(closeness[p, w[p]] == closeness[p].max() for p in range(2))


def test_implicit_reward_is_zero_when_policy_is_reference():
    backend = PointMassBackend({})
    m = PointMassDenoiser(torch.randn(3, 16, 16), backend.alphas_cumprod())
    backend.models = {"a": m, "b": m}
    req = RankRequest(backend, torch.randn(1, 4, 3, 16, 16), ["a circle"], "a", "b", seed=0, draws=3)
    assert np.abs(implicit_rewards(req)).max() == 0.0


def test_random_selection_orders_by_reward():
    rewards = np.random.default_rng(0).normal(size=(200, 8))
    w, l_ = select_pairs(rewards, "random", np.random.default_rng(1))
    rows = np.arange(200)
    assert (w != l_).all()
    assert (rewards[rows, w] >= rewards[rows, l_]).all()
    # not best-vs-worst: random pairs are usually not the extremes
    assert (w == rewards.argmax(1)).mean() < 0.5
