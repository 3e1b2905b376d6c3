import csv
import json
import math

import pytest
import torch
from typer.testing import CliRunner

from tests.conftest import tiny_model
from vimss_cli.cli import app
from vimss_cli.errors import VimssError
from vimss_cli.evaluation.scoring import (
    compare,
    evaluate,
    load_piece,
    model_estimates,
    oracle_estimates,
    segment_bounds,
    summarise,
)
from vimss_cli.evaluation.tone_dataset import write_dataset
from vimss_cli.evaluation.urmp import urmp_pieces
from vimss_cli.nets.checkpoints import save_pretrained
from vimss_cli.separator import Separator


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("urmp"))


def test_urmp_layout_quirks(dataset):
    pieces, skipped = urmp_pieces(dataset)
    assert [p.name for p in pieces] == ["01_Jupiter_vn_vc", "03_Trio_vn_va_vc", "15_Surprise_tpt_tpt_tbn"]
    assert skipped == ["02_Sonata_fl_fl: every player plays fl"]
    surprise = pieces[2]
    # the third file says tpt; the folder (and the music) say trombone
    assert surprise.instruments == ["tpt", "tbn"] and surprise.line_up == ("tpt", "tpt", "tbn")
    assert pieces[1].line_up == ("vn", "va", "vc") and pieces[1].players == 3
    assert [p.name for p in surprise.sources["tpt"]] == ["AuSep_1_tpt_15_Surprise.wav", "AuSep_2_tpt_15_Surprise.wav"]
    assert [p.name for p in surprise.sources["tbn"]] == ["AuSep_3_tpt_15_Surprise.wav"]


def test_same_instrument_players_are_summed_into_one_source(dataset):
    audio = load_piece(urmp_pieces(dataset)[0][2])
    assert audio.references.shape[0] == 2
    torch.testing.assert_close(audio.references.sum(0), audio.mix, atol=1e-4, rtol=0)


def test_no_pieces_is_an_error(tmp_path):
    with pytest.raises(VimssError, match="no URMP-layout pieces"):
        urmp_pieces(tmp_path)


def test_oracle_rows_on_a_generated_piece(dataset):
    audio = load_piece(urmp_pieces(dataset)[0][0])
    rows = evaluate(
        [urmp_pieces(dataset)[0][0]], {k: (lambda a, k=k: oracle_estimates(k, a)) for k in ("irm", "ibm", "mix")}
    )
    by = {(r["method"], r["instrument"]): r for r in rows}
    for inst in ("vn", "vc"):
        assert by[("irm", inst)]["si_sdr"] > 15  # disjoint harmonics: nearly perfect
        assert by[("ibm", inst)]["si_sdr"] > 10
        assert by[("irm", inst)]["si_sdr"] > by[("mix", inst)]["si_sdr"] + 10
    # the mix row of a source is its SI-SDR against the sum of all sources
    ref, mix = audio.references[0], audio.mix
    alpha = (mix @ ref) / (ref @ ref)
    expected = 10 * math.log10(float((alpha * ref).pow(2).sum() / (mix - alpha * ref).pow(2).sum()))
    assert by[("mix", "vn")]["si_sdr"] == pytest.approx(expected, abs=1e-3)


def test_segments_are_the_papers_six_seconds():
    assert segment_bounds(65535 * 2 + 100, 65535 / 11025) == [(0, 65535), (65535, 131070)]
    assert segment_bounds(1000, 5.94) == [(0, 1000)]
    assert segment_bounds(5000, None) == [(0, 5000)]


def test_models_are_conditioned_on_the_pieces_ground_truth_not_all_ones(dataset):
    piece = urmp_pieces(dataset)[0][0]
    audio = load_piece(piece)
    model = tiny_model(conditioning="film-encoder")
    separator = Separator(model, wiener_iterations=0)
    got = model_estimates(separator, audio)
    truth = separator.separate(audio.mix, 11025, "vn,vc")
    torch.testing.assert_close(got, torch.stack([truth["vn"], truth["vc"]]))
    # the published code's mistake: every label set; our estimates differ from that
    all_ones = Separator(model, wiener_iterations=0).separate(
        audio.mix, 11025, ",".join(["vn", "va", "vc", "db", "fl", "ob", "cl", "bn", "sax", "tpt", "hn", "tbn", "tba"])
    )
    assert not torch.allclose(got[0], all_ones["vn"], atol=1e-4)


def test_compare_gives_paired_differences():
    rows = [
        {
            "method": m,
            "piece": "p",
            "segment": s,
            "instrument": "vn",
            **{
                k: (float(s) + (1.0 if m == "b" else 0.0))
                for k in ("si_sdr", "sd_sdr", "pes", "eps", "sdr", "sir", "sar")
            },
        }
        for m in ("a", "b")
        for s in range(8)
    ]
    result = compare(rows, "a", "b")
    assert result["si_sdr"]["mean_difference"] == 1.0 and result["si_sdr"]["n"] == 8
    assert result["si_sdr"]["p_value"] < 0.01


