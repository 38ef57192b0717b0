"""Scorer parity fixtures, made with the ORIGINAL reference code in a throw-away environment (run by hand).

The main environment runs transformers 5, where the official packages do not import; this script runs
in an old one, builds tiny random checkpoints *in each official format* through the reference classes,
scores fixed images with the reference scoring code, and writes checkpoint + images + expected scores to
``tests/fixtures/parity/``. ``tests/test_parity.py`` then loads those checkpoints through sail-bench's
scorers and must reproduce the scores (|Δ| ≤ 1e-4 relative).

    python3.11 -m venv /tmp/parity-env
    /tmp/parity-env/bin/pip install torch==2.14.1 torchvision==0.29.1 transformers==4.46.3 image-reward==1.5 \
        hpsv2==1.2.0 openai-clip diffusers==0.31.0 "setuptools<70"
    # the hpsv2 1.2.0 wheel lacks CLIP's BPE vocabulary; it is the same file open_clip ships:
    cp .venv/lib/python3.11/site-packages/open_clip/bpe_simple_vocab_16e6.txt.gz \
       /tmp/parity-env/lib/python3.11/site-packages/hpsv2/src/open_clip/
    /tmp/parity-env/bin/python benchmarks/parity/make_fixtures.py tests/fixtures/parity \
        --aesthetic-head ../shared/data/sac+logos+ava1-l14-linearMSE.pth

What is "tiny": widths/depths are shrunk by constructing the reference classes with smaller arguments
(ImageReward hard-codes ViT-L and MLP(768): ``create_vit`` and the MLP width are patched to build the same
classes smaller; the BERT tokenizer is a small local vocabulary; HPSv2's ``create_model_and_transforms`` is
called on a tiny open_clip config with ``pretrained=None``). Everything else — preprocessing, tokenisation,
forward passes, score formulas — is the reference code as published.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from PIL import Image

PROMPTS = [
    "a red cube on a wooden table",
    "a photo of a cat wearing a tiny hat, highly detailed, 8k, trending on artstation",
    "",
    " ".join(["a very long prompt that goes on"] * 14),  # longer than 35 BERT and 77 CLIP tokens
]


def make_images(out: Path) -> list[Image.Image]:
    """Four fixed images: square, wide, tall, large (resizing, cropping and padding all matter)."""
    rng = np.random.default_rng(1234)
    sizes = [(64, 64), (48, 96), (120, 40), (256, 256)]  # (h, w)
    images = []
    for i, (h, w) in enumerate(sizes):
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([xx / w, yy / h, (xx + yy) / (h + w)], -1) * 200
        noise = rng.normal(0, 25, (h, w, 3))
        img = np.clip(base + noise + 20 * i, 0, 255).astype(np.uint8)
        img[h // 4 : h // 2, w // 4 : w // 2] = rng.integers(0, 255, 3)  # a flat block
        path = out / f"image_{i}.png"
        Image.fromarray(img).save(path)
        images.append(Image.open(path))
    return images


def randomize(module: torch.nn.Module, seed: int) -> None:
    """Weights with visible spread (default inits leave heads near constant, which would test nothing)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.ndim == 0:
                continue
            r = torch.randn(p.shape, generator=g)
            low = name.lower()
            if p.ndim >= 2:
                p.copy_(r / math.sqrt(p[0].numel()))
            elif low.endswith("weight") and ("norm" in low or "ln" in low):
                p.copy_(1 + 0.1 * r)
            else:
                p.copy_(0.1 * r)


def write(out: Path, expected: dict, **extra) -> None:
    versions = {p: version(p) for p in ("torch", "torchvision", "transformers")}
    payload = {"scores": expected, "prompts": PROMPTS, "reference_versions": versions | extra}
    (out / "expected.json").write_text(json.dumps(payload, indent=1))


