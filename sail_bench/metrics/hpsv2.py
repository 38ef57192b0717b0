"""HPSv2 (Wu et al. 2023): an open_clip ViT-H/14 fine-tuned on HPDv2.

score = 100 * cos(image embedding, prompt embedding)   (the paper's tables report ×100; ≈ 24–30)

The version is explicit (v2.0 and v2.1 are different checkpoints and not comparable) and part of the
metric's key (``hpsv2_v2.1``). Weights: ``HPS_v2_compressed.pt`` / ``HPS_v2.1_compressed.pt`` from hub
repo ``xswu/HPSv2``, loaded with ``weights_only=True`` into open_clip ``ViT-H-14`` built with
``pretrained=None`` (the LAION initialisation would be overwritten anyway).

Preprocessing as the official ``preprocess_val`` (``light_augmentation=True``): to tensor, bicubic resize
(on the tensor, antialiased) so the longest side is 224, centred zero padding to a square, OpenAI
mean/std. The official code skips the padding when the longest side already is 224, which then fails for
non-square images; here such images are padded too.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import torch
from PIL import Image

from ..errors import UserError
from . import METRICS
from .common import CLIP_MEAN, CLIP_STD, BatchedScorer, load

ARCH = "ViT-H-14"
HUB_REPO = "xswu/HPSv2"
FILES = {"v2.0": "HPS_v2_compressed.pt", "v2.1": "HPS_v2.1_compressed.pt"}


def hps_preprocess(image: Image.Image, size: int) -> torch.Tensor:
    from torchvision.transforms import functional as F

    x = F.to_tensor(image.convert("RGB"))
    h, w = x.shape[1:]
    scale = size / float(max(h, w))
    if scale != 1.0:
        h, w = round(h * scale), round(w * scale)
        x = F.resize(x, [h, w], F.InterpolationMode.BICUBIC)
    if (h, w) != (size, size):
        ph, pw = size - h, size - w
        x = F.pad(x, [pw // 2, ph // 2, pw - pw // 2, ph - ph // 2], fill=0)
    return F.normalize(x, CLIP_MEAN, CLIP_STD)


@METRICS.register("hpsv2")
class HPSv2(BatchedScorer):
    """HPSv2 (open_clip ViT-H/14 + HPS checkpoint), 100 x cosine; version v2.0 | v2.1 required."""

    name = "hpsv2"

    def __init__(
        self,
        version: str | None = None,
        model: str | None = None,
        weights: str | None = None,
        arch: str | None = None,
        device: str = "cpu",
        dtype: str = "fp32",
        batch_size: int = 32,
    ) -> None:
        if version not in FILES:
            raise UserError(
                f"evaluation.metrics: hpsv2 needs an explicit version, one of {sorted(FILES)} (got {version!r}); "
                "e.g. {name: hpsv2, version: v2.1}"
            )
        self.version = version
        self.display = f"HPS{version}"
        self.repo = model or HUB_REPO
        self.weights = weights
        self.arch = arch or ARCH
        super().__init__(device, dtype, batch_size)

    def _checkpoint(self) -> str:
        if self.weights:
            if not Path(self.weights).is_file():
                raise FileNotFoundError(self.weights)
            return self.weights
        if Path(self.repo).is_dir():
            return str(Path(self.repo) / FILES[self.version])
        from huggingface_hub import hf_hub_download

        return hf_hub_download(self.repo, FILES[self.version])

    def _arch_name(self) -> str:
        import open_clip

        if self.arch.endswith(".json"):  # a model config file (tests use tiny ones)
            open_clip.add_model_config(self.arch)
            return Path(self.arch).stem
        return self.arch

    @cached_property
    def model(self):
        import open_clip

        def build():
            name = self._arch_name()
            model = open_clip.create_model(name, pretrained=None)
            state = torch.load(self._checkpoint(), map_location="cpu", weights_only=True)
            model.load_state_dict(state["state_dict"] if "state_dict" in state else state)
            return model.eval().to(self.device, self.dtype), open_clip.get_tokenizer(name)

        return load(
            f"hpsv2 {self.version}: checkpoint",
            self.weights or f"{self.repo}/{FILES[self.version]}",
            build,
            f"pass weights: /path/to/{FILES[self.version]} (hub {HUB_REPO})",
        )

    def score_batch(self, images: list[Image.Image], prompts: list[str]) -> torch.Tensor:
        model, tokenizer = self.model
        size = model.visual.image_size
        size = size[0] if isinstance(size, tuple | list) else size
        pix = torch.stack([hps_preprocess(im, size) for im in images]).to(self.device, self.dtype)
        img = model.encode_image(pix).float()
        txt = model.encode_text(tokenizer(prompts).to(self.device)).float()
        img, txt = img / img.norm(dim=-1, keepdim=True), txt / txt.norm(dim=-1, keepdim=True)
        return 100 * (img * txt).sum(-1)
