from __future__ import annotations

import json
import subprocess
import sys

import pytest

from functions.recommend.artifacts import COPURCHASE_FILE, METADATA_FILE, MODEL_FILE
from persona.cli import main
from tests.unit.models_fixtures import clustered_rows, write_csv


@pytest.fixture
def shop_csv(tmp_path):
    day = "2026-11-20T10:00:00Z"
    return write_csv(tmp_path / "shop.csv", [(u, i, day) for u, i in clustered_rows()], "user_id,item_id,timestamp")


def test_train_with_evaluation_writes_a_model_and_reports_on_stderr(tmp_path, shop_csv, capsys):
    out = tmp_path / "model"
    assert main(["train", "--interactions", str(shop_csv), "--out", str(out), "--factors", "8", "--evaluate"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["model_version"].endswith("-lrla8") and result["metrics"]["ndcg@10"] > 0.3
    assert "40 users, 20 items, 240 interactions" in captured.err and "written to" in captured.err
    assert {MODEL_FILE, METADATA_FILE, COPURCHASE_FILE} <= {p.name for p in out.iterdir()}
    assert json.loads((out / METADATA_FILE).read_text())["metrics"] == result["metrics"]


def test_evaluate_prints_a_table_or_json(shop_csv, capsys):
    assert main(["evaluate", "--interactions", str(shop_csv), "--k", "5", "--factors", "8", "--no-implicit"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["model", "ndcg@5", "precision@5"] and "popularity" in table
    assert main(["evaluate", "--interactions", str(shop_csv), "--k", "5", "--factors", "8", "--no-implicit", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in report["results"]] == ["popularity", "lrla", "ials"]
    assert report["split"]["seed"] == 42 and report["data"]["users"] == 40


def test_recommend_batch_personalizes_from_the_interactions_and_falls_back_to_popularity(tmp_path, shop_csv, capsys):
    model = tmp_path / "model"
    assert main(["train", "--interactions", str(shop_csv), "--out", str(model), "--factors", "8"]) == 0
    users = tmp_path / "users.csv"
    users.write_text("user_id,segment\na-user-0,x\nb-user-3,y\nnobody,z\n")
    capsys.readouterr()
    assert main(["recommend-batch", "--model", str(model), "--users", str(users), "--n", "3", "--interactions", str(shop_csv)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["user_id"] for line in lines] == ["a-user-0", "b-user-3", "nobody"]
    history = {u: {i for uu, i in clustered_rows() if uu == u} for u in ("a-user-0", "b-user-3")}
    for line, taste in zip(lines[:2], "ab", strict=False):
        assert line["personalized"] and len(line["items"]) == 3
        assert all(i.startswith(taste) for i in line["items"]) and not set(line["items"]) & history[line["user_id"]]
    assert lines[2]["personalized"] is False and len(lines[2]["items"]) == 3
    plain = tmp_path / "plain.txt"
    plain.write_text("a-user-0\n\nb-user-3\n")
    assert main(["recommend-batch", "--model", str(model), "--users", str(plain), "--n", "2"]) == 0
    captured = capsys.readouterr()
    assert [json.loads(line)["personalized"] for line in captured.out.splitlines()] == [False, False]
    assert "no --interactions" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--interactions", "{bad}", "--out", "{tmp}/m"], "persona train: bad.csv line 3: weight 'x' is not a positive number"),
        (["evaluate", "--interactions", "{tmp}/missing.csv"], "persona evaluate: {tmp}/missing.csv: no such file"),
        (["recommend-batch", "--model", "{tmp}", "--users", "{bad}"], "persona recommend-batch: {tmp}: not a model folder"),
    ],
)
def test_bad_input_exits_2_with_the_message_and_no_traceback(tmp_path, capsys, argv, message):
    bad = write_csv(tmp_path / "bad.csv", [("u", "i", 1), ("u", "j", "x")], "user_id,item_id,weight")
    args = [a.replace("{bad}", str(bad)).replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(message.replace("{tmp}", str(tmp_path))) and "Traceback" not in err


def test_the_cli_does_not_import_the_models_stack_until_a_models_command_runs():
    probe = "import sys, persona.cli; print(sorted(m for m in ('onnx', 'onnxruntime', 'numpy', 'models') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_the_cli_offers_the_algorithms_and_defaults_that_training_has():
    from models import train
    from persona.cli import build_parser

    args = build_parser().parse_args(["train", "--interactions", "x.csv", "--out", "m"])
    assert (args.algorithm, args.factors) == (train.DEFAULT_ALGORITHM, train.DEFAULT_FACTORS)
    for algorithm in train.ALGORITHMS:
        assert build_parser().parse_args(["train", "--interactions", "x", "--out", "m", "--algorithm", algorithm]).algorithm == algorithm
