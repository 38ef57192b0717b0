import math

import torch

from sail_bench.methods.losses import dpo_loss, per_sample_mse


def test_dpo_loss_matches_hand_computation():
    # batch [w; l] of 2 pairs, 1x1x2 "images"; noise is zero so mse = mean(pred^2)
    noise = torch.zeros(4, 1, 1, 2)
    model = torch.tensor([[1.0, 1.0], [0.0, 2.0], [2.0, 0.0], [1.0, 0.0]]).view(4, 1, 1, 2)
    ref = torch.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]).view(4, 1, 1, 2)
    beta = 0.5
    # per-sample mse: model w = [1, 2], model l = [2, 0.5]; ref w = [0.5, 1], ref l = [1, 0]
    inside = [-0.5 * beta * ((1 - 2) - (0.5 - 1)), -0.5 * beta * ((2 - 0.5) - (1 - 0))]  # [0.125, -0.125]
    expected = sum(-math.log(1 / (1 + math.exp(-x))) for x in inside) / 2
    loss, stats = dpo_loss(model, ref, noise, beta)
    assert abs(loss.item() - expected) < 1e-6
    assert stats["implicit_acc"].item() == 0.5
    assert abs(stats["delta_w"].item() - ((1 - 0.5) + (2 - 1)) / 2) < 1e-6
    assert abs(stats["delta_l"].item() - ((2 - 1) + (0.5 - 0)) / 2) < 1e-6


def test_dpo_loss_gradient_flows_only_to_policy():
    noise = torch.randn(4, 3, 2, 2)
    model = torch.randn(4, 3, 2, 2, requires_grad=True)
    ref = torch.randn(4, 3, 2, 2, requires_grad=True)
    loss, _ = dpo_loss(model, ref, noise, 10.0)
    loss.backward()
    assert model.grad is not None and model.grad.abs().sum() > 0
    assert ref.grad is None


def test_dpo_loss_is_log2_when_policy_equals_reference():
    noise, pred = torch.randn(6, 3, 4, 4), torch.randn(6, 3, 4, 4)
    loss, stats = dpo_loss(pred, pred.clone(), noise, 5000.0)
    assert abs(loss.item() - math.log(2)) < 1e-6
    assert stats["implicit_acc"].item() == 0.0


def test_per_sample_mse_is_mean_over_chw():
    a = torch.arange(8.0).view(2, 1, 2, 2)
    assert torch.allclose(per_sample_mse(a, torch.zeros_like(a)), torch.tensor([14 / 4, 126 / 4]))


def test_mapo_loss_matches_hand_computation():
    from sail_bench.methods.losses import mapo_loss

    noise = torch.zeros(4, 1, 1, 1)
    pred = torch.tensor([1.0, 2.0, 3.0, 0.5]).view(4, 1, 1, 1)  # mse: w = [1, 4], l = [9, 0.25]
    s, T, beta = 0.5, 1000, 0.1

    def score(x):
        return s * x / (math.exp(s * x) - 1)

    log_odds = [score(1) - score(9), score(4) - score(0.25)]
    margin = [math.log(1 / (1 + math.exp(-T * lo))) for lo in log_odds]
    expected = (1 + 4) / 2 - beta * sum(margin) / 2
    loss, stats = mapo_loss(pred, noise, beta, s, T)
    assert abs(loss.item() - expected) < 1e-5
    assert stats["implicit_acc"].item() == 0.5  # the first pair has the lower winner error


def test_sft_loss_is_winner_mse():
    from sail_bench.methods.losses import sft_loss

    pred, noise = torch.ones(3, 2, 2, 2) * 2, torch.zeros(3, 2, 2, 2)
    loss, _ = sft_loss(pred, noise)
    assert abs(loss.item() - 4.0) < 1e-6
