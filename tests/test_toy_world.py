import numpy as np
import pytest

from sail_bench.toy.oracle import bradley_terry_labels, oracle_score, oracle_terms, proxy_aesthetic
from sail_bench.toy.world import BACKGROUNDS, COLOURS, ToyPrompt, all_prompts, parse_prompt, render, sample_scenes


def _one(shape="circle", colour="red", bg="grey", cx=8.0, cy=8.0, r=0.34 * 16):
    return render(np.array([COLOURS[colour]], float), [shape], np.array([BACKGROUNDS[bg]], float), [cx], [cy], [r])


def test_prompt_round_trip_and_space():
    prompts = all_prompts()
    assert len(prompts) == len({p.text for p in prompts}) == 215
    for p in prompts:
        assert parse_prompt(p.text) == p
    assert parse_prompt("") == ToyPrompt(None, None, None)
    with pytest.raises(ValueError, match="unknown words"):
        parse_prompt("a mauve circle")


def test_oracle_prefers_adherence_size_and_centring():
    ideal = _one()
    p = ["a red circle on grey"]
    s = oracle_score(ideal, p)[0]
    assert s > 4.5  # every term near 1
    assert oracle_score(_one(colour="blue"), p)[0] < s - 0.5
    assert oracle_score(_one(shape="triangle"), p)[0] < s - 0.05
    assert oracle_score(_one(bg="white"), p)[0] < s - 0.5
    assert oracle_score(_one(cx=4, cy=4), p)[0] < s - 0.5
    assert oracle_score(_one(r=0.15 * 16), p)[0] < s - 0.5
    assert oracle_score(_one(r=0.5 * 16), p)[0] < s - 0.3  # too large is worse too
    # an unnamed attribute accepts any clean palette value
    assert oracle_score(_one(colour="green"), ["a circle on grey"])[0] > 4.5


def test_shape_term_tells_shapes_apart():
    for s in ("circle", "square", "triangle"):
        img = _one(shape=s)[0]
        scores = {t: oracle_terms(img, ToyPrompt("red", t, "grey"))["shape"] for t in ("circle", "square", "triangle")}
        assert max(scores, key=scores.get) == s


def test_proxy_agrees_only_in_part():
    # larger and more vivid is better for the proxy, even past the oracle's preferred size
    big = _one(r=0.6 * 16)
    ideal = _one()
    assert proxy_aesthetic(big)[0] > proxy_aesthetic(ideal)[0]
    assert oracle_score(big, ["a red circle on grey"])[0] < oracle_score(ideal, ["a red circle on grey"])[0]
    rng = np.random.default_rng(0)
    ps = [p for p in all_prompts() if p.colour and p.shape and p.background]
    batch = [ps[i] for i in rng.integers(0, len(ps), 300)]
    imgs = sample_scenes(batch, rng)
    corr = np.corrcoef(proxy_aesthetic(imgs), oracle_score(imgs, [p.text for p in batch]))[0, 1]
    assert 0.1 < corr < 0.8


def test_bradley_terry_noise_level():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=20000), rng.normal(size=20000)
    labels = bradley_terry_labels(a, b, 0.25, rng)
    agree = (labels == (a > b)).mean()
    assert 0.8 < agree < 0.95
    assert bradley_terry_labels(a, b, 1e-6, rng).tolist() == (a > b).tolist()
