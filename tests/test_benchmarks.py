import json

import pytest

from sail_bench.errors import MissingInput, UserError
from sail_bench.evaluation.benchmarks import load_benchmark

from .conftest import SHARED

PARTI = SHARED / "data" / "PartiPrompts.tsv"


def test_partiprompts_from_the_real_tsv():
    items = load_benchmark("partiprompts", path=str(PARTI))
    assert len(items) == 1632
    assert len({it.group for it in items}) == 12 and "Animals" in {it.group for it in items}
    assert items[0].prompt == "bond" and items[0].group == "Abstract" and items[0].subgroup == "Basic"
    assert len({it.item_id for it in items}) == 1632
    limited = load_benchmark("partiprompts", limit=2, path=str(PARTI))
    assert len(limited) == 24  # two per category: breakdowns stay whole


def test_hpsv2_folder_and_pickapic_file(tmp_path):
    for style in ("anime", "concept-art", "paintings", "photo"):
        (tmp_path / f"{style}.json").write_text(json.dumps([f"{style} prompt {i}" for i in range(5)]))
    items = load_benchmark("hpsv2", path=str(tmp_path), limit=3)
    assert len(items) == 12 and items[3].group == "concept-art" and items[3].item_id == "hps-concept-art-000"
    (tmp_path / "val.jsonl").write_text("\n".join(json.dumps({"caption": c}) for c in ["a", "b", "a", "c"]))
    assert [it.prompt for it in load_benchmark("pickapic_val_unique", path=str(tmp_path / "val.jsonl"))] == list("abc")
    (tmp_path / "photo.json").unlink()
    with pytest.raises(UserError, match="photo.json not found"):
        load_benchmark("hpsv2", path=str(tmp_path))


def test_hub_benchmarks_offline_say_so():
    with pytest.raises(MissingInput, match="give evaluation.benchmarks"):
        load_benchmark("partiprompts")


def test_breakdowns_per_group_and_subgroup():
    import pandas as pd

    from sail_bench.runner import score_stats

    df = pd.DataFrame({"score": [1.0, 2.0, 3.0, 4.0], "group": list("aabb"), "subgroup": list("xyxy")})
    base = df.assign(score=[0.0, 0.5, 0.0, 0.5])
    stats = score_stats(df, {"base": base}, 200, 0)
    assert stats["by_group/b/mean"] == 3.5 and stats["by_subgroup/x/mean"] == 2.0  # category / challenge
    assert stats["by_subgroup/y/vs_base/diff"] == 2.5 and stats["vs_base/diff"] == 2.25
    assert not any(k.startswith("by_") for k in score_stats(df.drop(columns=["group", "subgroup"]), {}, 200, 0))
