import pandas as pd
import pytest

from vtscale.analysis import question_fusion as fusion

ROWS = """variant,benchmark,metric,n,m,score
question,POPE,Overall,1,1,80
question,POPE,Overall,8,8,84
question,POPE,acc,1,1,70
question,POPE,acc,8,8,71
no_question_ft,POPE,Overall,1,1,82
no_question_ft,POPE,Overall,8,8,83
no_question,POPE,Overall,1,1,60
no_question,POPE,Overall,8,8,50
question,MME,Overall,1,1,1200
question,MME,Overall,8,8,1300
no_question_ft,MME,Overall,1,1,1100
no_question_ft,MME,Overall,8,8,1350
no_question,MME,Overall,1,1,900
no_question,MME,Overall,8,8,1000
"""


def test_deltas_on_hand_made_scores():
    scores = pd.read_csv(__import__("io").StringIO(ROWS))
    deltas = fusion.compute_deltas(scores).set_index(["benchmark", "metric", "n"])
    assert deltas.loc[("POPE", "Overall", 1), "delta_ft"] == -2
    assert deltas.loc[("POPE", "Overall", 8), "delta_ft"] == 1
    assert deltas.loc[("POPE", "Overall", 8), "delta_noft"] == 34
    assert deltas.loc[("MME", "Overall", 8), "delta_ft"] == -50
    assert deltas.loc[("MME", "Overall", 1), "delta_noft"] == 300
    assert pd.isna(deltas.loc[("POPE", "acc", 1), "delta_ft"])   # no baseline for acc


def test_normalised_curves_and_clusters():
    scores = pd.read_csv(__import__("io").StringIO(ROWS))
    curves = fusion.normalised_curves(scores)
    assert len(curves) == 6                      # 3 variants x 2 benchmarks, headline metric only
    assert curves.min(axis=1).eq(0).all() and curves.max(axis=1).eq(1).all()
    labels = fusion.cluster_curves(curves, k=10, seed=0)     # k capped at 6 curves
    assert len(set(labels)) <= 6
    down = curves.loc[("no_question", "POPE")]   # the only falling curve gets its own cluster at k=2
    labels2 = fusion.cluster_curves(curves, k=2, seed=0)
    position = list(curves.index).index(("no_question", "POPE"))
    assert down.tolist() == [1.0, 0.0]
    assert (labels2 == labels2[position]).sum() == 1


def test_cli_writes_deltas_and_figures(tmp_path):
    scores = tmp_path / "scores.csv"
    scores.write_text(ROWS)
    rc = fusion.main([str(scores), "--out-dir", str(tmp_path),
                      "--cfg", '{"analysis": {"exclude": {}, "kmeans_k": 2}, "seed": 0}'])
    assert rc == 0
    deltas = pd.read_csv(tmp_path / "question_fusion" / "deltas.csv")
    assert {"delta_ft", "delta_noft"} <= set(deltas.columns)
    for name in ("delta_no_question_ft", "delta_no_question", "clusters"):
        assert (tmp_path / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    clusters = pd.read_csv(tmp_path / "question_fusion" / "clusters.csv")
    assert clusters["cluster"].nunique() == 2


def test_missing_question_variant_is_an_input_error():
    scores = pd.read_csv(__import__("io").StringIO(ROWS))
    with pytest.raises(ValueError, match="question"):
        fusion.compute_deltas(scores[scores["variant"] != "question"])