# ---------------------------------------------------------------------------------------------- PickScore
def pickscore(out: Path, images: list[Image.Image]) -> None:
    """The official PickScore snippet (transformers 4.x AutoProcessor + CLIPModel)."""
    from transformers import (
        AutoModel,
        AutoProcessor,
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )
    from transformers.models.clip.tokenization_clip import bytes_to_unicode

    out.mkdir(parents=True, exist_ok=True)
    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)} | {c + "</w>": 256 + i for i, c in enumerate(chars)}
    vocab |= {"<|startoftext|>": 512, "<|endoftext|>": 513, "th": 514, "the</w>": 515}
    (out / "vocab.json").write_text(json.dumps(vocab))
    (out / "merges.txt").write_text("#version: 0.2\nt h\nth e</w>\n")
    tok = CLIPTokenizer(out / "vocab.json", out / "merges.txt", pad_token="<|endoftext|>")
    cfg = CLIPConfig(
        text_config=dict(
            vocab_size=516,
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            bos_token_id=512,
            eos_token_id=513,
            pad_token_id=513,
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=224,
            patch_size=32,
        ),
        projection_dim=16,
    )
    torch.manual_seed(0)
    model = CLIPModel(cfg)
    randomize(model, 1)
    model.save_pretrained(out, safe_serialization=True)
    CLIPProcessor(image_processor=CLIPImageProcessor(), tokenizer=tok).save_pretrained(out)

    # --- reference code (github.com/yuvalkirstain/PickScore, README "Inference with PickScore") ---
    processor = AutoProcessor.from_pretrained(out)
    model = AutoModel.from_pretrained(out).eval()
    scores = []
    for image, prompt in zip(images, PROMPTS, strict=True):
        image_inputs = processor(images=[image], padding=True, truncation=True, max_length=77, return_tensors="pt")
        text_inputs = processor(text=prompt, padding=True, truncation=True, max_length=77, return_tensors="pt")
        with torch.no_grad():
            image_embs = model.get_image_features(**image_inputs)
            image_embs = image_embs / torch.norm(image_embs, dim=-1, keepdim=True)
            text_embs = model.get_text_features(**text_inputs)
            text_embs = text_embs / torch.norm(text_embs, dim=-1, keepdim=True)
            scores.append(float((model.logit_scale.exp() * (text_embs @ image_embs.T)[0])[0]))
    write(out, scores)


# ---------------------------------------------------------------------------------------------- HPSv2
HPS_TINY = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 32, "head_width": 16, "patch_size": 28},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 8, "heads": 2, "layers": 2},
}


def hpsv2(out: Path, images: list[Image.Image]) -> None:
    import hpsv2 as pkg
    from hpsv2 import img_score
    from hpsv2.src.open_clip import factory

    out.mkdir(parents=True, exist_ok=True)
    (out / "hps_tiny.json").write_text(json.dumps(HPS_TINY, indent=1))
    factory._MODEL_CONFIGS["hps_tiny"] = HPS_TINY
    original = img_score.create_model_and_transforms

    @functools.wraps(original)
    def tiny(model_name, pretrained=None, **kw):  # the official call, on the tiny config, without LAION init
        return original("hps_tiny", None, **kw)

    img_score.create_model_and_transforms = tiny
    img_score.initialize_model()
    model = img_score.model_dict["model"]
    randomize(model, 2)
    ckpt = out / "HPS_tiny.pt"
    torch.save({"state_dict": model.state_dict()}, ckpt)  # the official file layout
    pairs = zip(images, PROMPTS, strict=True)
    scores = [100 * float(img_score.score(image, prompt, cp=str(ckpt))[0]) for image, prompt in pairs]
    write(out, scores, hpsv2=version("hpsv2"), hpsv2_path=str(Path(pkg.__file__).parent))


# ---------------------------------------------------------------------------------------------- ImageReward
BERT_WORDS = "a the of on in photo cat red cube table very long prompt that goes wooden hat highly detailed".split()


