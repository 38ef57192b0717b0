"""The LAION aesthetic scorer: the real MLP head from ../shared/data (parity with the reference: test_parity)."""

import pytest
import torch
from PIL import Image

from sail_bench.errors import MissingInput, UserError
from sail_bench.metrics import build_metric
from sail_bench.metrics.aesthetics import AestheticHead

from .conftest import SHARED

HEAD = SHARED / "data" / "sac+logos+ava1-l14-linearMSE.pth"


def test_real_head_is_the_linear_chain_of_its_weights():
    state = torch.load(HEAD, map_location="cpu", weights_only=True)
    head = AestheticHead.from_file(HEAD)
    x = torch.nn.functional.normalize(torch.randn(5, 768, generator=torch.Generator().manual_seed(0)), dim=-1)
    h = x
    for i in (0, 2, 4, 6, 7):  # dropout layers are identities in eval mode; there are no activations
        h = h @ state[f"layers.{i}.weight"].T + state[f"layers.{i}.bias"]
    with torch.no_grad():
        assert torch.allclose(head(x), h, atol=1e-5)
    # on unit-norm CLIP-like inputs the real head answers in its usual range (≈ 3..8)
    with torch.no_grad():
        assert 0 < float(head(x).mean()) < 10


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    out = tmp_path_factory.mktemp("clip")
    torch.manual_seed(0)
    cfg = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=32,
        patch_size=8,
        projection_dim=768,
    )
    CLIPVisionModelWithProjection(cfg).save_pretrained(out)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(out)
    return out


def test_missing_head_is_a_clear_error(tiny_clip, tmp_path):
    with pytest.raises(UserError, match="aesthetics needs weights: /path/to/sac\\+logos\\+ava1-l14-linearMSE.pth"):
        build_metric("aesthetics", model=str(tiny_clip))  # at validate time, before any work
    metric = build_metric("aesthetics", model=str(tiny_clip), weights=str(tmp_path / "absent.pth"))
    with pytest.raises(MissingInput, match="absent.pth"):
        metric.score([Image.new("RGB", (8, 8))], [""])
