"""Our four scorers reproduce the original reference code on tiny checkpoints in the official formats.

The fixtures were made by ``benchmarks/parity/make_fixtures.py`` in a throw-away environment running the
reference packages (transformers 4.46, image-reward 1.5, hpsv2 1.2.0, openai-clip); see that script.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sail_bench.metrics import build_metric

from .conftest import SHARED

FIX = Path(__file__).parent / "fixtures" / "parity"
IMAGES = [Image.open(p) for p in sorted((FIX / "images").glob("image_*.png"))]

SCORERS = {
    "pickscore": lambda d: build_metric("pickscore", model=str(d), processor=str(d), batch_size=3),
    "hpsv2": lambda d: build_metric(
        "hpsv2", version="v2.1", weights=str(d / "HPS_tiny.pt"), arch=str(d / "hps_tiny.json"), batch_size=3
    ),
    "imagereward": lambda d: build_metric("imagereward", model=str(d), processor=str(d / "tokenizer"), batch_size=3),
    "aesthetics": lambda d: build_metric(
        "aesthetics", model=str(d), weights=str(SHARED / "data" / "sac+logos+ava1-l14-linearMSE.pth"), batch_size=3
    ),
}


def rel_dev(ours: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-6)))


@pytest.mark.parametrize("metric", sorted(SCORERS))
def test_matches_reference_implementation(metric):
    expected = json.loads((FIX / metric / "expected.json").read_text())
    ref = np.asarray(expected["scores"])
    scorer = SCORERS[metric](FIX / metric)
    ours = scorer.score(IMAGES, expected["prompts"])  # batches of 3: one full batch and one partial
    print(f"{metric}: max relative deviation {rel_dev(ours, ref):.2e}; ours {ours.round(6)}, reference {ref}")
    assert rel_dev(ours, ref) <= 1e-4
    # the fixture is not degenerate: the reference scores differ across images and prompts
    assert np.ptp(ref) > 0.05
    # one at a time gives the same numbers as batched
    single = np.concatenate([scorer.score([im], [p]) for im, p in zip(IMAGES, expected["prompts"], strict=True)])
    assert np.allclose(single, ours, rtol=1e-5, atol=1e-6)


def test_reduced_precision_stays_close_to_float32():
    expected = json.loads((FIX / "imagereward" / "expected.json").read_text())
    bf16 = build_metric(
        "imagereward", model=str(FIX / "imagereward"), processor=str(FIX / "imagereward" / "tokenizer"), dtype="bf16"
    )
    assert np.allclose(bf16.score(IMAGES, expected["prompts"]), expected["scores"], atol=0.05)


def test_hpsv2_pads_non_square_images_at_full_size():
    from sail_bench.metrics.hpsv2 import hps_preprocess

    x = hps_preprocess(Image.new("RGB", (224, 100), (255, 255, 255)), 224)  # the official code would not pad this
    assert x.shape == (3, 224, 224)
    black = (0 - 0.48145466) / 0.26862954
    assert np.isclose(float(x[0, 0, 0]), black) and np.isclose(float(x[0, 112, 112]), (1 - 0.48145466) / 0.26862954)
    assert np.isclose(float(x[0, 223, 0]), black)  # 62 rows of padding top and bottom


def test_scorer_inputs_fail_clearly():
    from sail_bench.errors import MissingInput, UserError

    with pytest.raises(UserError, match="hpsv2 needs an explicit version"):
        build_metric("hpsv2")
    with pytest.raises(MissingInput, match="HPS_v2.1_compressed.pt"):
        build_metric("hpsv2", version="v2.1", weights="/nonexistent/HPS.pt").score(IMAGES[:1], ["x"])
    with pytest.raises(MissingInput, match="ImageReward.pt"):
        build_metric("imagereward", model="/nonexistent/dir").score(IMAGES[:1], ["x"])
    with pytest.raises(UserError, match="dtype 'fp8'"):
        build_metric("pickscore", dtype="fp8")


def test_a_suite_scores_with_all_four(tmp_path):
    """Suite options reach the scorers (model, processor, weights, arch, version): one base-only toy run."""
    from sail_bench.config import Suite
    from sail_bench.runner import run_suite

    from .conftest import tiny_suite_dict

    d = tiny_suite_dict(tmp_path, methods=[{"id": "base", "method": "base"}])
    d["evaluation"]["benchmarks"] = [{"name": "toy_shapes", "limit": 2}]
    d["evaluation"]["metrics"] = [
        {"name": "pickscore", "model": str(FIX / "pickscore"), "processor": str(FIX / "pickscore")},
        {
            "name": "hpsv2",
            "version": "v2.1",
            "weights": str(FIX / "hpsv2/HPS_tiny.pt"),
            "arch": str(FIX / "hpsv2/hps_tiny.json"),
        },
        {"name": "imagereward", "model": str(FIX / "imagereward"), "processor": str(FIX / "imagereward/tokenizer")},
        {
            "name": "aesthetics",
            "model": str(FIX / "aesthetics"),
            "weights": str(SHARED / "data/sac+logos+ava1-l14-linearMSE.pth"),
        },
    ]
    df = run_suite(Suite.model_validate(d)).frame()
    assert sorted(df.metric) == ["aesthetics", "hpsv2_v2.1", "imagereward", "pickscore"]
    assert df["mean"].notna().all() and (df["ci_high"] >= df["ci_low"]).all()


def test_scorer_device_and_batch_size_do_not_change_the_cache_key(tmp_path):
    from sail_bench.config import MetricRef, Suite
    from sail_bench.pipeline import Pipeline

    from .conftest import tiny_suite_dict

    pipe = Pipeline(Suite.model_validate(tiny_suite_dict(tmp_path)))
    images = pipe.eval_images(pipe.base_model(), "toy_shapes", "base")
    a = pipe.score(images, MetricRef(name="toy_oracle"), "x")
    b = pipe.score(images, MetricRef(name="toy_oracle", device="cpu", batch_size=7), "x")
    c = pipe.score(images, MetricRef(name="toy_oracle", dtype="bf16"), "x")
    assert a.key == b.key != c.key


def test_full_size_official_layouts_load_into_our_models():
    """The real ImageReward.pt / HPS_v2*.pt layouts (key → shape of the reference models at full size, in
    ``real_layouts.json``) load strictly into what our scorers build, on the meta device (no weights)."""
    import open_clip
    import torch

    from sail_bench.metrics.common import LinearMLPHead
    from sail_bench.metrics.imagereward import _part, build_blip

    lay = json.loads((FIX / "real_layouts.json").read_text())
    with torch.device("meta"):
        state = {k: torch.empty(shape) for k, shape in lay["imagereward"].items()}
        vision, text = build_blip(state, lay["imagereward_med_config"])  # strict loads inside
        head = LinearMLPHead.from_state(_part(state, "mlp."))
    v = vision.config
    assert (v.hidden_size, v.num_hidden_layers, v.num_attention_heads, v.image_size, v.patch_size) == (
        1024,
        24,
        16,
        224,
        16,
    )
    assert text.config.encoder_hidden_size == 1024 and text.config.vocab_size == 30524
    assert head.layers[0].in_features == 768
    hps = open_clip.create_model("ViT-H-14", pretrained=None, device="meta")
    hps.load_state_dict({k: torch.empty(s, device="meta") for k, s in lay["hpsv2_ViT-H-14"].items()}, strict=True)


def test_imagereward_weights_elsewhere_med_config_from_model_dir(tmp_path):
    import shutil

    shutil.copy(FIX / "imagereward" / "ImageReward.pt", tmp_path / "mine.pt")
    expected = json.loads((FIX / "imagereward" / "expected.json").read_text())
    scorer = build_metric(
        "imagereward",
        model=str(FIX / "imagereward"),
        weights=str(tmp_path / "mine.pt"),
        processor=str(FIX / "imagereward" / "tokenizer"),
    )
    assert np.allclose(scorer.score(IMAGES, expected["prompts"]), expected["scores"], rtol=1e-4)