def test_an_infinite_metric_is_summarised_not_a_crash():
    # The mix's SAR is infinite when the mix is exactly the sum of the references
    # (integer stems, as `vimss synth` writes them).
    metrics = ("si_sdr", "sd_sdr", "pes", "eps", "sdr", "sir", "sar")
    rows = [
        {
            "method": "mix",
            "piece": "p",
            "segment": s,
            "instrument": "vn",
            **{k: (math.inf if k == "sar" else float(s)) for k in metrics},
        }
        for s in range(3)
    ]
    summary = summarise(rows)["mix"]
    assert summary["sar"]["mean"] == math.inf and math.isnan(summary["sar"]["std"]) and summary["sar"]["n"] == 3
    assert summary["sdr"] == {"mean": 1.0, "std": 1.0, "n": 3}


def test_evaluate_cli_writes_tables_csv_json_and_plots(dataset, tmp_path):
    a = save_pretrained(tiny_model(conditioning="label-multiply"), tmp_path / "model-a")
    b = save_pretrained(tiny_model(seed=1, conditioning="film-final"), tmp_path / "model-b")
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(dataset),
            "-m",
            str(a),
            "-m",
            str(b),
            "-o",
            str(out),
            "--segment",
            "3.0",
            "--workers",
            "2",
            "--wiener-iterations",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "skipped 02_Sonata_fl_fl" in result.stderr
    for name in ("model-a", "model-b", "irm", "ibm", "mix"):
        assert name in result.stdout
    assert "model-b - model-a" in result.stdout
    rows = list(csv.DictReader((out / "results.csv").open()))
    # 3 pieces: 2 + 3 + 2 sources; segments of 3 s: 2 + 4 + 2 -> 4 + 12 + 4 rows per method,
    # and the two trumpeters of 15_Surprise apart (2 segments) for the models and the mix
    assert len(rows) == 5 * 20 + 3 * 4
    assert {r["method"] for r in rows} == {"model-a", "model-b", "irm", "ibm", "mix"}
    report = json.loads((out / "results.json").read_text())
    assert set(report["by_n_sources"]) >= {"irm/2", "irm/3"}
    assert "model-b - model-a" in report["comparisons"]
    for png in ("boxplot_metrics.png", "boxplot_instruments.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_evaluate_without_anything_to_score(dataset, tmp_path):
    result = CliRunner().invoke(app, ["evaluate", str(dataset), "--no-oracles", "-o", str(tmp_path / "e")])
    assert result.exit_code == 1 and "nothing to evaluate" in result.stderr


def test_a_truncated_stem_skips_its_piece_and_the_mix_has_no_sar(dataset, tmp_path):
    import shutil

    copy = tmp_path / "urmp"
    shutil.copytree(dataset, copy)
    piece = sorted(p for p in copy.iterdir() if p.is_dir() and not p.name.startswith("02_"))[0]
    stem = sorted(piece.glob("AuSep_*.wav"))[0]
    stem.write_bytes(stem.read_bytes()[:60])  # a header and a few bytes: unreadable
    out = tmp_path / "eval"
    result = CliRunner().invoke(app, ["evaluate", str(copy), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"skipped {piece.name}" in result.stderr
    report = json.loads((out / "results.json").read_text())
    assert piece.name not in {r["piece"] for r in report["rows"]}
    assert any(piece.name in note for note in report["skipped"])
    mix_row = next(line for line in result.stdout.splitlines() if line.strip().startswith("│ mix") or " mix " in line)
    assert "134" not in mix_row and all(
        r["sar"] is None or math.isnan(r["sar"]) for r in report["rows"] if r["method"] == "mix"
    )


@pytest.mark.parametrize("parted", [True, False], ids=["splitter", "half-the-stem"])
def test_two_players_of_one_instrument_are_scored_each_beside_their_sum(dataset, tmp_path, parted):
    from tests.nets.test_splitter import tiny_splitter

    model = save_pretrained(tiny_model(conditioning="label-multiply"), tmp_path / "labels")
    splitter = str(save_pretrained(tiny_splitter(), tmp_path / "players")) if parted else "none"
    out = tmp_path / "eval"
    args = ["evaluate", str(dataset), "-m", str(model), "--splitter", splitter, "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [r for r in csv.DictReader((out / "results.csv").open()) if r["piece"] == "15_Surprise_tpt_tpt_tbn"]
    assert sorted((r["method"], r["instrument"]) for r in rows if r["method"] in ("labels", "mix")) == [
        (m, i) for m in ("labels", "mix") for i in ("tbn", "tpt", "tpt1", "tpt2")
    ]
    audio = load_piece(urmp_pieces(dataset)[0][2])
    assert audio.player_names == ["tpt1", "tpt2"] and audio.player_references.shape == (2, audio.mix.shape[-1])
    separator = Separator(tiny_model(conditioning="label-multiply"), splitter=tiny_splitter() if parted else None)
    ests = model_estimates(separator, audio)
    torch.testing.assert_close(ests[audio.rows.index("tpt")], ests[2] + ests[3], atol=1e-5, rtol=0)
    assert torch.allclose(ests[2], ests[3]) != parted  # without a splitter each gets half the stem
