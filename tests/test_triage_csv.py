"""A center's own export: 李's colleague at the center exports last year's orders as CSV (UTF-8 from
the new system, GB18030 from the old one), trains a model on it and evaluates it on another export;
every bad file gets a Chinese message that says what to do. A retrained model that scores worse is
not activated. And on a generated corpus the engine is at least as accurate as the baseline
(character 1–2-gram TF-IDF + linear SVM) trained on the same split."""

import csv
import io
import json
import random

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from hotline.demo import corpus, hardcorpus
from hotline.triage import baseline, csvdata, engine, modelfile

LEAVES = ("0101", "0301", "0601", "0901", "1001", "1201")  # 网点服务, 供水, 拖欠工资, 市容, 物业, 噪声…


def rows(n_per_leaf=12, seed=1, leaves=LEAVES):
    rng = random.Random(seed)
    out = []
    for leaf in leaves:
        for _ in range(n_per_leaf):
            town = rng.choice(("杨楼镇", "寄料镇", "煤山街道"))
            title, content = corpus.compose_appeal(leaf, rng, town=town, place=corpus.place_in_town(rng, town))
            out.append({"标题": title, "诉求内容": content, "分类": leaf, "编号": f"RZ{len(out):05d}"})
    return out


def write_csv(path, records, *, encoding="utf-8", header=True):
    buffer = io.StringIO()
    fields = list(records[0]) if records else ["标题", "诉求内容", "分类"]
    writer = csv.DictWriter(buffer, fieldnames=fields)
    if header:
        writer.writeheader()
    writer.writerows(records)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def train(path, out, *extra):
    stdout = io.StringIO()
    call_command("triage", "train", "--csv", str(path), "--text-column", "诉求内容", "--label-column", "分类",
                 "-o", str(out), *extra, stdout=stdout)
    return stdout.getvalue()


def evaluate_json(path, model, *extra):
    stdout = io.StringIO()
    call_command("triage", "evaluate", "--csv", str(path), "--text-column", "诉求内容", "--label-column", "分类",
                 "--model", str(model), "--json", *extra, stdout=stdout)
    return json.loads(stdout.getvalue())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_train_and_evaluate_on_an_export(tmp_path, encoding):
    train_csv = write_csv(tmp_path / "2023.csv", rows(seed=1), encoding=encoding)
    test_csv = write_csv(tmp_path / "2024.csv", rows(n_per_leaf=6, seed=2), encoding=encoding)
    model_path = tmp_path / "model.joblib"
    text = train(train_csv, model_path, "--title-column", "标题")
    assert "准确率 accuracy" in text and "模型 v1 已保存" in text
    model = modelfile.load(model_path)
    meta = model.metadata
    assert meta["version"] == 1 and meta["n_samples"] == 72 and meta["uses_title"]
    assert meta["encoding"] == ("gb18030" if encoding == "gb18030" else "utf-8-sig")
    assert set(meta["scores"]) >= {"accuracy", "top3_accuracy", "macro_f1"} and meta["trained_at"]

    result = evaluate_json(test_csv, model_path, "--title-column", "标题")
    assert result["n_test"] == 36 and result["model"]["version"] == 1
    assert result["accuracy"] >= 0.9 and result["top3_accuracy"] >= result["accuracy"]
    assert 0 <= result["macro_f1"] <= 1
    assert {r["label"] for r in result["per_class"]} == set(LEAVES)
    assert all(set(r) >= {"support", "precision", "recall", "f1"} for r in result["per_class"])

    out = io.StringIO()
    call_command("triage", "evaluate", "--csv", str(test_csv), "--text-column", "诉求内容", "--label-column",
                 "分类", "--model", str(model_path), stdout=out)
    assert "前三命中率 top-3 accuracy" in out.getvalue() and "宏平均F1 macro-F1" in out.getvalue()
    assert "0301" in out.getvalue()  # the per-class table


def test_chinese_text_in_gb18030_is_read_as_chinese(tmp_path):
    path = write_csv(tmp_path / "old.csv", rows(n_per_leaf=3), encoding="gb18030")
    data = csvdata.read_labelled(path, text_column="诉求内容", label_column="分类", title_column="标题")
    assert data.encoding == "gb18030" and "来电" in "".join(data.texts)
    assert data.titles and len(data.titles) == len(data.texts) == 18


def error_of(tmp_path, content: bytes, **columns):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError) as caught:
        train(path, tmp_path / "m.joblib", *[x for k, v in columns.items() for x in (f"--{k}", v)])
    assert not (tmp_path / "m.joblib").exists()
    return str(caught.value)


def test_wrong_encoding(tmp_path):
    message = error_of(tmp_path, "诉求内容,分类\n停水,供水\n".encode() + b"\x80\x80\xff,x\n")
    assert "编码无法识别" in message and "UTF-8" in message


def test_excel_and_utf16_files_are_named(tmp_path):
    assert "Excel 工作簿" in error_of(tmp_path, b"PK\x03\x04" + b"\x00" * 40)
    assert "UTF-16" in error_of(tmp_path, "诉求内容,分类\n".encode("utf-16"))
    assert "空字节" in error_of(tmp_path, b"\x01\x02\x00\x00binary")


def test_missing_column_names_the_columns_present(tmp_path):
    message = error_of(tmp_path, "标题,内容,类别\n停水,小区停水,供水\n".encode())
    assert "找不到列 “诉求内容”、“分类”" in message
    assert "“标题”、“内容”、“类别”" in message


def test_no_header(tmp_path):
    path = write_csv(tmp_path / "bad.csv", rows(n_per_leaf=3), header=False)
    with pytest.raises(CommandError, match="第一行必须是列名"):
        train(path, tmp_path / "m.joblib")


