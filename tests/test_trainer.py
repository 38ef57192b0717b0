"""The trainer with each loss on the toy backend: the checkpoint changes and round-trips through safetensors."""

import pytest
import torch

from sail_bench.backends.toy import ToyBackend
from sail_bench.config import TrainConfig
from sail_bench.data.pairs import PairSet
from sail_bench.methods import trainer
from sail_bench.methods.trainer import resolve_schedule, train_preference


def _pairs(n=8):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2 * n, 3, 16, 16, generator=g) * 2 - 1
    return PairSet(x[:n], x[n:], ["a red circle", "a blue square"] * (n // 2), ["seed"] * n)


@pytest.mark.parametrize("loss", ["dpo", "mapo", "sft"])
def test_each_loss_trains_and_saves(tmp_path, loss, monkeypatch):
    backend = ToyBackend()
    loads = []
    real_load = backend.load_unet
    monkeypatch.setattr(backend, "load_unet", lambda c: loads.append(c) or real_load(c))
    cfg = TrainConfig(loss=loss, beta=1000, lr=1e-4, batch_size=4, grad_accum=2, steps=2)
    summary = train_preference(backend, None, None, _pairs(), cfg, seed=0, out_dir=tmp_path)
    assert len(loads) == (2 if loss == "dpo" else 1)  # MaPO and SFT never load a reference
    assert summary["steps"] == 2 and summary["effective_batch"] == 8 and summary["lr"] == 1e-4
    before = real_load(None).state_dict()
    after = backend.load_unet(tmp_path).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").exists()


def test_same_seed_same_weights(tmp_path):
    backend = ToyBackend()
    cfg = TrainConfig(beta=1000, lr=1e-4, batch_size=4, steps=2)
    for d in ("a", "b"):
        train_preference(backend, None, None, _pairs(), cfg, seed=3, out_dir=tmp_path / d)
    a, b = backend.load_unet(tmp_path / "a").state_dict(), backend.load_unet(tmp_path / "b").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_lr_rule_and_epochs():
    cfg = TrainConfig(lr_per_sample=1e-8, batch_size=1, grad_accum=128, epochs=2)
    s = resolve_schedule(cfg, n_pairs=1000, num_processes=16)
    assert s["effective_batch"] == 2048 and abs(s["lr"] - 2.048e-5) < 1e-12 and s["steps"] == 1
    assert trainer.resolve_schedule(TrainConfig(lr=1.0, batch_size=32, epochs=12), 256)["steps"] == 96
