import numpy as np
import pandas as pd
import pytest

from vtscale.analysis import fit
from vtscale.errors import InputError

GRID = [1, 8, 16, 32, 64, 128, 256, 384, 512, 768]


def tidy_scores(groups):
    rows = []
    for (variant, bench, metric), (c, alpha) in groups.items():
        for n in GRID:
            rows.append({"variant": variant, "benchmark": bench, "metric": metric,
                         "n": n, "m": min(8, n), "score": c * n ** (-alpha)})
    return pd.DataFrame(rows)


def test_recovers_known_c_and_alpha_noise_free():
    truth = {("question", "MME", "Overall"): (1500.0, -0.05),
             ("question", "POPE", "F1"): (80.0, -0.012),
             ("no_question", "POPE", "F1"): (0.3, 0.2)}
    fits = fit.fit_all(tidy_scores(truth))
    assert len(fits) == 3
    for row in fits.itertuples():
        c, alpha = truth[(row.variant, row.benchmark, row.metric)]
        assert abs(row.C - c) / c < 1e-6
        assert abs(row.alpha - alpha) < 1e-6
        assert row.r2 == pytest.approx(1.0, abs=1e-9)
        assert row.n_points == len(GRID)


def test_excluded_n_give_a_second_fit_beside_the_plain_one():
    frame = tidy_scores({("q", "B", "acc"): (50.0, -0.1), ("q", "Other", "acc"): (50.0, -0.1)})
    frame.loc[(frame["n"] == 1) & (frame["benchmark"] == "B"), "score"] = 5.0   # outlier at n = 1
    fits = fit.fit_all(frame, exclude={"B": [1, 3]}).set_index("benchmark")
    plain = fit.fit_all(frame).set_index("benchmark")
    assert fits.loc["B", "r2"] < 0.99 and fits.loc["B", "alpha"] == plain.loc["B", "alpha"]
    assert fits.loc["B", "excluded_n"] == "1"                 # 3 is not on the grid
    assert fits.loc["B", "n_points_excl"] == len(GRID) - 1
    assert fits.loc["B", "alpha_excl"] == pytest.approx(-0.1, abs=1e-6)
    assert fits.loc["Other", "excluded_n"] == "" and np.isnan(fits.loc["Other", "alpha_excl"])


def test_fits_csv_round_trip_keeps_excluded_n_as_text(tmp_path):
    frame = tidy_scores({("q", "RealWorldQA", "Overall"): (50.0, -0.1), ("q", "B", "acc"): (50.0, -0.1)})
    path = tmp_path / "fits.csv"
    fit.write_fits(fit.fit_all(frame, exclude={"RealWorldQA": [384, 512]}), path)
    back = fit.read_fits(path).set_index("benchmark")
    assert back.loc["RealWorldQA", "excluded_n"] == "384,512" and back.loc["B", "excluded_n"] == ""


def test_paper_profile_refits_realworldqa_without_its_two_anomalous_n(repo_root):
    import yaml
    paper = yaml.safe_load((repo_root / "config/paper.yaml").read_text())
    assert paper["analysis"]["exclude"] == {"RealWorldQA": [384, 512]}


def test_flat_series_has_zero_alpha_and_undefined_r2():
    n = [1, 2, 4, 8]
    flat = [100 / 6, np.nextafter(100 / 6, 20), 100 / 6, np.nextafter(100 / 6, 0)]  # equal up to 1 ulp
    result = fit.fit_power_law(pd.Series(n), pd.Series(flat))
    assert result.alpha == pytest.approx(0.0, abs=1e-9)
    assert result.C == pytest.approx(100 / 6)
    assert result.r2 != result.r2   # NaN


def test_non_positive_group_is_skipped_with_warning(caplog):
    frame = tidy_scores({("q", "Good", "acc"): (50.0, -0.1), ("q", "Zero", "acc"): (50.0, -0.1)})
    frame.loc[(frame["benchmark"] == "Zero") & (frame["n"] == 8), "score"] = 0.0
    fits = fit.fit_all(frame)
    assert fits["benchmark"].tolist() == ["Good"]
    assert "q/Zero/acc" in caplog.text


def test_cli_prints_table_and_writes_csv_and_figure(tmp_path, capsys):
    scores = tmp_path / "scores.csv"
    tidy_scores({("question", "MME", "Overall"): (1500.0, -0.05),
                 ("question", "MME", "acc"): (60.0, -0.03),
                 ("no_question", "MME", "Overall"): (1200.0, -0.02)}).to_csv(scores, index=False)
    out, figure = tmp_path / "fits.csv", tmp_path / "fig" / "scaling.png"
    rc = fit.main([str(scores), "--out", str(out), "--figure", str(figure),
                   "--cfg", '{"analysis": {"exclude": {"MME": [1]}, "kmeans_k": 2}}',
                   "--exclude", "MME:768"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "alpha" in printed and "no_question" in printed
    fits = pd.read_csv(out)
    assert list(fits.columns) == fit.FIT_COLUMNS
    assert (fits["n_points"] == len(GRID)).all()
    mme = fits[fits["benchmark"] == "MME"]
    assert (mme["n_points_excl"] == len(GRID) - 2).all() and (mme["excluded_n"] == "1,768").all()
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_column_names_file_and_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("variant,benchmark,n,score\nq,B,1,0.5\n")
    with pytest.raises(InputError, match=r"bad\.csv.*'metric'"):
        fit.main([str(bad), "--out", str(tmp_path / "f.csv")])


def test_bad_exclude_flag_is_a_config_error():
    with pytest.raises(ValueError, match="BENCHMARK:n1,n2"):
        fit.parse_exclude(["MME"])


def test_vtscale_cli_reports_bad_input_as_one_line(tmp_path, capsys):
    from vtscale import cli
    bad = tmp_path / "scores.csv"
    bad.write_text("variant,benchmark,metric,n\nq,B,acc,1\n")
    assert cli.main(["fit", str(bad), "--out", str(tmp_path / "fits.csv")]) == 1
    err = capsys.readouterr().err
    assert "scores.csv: missing column 'score'" in err and "Traceback" not in err