def test_empty_file_and_header_only(tmp_path):
    assert "空的" in error_of(tmp_path, b"")
    assert "空的" in error_of(tmp_path, b"\n\n  \n")
    assert "只有列名，没有数据行" in error_of(tmp_path, "标题,诉求内容,分类\n".encode())


def test_one_class_only(tmp_path):
    records = [r for r in rows() if r["分类"] == "0301"]
    path = write_csv(tmp_path / "one.csv", records)
    with pytest.raises(CommandError, match="只有一个类别（0301，12 行）"):
        train(path, tmp_path / "m.joblib")


def test_too_few_rows_per_class(tmp_path):
    records = rows() + [{"标题": "t", "诉求内容": "来电人咨询公积金提取", "分类": "0701", "编号": "x"}]
    path = write_csv(tmp_path / "rare.csv", records)
    with pytest.raises(CommandError, match=r"样本太少（每类至少 3 行）：0701（1 行）"):
        train(path, tmp_path / "m.joblib")


def test_missing_options_are_named(tmp_path):
    path = write_csv(tmp_path / "a.csv", rows(n_per_leaf=3))
    with pytest.raises(CommandError, match="--text-column"):
        call_command("triage", "train", "--csv", str(path), "--label-column", "分类", "-o", str(tmp_path / "m"))
    with pytest.raises(CommandError, match="找不到模型文件"):
        evaluate_json(path, tmp_path / "none.joblib")


def test_a_file_that_is_not_a_model_is_named(tmp_path):
    """The CSV given as --model by mistake, or as -o (it would be overwritten): a sentence that says
    which file and what it should be, not the unpickler's bare "230"."""
    path = write_csv(tmp_path / "a.csv", rows(n_per_leaf=3))
    with pytest.raises(CommandError) as caught:
        evaluate_json(path, path)
    assert f"{path} 不是可用的模型文件（无法读取：不是本平台保存的模型" in str(caught.value)
    assert "--model 应是 hotline triage train --csv … -o 保存的模型文件" in str(caught.value)
    before = path.read_bytes()
    with pytest.raises(CommandError, match="不是可用的模型文件.*它已存在，请换一个文件名，或先删除它"):
        train(path, path)
    assert path.read_bytes() == before


def test_a_worse_model_is_not_activated(tmp_path):
    """v1 learns from clean labels; v2 from shuffled ones scores worse and is kept aside, MODEL stays v1."""
    good = write_csv(tmp_path / "good.csv", rows(seed=1))
    records = rows(seed=3)
    labels = [r["分类"] for r in records]
    random.Random(0).shuffle(labels)
    noisy = write_csv(tmp_path / "noisy.csv", [{**r, "分类": label} for r, label in zip(records, labels, strict=True)])
    model_path = tmp_path / "model.joblib"
    train(good, model_path)
    first = modelfile.load(model_path).metadata["scores"]["accuracy"]

    text = train(noisy, model_path)
    assert "低于当前模型" in text and "未启用新模型" in text and "仍是 v1" in text
    assert modelfile.load(model_path).metadata["version"] == 1
    rejected = modelfile.load(tmp_path / "model.joblib.v2.rejected")
    assert rejected.metadata["version"] == 2 and rejected.metadata["scores"]["accuracy"] < first

    train(noisy, model_path, "--force")
    assert modelfile.load(model_path).metadata["version"] == 2

    text = train(good, model_path)  # better than the forced v2: activated as v3
    assert "模型 v3 已保存" in text and modelfile.load(model_path).metadata["version"] == 3


def test_worse_compares_held_out_accuracy():
    assert engine.worse({"accuracy": 0.8, "macro_f1": 0.7}, {"accuracy": 0.9, "macro_f1": 0.8}).startswith(
        "新模型留出集准确率 80.0% 低于当前模型的 90.0%")
    assert engine.worse({"accuracy": 0.9}, {"accuracy": 0.9}) is None
    assert engine.worse({}, {"accuracy": 0.9}) is None and engine.worse({"accuracy": 0.5}, {}) is None


def test_level_one_is_rolled_up_from_level_two():
    ranked = [("0301", 0.4), ("0101", 0.35), ("0302", 0.25)]
    assert engine.roll_up(ranked) == [("03", pytest.approx(0.65)), ("01", 0.35)]


def test_engine_is_at_least_as_accurate_as_the_baseline_on_a_hard_corpus():
    """Long messy appeals with borrowed vocabulary and 8 % label noise, 24 categories (4 siblings in
    each of 6 branches, where confusions live), one split for both."""
    leaves = [code for code in corpus.LEAF_CODES if code[:2] in {"01", "03", "06", "09", "10", "12"}]
    leaves = [code for prefix in ("01", "03", "06", "09", "10", "12")
              for code in [c for c in leaves if c[:2] == prefix][:4]]
    titles, contents, labels = hardcorpus.generate(24 * 40, seed=7, leaves=leaves)
    train_idx, test_idx = engine._split(labels, 0.25, 0)

    def pick(seq, idx):
        return [seq[i] for i in idx]

    ours = engine.train(pick(contents, train_idx), pick(labels, train_idx), titles=pick(titles, train_idx))
    ranked = engine.predict_many(ours, pick(contents, test_idx), titles=pick(titles, test_idx), k=1)
    truth = np.array(pick(labels, test_idx))
    our_accuracy = np.mean(np.array([r[0][0] for r in ranked]) == truth)
    joined = [f"{t}\n{c}" for t, c in zip(titles, contents, strict=True)]
    base = baseline.train(pick(joined, train_idx), pick(labels, train_idx))
    base_accuracy = np.mean(base.predict(pick(joined, test_idx)) == truth)
    assert our_accuracy >= base_accuracy, (our_accuracy, base_accuracy)
    assert our_accuracy > 0.6  # and it learnt something despite the noise