def imagereward(out: Path, images: list[Image.Image]) -> None:
    import importlib

    ir_mod = importlib.import_module("ImageReward.ImageReward")  # the module (the package re-exports the class)
    from ImageReward.models.BLIP import blip as blip_mod
    from ImageReward.models.BLIP import blip_pretrain
    from ImageReward.models.BLIP.vit import VisionTransformer
    from transformers import BertTokenizer

    out.mkdir(parents=True, exist_ok=True)
    tok_dir = out / "tokenizer"
    tok_dir.mkdir(exist_ok=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789,.")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + BERT_WORDS + letters + ["##" + c for c in letters]
    (tok_dir / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(tok_dir / "vocab.txt")).save_pretrained(tok_dir)
    med = {
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 48,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": 64,
        "model_type": "bert",
        "num_attention_heads": 2,
        "num_hidden_layers": 2,
        "pad_token_id": 0,
        "type_vocab_size": 2,
        "vocab_size": len(vocab) + 2,
        "encoder_width": 768,
        "add_cross_attention": True,
    }  # the official med_config.json with BERT-base shrunk (vocab + [DEC], [ENC] as in the real 30524)
    (out / "med_config.json").write_text(json.dumps(med, indent=1))

    # the reference classes, built smaller: ViT 128 wide / 2 deep / 2 heads / MLP ratio 2 at 224 px;
    # the MLP on the 32-wide [CLS]
    def tiny_vit(vit, image_size, use_grad_checkpointing=False, ckpt_layer=0, drop_path_rate=0):
        return VisionTransformer(
            img_size=image_size, patch_size=16, embed_dim=128, depth=2, num_heads=2, mlp_ratio=2.0, drop_path_rate=0.1
        ), 128

    class LocalBert(BertTokenizer):
        @classmethod
        def from_pretrained(cls, name, *a, **kw):
            assert name == "bert-base-uncased"
            return super().from_pretrained(str(tok_dir), *a, **kw)

    blip_mod.BertTokenizer = LocalBert  # stays: the real-layout check below needs no real vocabulary either
    real_vit, real_mlp = blip_pretrain.create_vit, ir_mod.MLP
    blip_pretrain.create_vit, ir_mod.MLP = tiny_vit, _tiny_mlp(ir_mod.MLP)
    try:
        model = ir_mod.ImageReward(med_config=str(out / "med_config.json"), device="cpu")
        randomize(model, 3)
        torch.save(model.state_dict(), out / "ImageReward.pt")  # the official file: a plain state dict
        # --- reference code: ImageReward.load() = construct, load_state_dict(strict=False), eval ---
        ref = ir_mod.ImageReward(med_config=str(out / "med_config.json"), device="cpu")
        ref.load_state_dict(torch.load(out / "ImageReward.pt", map_location="cpu"), strict=False)
        ref.eval()
        with torch.no_grad():
            scores = [float(ref.score(prompt, image)) for image, prompt in zip(images, PROMPTS, strict=True)]
    finally:
        blip_pretrain.create_vit, ir_mod.MLP = real_vit, real_mlp
    write(out, scores, image_reward=version("image-reward"))


# the official THUDM/ImageReward med_config.json (BLIP's; encoder_width is replaced by the ViT-L width)
REAL_MED_CONFIG = {
    "architectures": ["BertModel"],
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "type_vocab_size": 2,
    "vocab_size": 30524,
    "encoder_width": 768,
    "add_cross_attention": True,
}


def real_layouts(out: Path) -> None:
    """Key → shape of the full-size official models, randomly initialised (no weights, no download):
    ImageReward (BLIP ViT-L/16 + BERT-base) and HPSv2's ViT-H-14 as hpsv2's own open_clip copy builds it.
    The tests load these layouts into our classes: every key renamed right, every shape inferred right."""
    import importlib

    from hpsv2.src.open_clip import factory
    from hpsv2.src.open_clip.model import CLIP

    ir_mod = importlib.import_module("ImageReward.ImageReward")
    (out / "med_config.json").write_text(json.dumps(REAL_MED_CONFIG, indent=1))
    ir = ir_mod.ImageReward(med_config=str(out / "med_config.json"), device="cpu")  # BLIP's ViT calls .item()
    with torch.device("meta"):
        hps = CLIP(**factory._MODEL_CONFIGS["ViT-H-14"])
    layouts = {
        "imagereward_med_config": REAL_MED_CONFIG,
        "imagereward": {k: list(v.shape) for k, v in ir.state_dict().items()},
        "hpsv2_ViT-H-14": {k: list(v.shape) for k, v in hps.state_dict().items()},
    }
    (out / "real_layouts.json").write_text(json.dumps(layouts))
    (out / "med_config.json").unlink()


def _tiny_mlp(mlp_cls):
    def build(input_size):
        return mlp_cls(32)

    return build


# ---------------------------------------------------------------------------------------------- Aesthetics
def aesthetics(out: Path, images: list[Image.Image], head_path: Path) -> None:
    """LAION improved-aesthetic-predictor: openai `clip` ViT image features, L2-normalised, MLP.

    The tiny OpenAI-format CLIP is converted to a transformers CLIPVisionModelWithProjection here (the layout
    of ``openai/clip-vit-large-patch14``); sail-bench loads that, the reference scores with the OpenAI model.
    """
    import clip
    from clip.model import CLIP
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    oa = CLIP(
        embed_dim=768,
        image_resolution=224,
        vision_layers=2,
        vision_width=64,
        vision_patch_size=32,
        context_length=77,
        vocab_size=64,
        transformer_width=8,
        transformer_heads=2,
        transformer_layers=1,
    )
    randomize(oa.visual, 4)
    oa = oa.float().eval()
    width = 64
    hf = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=width,
            intermediate_size=4 * width,
            num_hidden_layers=2,
            num_attention_heads=width // 64,
            image_size=224,
            patch_size=32,
            projection_dim=768,
            hidden_act="quick_gelu",
            layer_norm_eps=1e-5,
        )
    )
    v = oa.visual.state_dict()
    s = {
        "vision_model.embeddings.class_embedding": v["class_embedding"],
        "vision_model.embeddings.position_embedding.weight": v["positional_embedding"],
        "vision_model.embeddings.patch_embedding.weight": v["conv1.weight"],
        "vision_model.pre_layrnorm.weight": v["ln_pre.weight"],
        "vision_model.pre_layrnorm.bias": v["ln_pre.bias"],
        "vision_model.post_layernorm.weight": v["ln_post.weight"],
        "vision_model.post_layernorm.bias": v["ln_post.bias"],
        "visual_projection.weight": v["proj"].T.contiguous(),
    }
    for i in range(2):
        a, b = f"transformer.resblocks.{i}.", f"vision_model.encoder.layers.{i}."
        for n, w in zip(("q", "k", "v"), v[a + "attn.in_proj_weight"].chunk(3), strict=True):
            s[b + f"self_attn.{n}_proj.weight"] = w
        for n, w in zip(("q", "k", "v"), v[a + "attn.in_proj_bias"].chunk(3), strict=True):
            s[b + f"self_attn.{n}_proj.bias"] = w
        for src, dst in (
            ("attn.out_proj", "self_attn.out_proj"),
            ("ln_1", "layer_norm1"),
            ("ln_2", "layer_norm2"),
            ("mlp.c_fc", "mlp.fc1"),
            ("mlp.c_proj", "mlp.fc2"),
        ):
            s[b + dst + ".weight"], s[b + dst + ".bias"] = v[a + src + ".weight"], v[a + src + ".bias"]
    missing, unexpected = hf.load_state_dict(s, strict=False)
    assert not unexpected and all("position_ids" in k for k in missing), (missing, unexpected)
    hf.save_pretrained(out, safe_serialization=True)

    # --- reference code (improved-aesthetic-predictor/simple_inference.py) ---
    preprocess = clip.clip._transform(224)
    state = torch.load(head_path, map_location="cpu", weights_only=True)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(768, 1024),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(1024, 128),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(128, 64),
        torch.nn.Dropout(0.1),
        torch.nn.Linear(64, 16),
        torch.nn.Linear(16, 1),
    )
    mlp.load_state_dict({k.removeprefix("layers."): t for k, t in state.items()})
    mlp.eval()
    scores = []
    for image in images:
        with torch.no_grad():
            f = oa.encode_image(preprocess(image).unsqueeze(0)).numpy()
        f = f / np.expand_dims(np.linalg.norm(f, 2, -1), -1)  # the reference's `normalized()`
        scores.append(float(mlp(torch.from_numpy(f).float())[0, 0]))
    write(out, scores, openai_clip=version("openai-clip"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--aesthetic-head", type=Path, required=True)
    args = ap.parse_args()
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    images = make_images(args.out / "images")
    pickscore(args.out / "pickscore", images)
    hpsv2(args.out / "hpsv2", images)
    imagereward(args.out / "imagereward", images)
    aesthetics(args.out / "aesthetics", images, args.aesthetic_head)
    real_layouts(args.out)
    for p in sorted(args.out.rglob("expected.json")):
        print(p.parent.name, json.loads(p.read_text())["scores"])


if __name__ == "__main__":
    main()
