"""The synthetic sample bank: deterministic, complete, loadable, defects exactly as planted, and a
latent structure the reports can tell a story from."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest

from analysis import config, generate, volume
from analysis.clean import engine
from analysis.clean.sources import load_sources

SEED = config.DEFAULT_SEED


def _digests(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


# The tests on a whole generated bank (``generated``, ``cleaned``, ``bank``, ``city``) are marked slow:
# writing and cleaning the sample bank takes about a minute on 2 cores. make test runs them.
@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("raw")
    sample = generate.write_sample(out, SEED)
    return out, sample


@pytest.fixture(scope="module")
def cleaned(generated, tmp_path_factory):
    raw, _ = generated
    out = tmp_path_factory.mktemp("processed")
    reports = engine.clean_all(raw, out, echo=lambda s: None)
    tables = {name: engine.load_table(name, out) for name in reports}
    rejected = {}
    for name in reports:
        path = config.rejected_dir(out) / f"{name}.csv"
        rejected[name] = pd.read_csv(path, encoding="utf-8-sig", dtype=str) if path.exists() else pd.DataFrame(columns=["file", "line", "reason"])
    return reports, tables, rejected


# ------------------------------------------------------------------------------- hand-checked parts
def test_id_check_digit_gb11643():
    # The standard's worked example: 11010519491231002X. Weighted sum of the first 17 digits =
    # 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167; 167 % 11 = 2 -> "X".
    assert generate.id_check_digit("11010519491231002") == "X"


def test_luhn_check_digit():
    # 7992739871 -> doubling every second digit from the right: 7,18->9,9,4,7,6,9,16->7,7,2 sums to 67;
    # (10 - 67 % 10) % 10 = 3, the classic 79927398713.
    assert generate.luhn_check_digit("7992739871") == "3"


def test_fake_personal_data_is_valid():
    rng = np.random.default_rng(1)
    for _ in range(200):
        pid = generate.fake_id_number(rng, male=True)
        assert len(pid) == 18 and generate.id_check_digit(pid[:17]) == pid[17] and int(pid[16]) % 2 == 1
        card = generate.fake_card(rng, credit=bool(rng.random() < 0.5)).replace(" ", "")
        assert 16 <= len(card) <= 19 and generate.luhn_check_digit(card[:-1]) == card[-1]


# ---------------------------------------------------------------------------------- determinism
@pytest.mark.slow
def test_same_seed_same_bytes_and_other_seed_differs(generated, tmp_path):
    out, _ = generated
    again = tmp_path / "again"
    generate.write_sample(again, SEED)
    assert _digests(again) == _digests(out)
    other = tmp_path / "other"
    generate.write_sample(other, SEED + 1, only=("outlets", "mystery_shopper", "complaints"))
    first = _digests(out)
    for name, digest in _digests(other).items():
        assert digest != first[name], name


@pytest.mark.slow
def test_committed_sample_equals_a_fresh_generation(generated):
    out, _ = generated
    committed = config.RAW_DIR
    assert committed.is_dir(), "data/raw is missing: run `python -m analysis generate --out data/raw`"
    fresh = _digests(out)
    kept = {name: digest for name, digest in _digests(committed).items() if name in fresh}
    # The real peer figures also live in data/raw (README-real-data.md); only generated files are compared.
    assert kept == fresh, "data/raw drifted from the generator: regenerate it with the default seed"


@pytest.mark.slow
def test_every_source_has_files_and_every_header_is_known(generated, cleaned):
    out, sample = generated
    reports, _, _ = cleaned
    for name, src in load_sources().items():
        if src.optional and reports[name].missing:  # real data shipped beside the sample (peers), not generated
            continue
        assert src.files_in(out), f"no file for source {name}"
        assert {f.source for f in sample.files} >= {name}
        for fr in reports[name].files:
            assert fr.ignored_columns == [], (fr.file, fr.ignored_columns)
    # Headers change between years (the aliases get exercised).
    import csv

    h15 = next(csv.reader(open(out / "人员配备_2015.csv", encoding="gbk")))
    h16 = next(csv.reader(open(out / "人员配备_2016.csv", encoding="gbk")))
    assert h15[0] == "网点号" and h16[0] == "网点编号"


@pytest.mark.slow
def test_sample_is_a_few_megabytes(generated):
    out, _ = generated
    assert sum(p.stat().st_size for p in out.iterdir()) < 8_500_000


# ------------------------------------------------------------------------------ cleaning accounts
@pytest.mark.slow
def test_clean_rejects_exactly_the_planted_defects(generated, cleaned):
    _, sample = generated
    reports, tables, rejected = cleaned
    for name, rep in reports.items():
        assert rep.rows_in == rep.clean + rep.rejected, name
        for fr in rep.files:
            assert fr.rows_in == fr.clean + fr.rejected, fr.file
        rej = rejected[name]
        got = {(f, int(n)): r for f, n, r in zip(rej["file"], rej["line"], rej["reason"])}
        want = {(p.file, p.line): p.reason for p in sample.rejects(name)}
        assert set(got) == set(want), (name, sorted(set(got) ^ set(want)))
        for key, reason in want.items():
            assert reason in got[key], (name, key, got[key])
    kinds = {p.what for p in sample.rejects()}
    assert {"an exact duplicate row", "a score of 105", "a 合计 (total) row", "the last record cut off mid-field (a truncated export)",
            "a negative balance", "a date 2016年2月30日", "a rating label that is not on the list (好评)"} <= kinds
    assert any("not in the master data" in k for k in kinds)


@pytest.mark.slow
def test_odd_but_valid_rows_are_kept_and_blank_rows_skipped(generated, cleaned):
    _, sample = generated
    reports, tables, _ = cleaned
    for p in sample.planted:
        if p.kind == "valid":
            t = tables[p.source]
            assert ((t["source_file"] == p.file) & (t["source_line"] == p.line)).sum() == 1, p
        if p.kind == "blank":
            fr = next(f for f in reports[p.source].files if f.file == p.file)
            assert fr.blank_rows == 1, p
    q = tables["queue_tickets"]
    early = (q["called_at"] < q["issued_at"]).sum()
    assert early == sum(1 for p in sample.planted if p.source == "queue_tickets" and p.kind == "valid")
    c = tables["calls"]
    assert (c["answered_at"].isna() & c["abandoned_at"].isna()).sum() == 9  # 3 still queued per file


# ------------------------------------------------------------------------------- latent structure
@pytest.fixture(scope="module")
def bank():
    return generate.build_bank(SEED)


def _year(s: pd.Series) -> pd.Series:
    return s.dt.year


@pytest.mark.slow
def test_campaign_year_improves_service(cleaned, bank):
    _, t, _ = cleaned
    ms = t["mystery_shopper"].groupby("year")["score"].mean()
    assert 1.8 < ms[2016] - ms[2015] < 3.2
    sat = t["satisfaction"].groupby("year")["score"].mean()
    assert 1.4 < sat[2016] - sat[2015] < 2.6
    q = t["queue_tickets"]
    wait = ((q["called_at"] - q["issued_at"]).dt.total_seconds() / 60).groupby(_year(q["issued_at"])).mean()
    assert wait[2016] < wait[2015] and 9 < wait[2015] < 12
    r = t["teller_ratings"].dropna(subset=["rating"])
    satisfied = (r["rating"] >= 4).groupby(_year(r["txn_at"])).mean()
    assert satisfied[2015] < 0.9 < satisfied[2016]


@pytest.mark.slow
def test_lobby_staff_gap_closes(cleaned):
    _, t, _ = cleaned
    s = t["staffing"]
    lobby = s[["lobby_directors", "lobby_managers", "lobby_assistants", "lobby_guides"]].sum(axis=1)
    none = (lobby == 0).groupby(s["as_of"]).mean()
    assert 0.16 < none[pd.Timestamp("2015-12-31")] < 0.2
    assert (lobby[s["as_of"] == pd.Timestamp("2016-12-31")] == 0).sum() == 3


@pytest.mark.slow
def test_call_centres_reach_realistic_rates(cleaned):
    _, t, _ = cleaned
    c = t["calls"].assign(year=lambda d: d["arrived_at"].dt.year)
    c["answered"] = c["answered_at"].notna()
    c["in20"] = c["answered"] & ((c["answered_at"] - c["arrived_at"]).dt.total_seconds() <= 20)
    rates = c.groupby(["center", "year"])[["answered", "in20"]].mean()
    assert 0.84 < rates.loc[("95599", 2015), "answered"] < 0.885
    assert 0.895 < rates.loc[("95599", 2016), "answered"] < 0.93
    gain = rates.loc["credit_card"].loc[2016] - rates.loc["credit_card"].loc[2015]
    assert 0.08 <= gain["answered"] <= 0.13 and 0.14 <= gain["in20"] <= 0.23


@pytest.mark.slow
def test_strong_units_beat_weak_units_across_sources(cleaned, bank):
    _, t, _ = cleaned
    outlets = t["outlets"][["outlet_id", "sub_branch_id"]]
    q = t["queue_tickets"].merge(outlets, on="outlet_id")
    q["wait"] = (q["called_at"] - q["issued_at"]).dt.total_seconds() / 60
    wait = q.groupby("sub_branch_id")["wait"].mean()
    assert wait[bank.strong].max() < wait[bank.weak].min()
    ms = t["mystery_shopper"].merge(outlets, on="outlet_id").groupby("sub_branch_id")["score"].mean()
    assert ms[bank.strong].mean() > ms[bank.weak].mean() + 3
    cp = t["complaints"].merge(outlets, left_on="unit_id", right_on="outlet_id")
    per_outlet = cp.groupby("sub_branch_id").size() / outlets.groupby("sub_branch_id").size()
    assert per_outlet[bank.strong].mean() < per_outlet[bank.weak].mean()


@pytest.mark.slow
def test_complaints_fall_but_not_everywhere_and_troubled_units_lose_eligibility(cleaned, bank):
    _, t, _ = cleaned
    cp = t["complaints"].assign(year=lambda d: d["received_at"].dt.year)
    n = cp.groupby("year").size()
    assert 0.8 < n[2016] / n[2015] < 0.9 and 850 < n[2015] < 950
    hotline = cp[cp["channel"] == "95599"].groupby("year").size()
    assert hotline[2016] < 0.85 * hotline[2015]
    subs = t["outlets"].set_index("outlet_id")["sub_branch_id"]
    cp["sub"] = cp["unit_id"].map(subs)
    by = cp.groupby(["sub", "year"]).size().unstack()
    assert by.loc[bank.complaints_up, 2016].sum() > 1.3 * by.loc[bank.complaints_up, 2015].sum()
    assert 0.35 < cp["responsible"].mean() < 0.5 and 0.012 < cp["major"].mean() < 0.03 and 0.03 < cp["escalated"].mean() < 0.08
    me = t["media_events"].assign(year=lambda d: d["reported_on"].dt.year, sub=lambda d: d["sub_branch_id"])
    deductions = cp[cp["major"] & cp["responsible"]].groupby(["sub", "year"]).size().add(
        me[me["level"] != "county"].groupby(["sub", "year"]).size(), fill_value=0)
    assert set(deductions[deductions >= 3].index) == set(bank.troubled)
    assert 2 <= len({s for s, _ in bank.troubled}) <= 3
    days = (cp["resolved_at"] - cp["received_at"]).dt.total_seconds() / 86400
    assert 0.03 < (days > 15).mean() < 0.12 and 0 < cp["resolved_at"].isna().sum() < 50


@pytest.mark.slow
def test_complaint_texts_carry_checkable_personal_data(bank):
    cp = generate.complaint_records(bank, generate._media_plan(bank))
    text = "\n".join(cp["description"])
    ids = re.findall(r"(?<!\d)\d{17}[\dX](?!\d)", text)
    assert len(ids) > 50 and all(generate.id_check_digit(i[:17]) == i[17] for i in ids)
    cards = [c.replace(" ", "") for c in re.findall(r"(?<![\d ])(?:\d{4} ){3,4}\d{1,4}(?![\d ])|(?<!\d)\d{16,19}(?!\d)", text)]
    cards = [c for c in cards if len(c) != 18 or not c.startswith(("4", "5"))]  # leave ID numbers out
    assert len(cards) > 100 and all(generate.luhn_check_digit(c[:-1]) == c[-1] for c in cards if c[:2] in ("62",))
    assert re.search("[０-９]{11}", text) and "+86" in text and re.search(r"\d{3}-\d{4}-\d{4}", text)
    assert re.search(r"\d{1,3}(,\d{3})+(\.00)?元", text)  # amounts with thousands separators must stay readable
    assert re.search(r"(王|李|张|刘|陈)(先生|女士)", text) and re.search("客户.某", text)


@pytest.mark.slow
def test_business_figures_are_plausible_and_spread(cleaned, bank):
    _, t, _ = cleaned
    b = t["business"].merge(t["outlets"][["outlet_id", "sub_branch_id"]], on="outlet_id")
    assert (b["e_txn"] <= b["fin_txn"]).all() and (b["counter_txn"] > 0).all()
    dec = b[b["month"].str.endswith("-12")].assign(year=lambda d: d["month"].str[:4])
    dep = dec.groupby(["sub_branch_id", "year"])["personal_deposits"].sum().unstack()
    assert dep.loc[bank.slow_deposits, "2016"] < dep.loc[bank.slow_deposits, "2015"]
    growth = dep["2016"] / dep["2015"] - 1
    assert growth.drop(bank.slow_deposits).between(0.0, 0.16).all()
    assert 30_000 <= dec["personal_deposits"].median() <= 150_000
    share = dec.groupby("year").apply(lambda d: d["e_txn"].sum() / d["fin_txn"].sum())
    assert 0.73 < share["2014"] < share["2015"] < share["2016"] < 0.86


# ------------------------------------------------------------------------------------ real volume
EVENT_FILES = ["柜员服务评价_2015.csv", "柜员服务评价_2016.csv", "排队叫号_2015.csv", "排队叫号_2016.csv",
               "呼叫记录_95599_2015.csv", "呼叫记录_95599_2016.csv", "呼叫记录_信用卡中心_2015-2016.csv"]
ENCODINGS = {"柜员": "utf-8-sig", "排队": "gbk", "呼叫": "utf-8"}


def _encoding(name: str) -> str:
    return ENCODINGS[name[:2]]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The city-scale writer at a small size: 20,000 queue tickets in 2016 (the other events in
    proportion), in chunks of 7,000 records so that every file spans several chunks."""
    out = tmp_path_factory.mktemp("city")
    res = volume.write_volume(out, SEED, tickets=20_000, chunk_rows=7_000, echo=lambda s: None)
    return out, res


def test_volume_times_are_spelled_as_the_sample_spells_them():
    rng = np.random.default_rng(3)
    t = np.datetime64("2015-01-01T00:00:00", "s") + rng.integers(0, 86400 * 731, 3000).astype("timedelta64[s]")
    t[::9] = np.datetime64("NaT")
    for style in ("compact", "iso", "slash"):
        rows = volume._Rows(len(t))
        rows.time(t, style)
        rows.const(b"\n")
        assert rows.bytes()[0].decode().split("\n")[:-1] == generate._fmt_times(t, style), style
    rows = volume._Rows(4)
    rows.digits(np.array([0, 7, 1234, 99999999]), 8)
    assert rows.bytes()[0] == b"00000000" + b"00000007" + b"00001234" + b"99999999"


@pytest.mark.slow
def test_volume_files_have_the_samples_names_encodings_headers_and_spellings(city):
    out, _ = city
    written = {p.name for p in out.iterdir()}
    assert "planted_defects.csv" in written and "README.md" in written
    assert {p.name for p in config.RAW_DIR.iterdir() if p.is_file()} <= written  # every file of the bundled folder
    time_col = {"柜员": 3, "排队": 3, "呼叫": 2}
    shape = lambda cell: re.sub(r"\d+", "9", cell)
    for name in EVENT_FILES:
        big, small = (out / name).read_bytes()[:4000], (config.RAW_DIR / name).read_bytes()[:4000]
        enc = _encoding(name)
        assert big.startswith(b"\xef\xbb\xbf") == small.startswith(b"\xef\xbb\xbf"), name
        assert big.split(b"\n")[0] == small.split(b"\n")[0], name  # the same header line and line ending, byte for byte
        rec_big, rec_small = big.decode(enc).splitlines()[1].split(","), small.decode(enc).splitlines()[1].split(",")
        for col in (0, 1, time_col[name[:2]]):  # ids wider than the sample's (millions of records), otherwise the same spelling
            assert shape(rec_big[col]) == shape(rec_small[col]), (name, rec_big, rec_small)
    q = (out / "排队叫号_2016.csv").read_bytes()
    assert q.decode("gbk") == q.decode("gb18030")  # GBK is a subset of GB18030
    assert re.fullmatch(r"\d{8} \d{6}", q.decode("gbk").splitlines()[1].split(",")[3])  # compact times: 20160305 090229


@pytest.mark.slow
def test_volume_sizes_follow_the_city_ratios(city):
    out, res = city
    rows = {name: r for name, _, _, r, _ in res.files}
    planted = {}
    for p in res.planted:
        if p.expect == "reject" and p.kind in ("duplicate", "repeated_key", "summary_row"):
            planted[p.file] = planted.get(p.file, 0) + 1  # rows added to the file
    assert rows["排队叫号_2016.csv"] - planted["排队叫号_2016.csv"] == 20_000
    assert rows["柜员服务评价_2016.csv"] - planted["柜员服务评价_2016.csv"] == 20_000
    calls16 = rows["呼叫记录_95599_2016.csv"] - planted["呼叫记录_95599_2016.csv"]
    assert calls16 == round(4_000 * 13_600 / 20_300)
    assert rows["排队叫号_2015.csv"] - planted["排队叫号_2015.csv"] == round(20_000 * 20_400 / 19_600)
    # every line of every event file is a record (no quoted newlines): lines = header + records
    for name in EVENT_FILES:
        with open(out / name, "rb") as fh:
            n = sum(1 for _ in fh)
        assert n == 1 + rows[name], name


@pytest.mark.slow
def test_every_planted_row_is_where_the_manifest_says(city):
    import csv as _csv

    out, res = city
    man = volume.read_manifest(out)
    assert len(man) == len(res.planted) and man["expect"].isin(["reject", "valid", "blank"]).all()
    for name in EVENT_FILES:
        lines = (out / name).read_bytes().decode(_encoding(name)).splitlines()
        part = man[man["file"] == name]
        kinds = set(part["kind"])
        src = part["source"].iat[0]
        expected = {k for k in volume.RATES[src]} | {"summary_row"}
        assert expected <= kinds, (name, expected - kinds)
        for ln, kind, reason in zip(part["line"], part["kind"], part["reason"]):
            cells = next(_csv.reader([lines[ln - 1]]))
            if kind == "cut_off":
                assert ln == len(lines) and len(cells) < 5
                continue
            assert len(cells) == 5, (name, ln, cells)
            if kind == "duplicate":
                first = int(reason.rsplit(" ", 1)[1])
                assert lines[first - 1] == lines[ln - 1] and first < ln
            elif kind == "repeated_key":
                assert lines[ln - 2].split(",")[0] == cells[0] and lines[ln - 2] != lines[ln - 1]
            elif kind == "unknown_outlet":
                assert cells[1] == volume.GHOST_OUTLET
            elif kind == "summary_row":
                assert "合计" in cells[0]
            elif kind == "not_a_date":
                assert re.search(r"0230 |-02-30 |/2/30 ", ",".join(cells))
            elif kind == "empty_required":
                assert "" in cells[1:3]
            elif kind in ("time_order", "skew"):
                fmt = "%Y%m%d %H%M%S" if re.fullmatch(r"\d{8} \d{6}", cells[2 if src == "calls" else 3]) else None
                a, b = (cells[2], cells[3]) if src == "calls" else (cells[3], cells[4])
                gap = (pd.to_datetime(a, format=fmt) - pd.to_datetime(b, format=fmt)).total_seconds()
                assert (gap > 60) if kind == "time_order" else (0 < gap <= 60), (name, ln, cells)
    cut = man[man["kind"] == "cut_off"]
    assert list(cut["file"]) == ["柜员服务评价_2016.csv"]  # as in the sample


@pytest.mark.slow
def test_cleaning_rejects_exactly_the_planted_rows_at_volume(city, tmp_path):
    out, _ = city
    reports = engine.clean_all(out, tmp_path, only=["queue_tickets", "teller_ratings", "calls"], echo=lambda s: None)
    frames = []
    for name, rep in reports.items():
        assert rep.rows_in == rep.clean + rep.rejected, name
        path = config.rejected_dir(tmp_path) / f"{name}.csv"
        if path.exists():
            frames.append(pd.read_csv(path, encoding="utf-8-sig", dtype=str)[["file", "line", "reason"]])
    rejected = pd.concat(frames, ignore_index=True)
    assert volume.check_rejected(out, rejected, files=EVENT_FILES) == []
    # and the check is not vacuous: a missed defect and an extra rejection are both reported
    assert len(volume.check_rejected(out, rejected.iloc[1:], files=EVENT_FILES)) == 1
    man = volume.read_manifest(out)
    skew = man[(man["kind"] == "skew") & (man["file"] == "排队叫号_2016.csv")].iloc[0]
    extra = pd.concat([rejected, pd.DataFrame({"file": [skew["file"]], "line": [str(skew["line"])], "reason": ["x"]})])
    assert [p for p in volume.check_rejected(out, extra, files=EVENT_FILES) if "odd but valid" in p]


def test_volume_is_deterministic_and_bench_file_is_gb18030_with_the_issues_headers(tmp_path):
    bank = generate.build_bank(SEED)
    a = volume.write_queue_file(tmp_path / "a.csv", bank, 2016, 6_000, chunk_rows=2_500)
    b = volume.write_queue_file(tmp_path / "b.csv", bank, 2016, 6_000, chunk_rows=2_500)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes() and a.records == b.records > 6_000
    res = volume.write_bench_queue(tmp_path / "bench", 8_000)
    data = (tmp_path / "bench" / "排队叫号_bench.csv").read_bytes()
    text = data.decode("gb18030")
    lines = text.split("\r\n")
    assert lines[0] == "流水号,网点号,业务类别,取票时间,叫号时间"
    assert re.fullmatch(r"Q16\d{8},\d{8},(高柜|低柜|VIP),\d{8} \d{6},(\d{8} \d{6})?", lines[1])
    assert not text.endswith("\n") and len(lines[-1].split(",")) == 4  # cut off mid-record
    man = volume.read_manifest(tmp_path / "bench")
    assert set(man["kind"]) >= set(volume.RATES["queue_tickets"]) | {"summary_row", "cut_off"}
    assert res.files[0][3] == len(lines) - 1


def test_scaled_bank_keeps_the_city_branch_first():
    base = generate.build_bank(SEED)
    big = volume.scaled_bank(SEED, 400)
    assert len(big.outlets) == 400 and big.outlets["outlet_id"].is_unique and big.subs["sub_branch_id"].is_unique
    assert big.outlets["outlet_id"].str.len().eq(8).all() and big.outlets["outlet_name"].is_unique
    pd.testing.assert_frame_equal(big.outlets.iloc[:148].reset_index(drop=True), base.outlets)
    assert set(big.outlets["sub_branch_id"]) == set(big.subs["sub_branch_id"])
    assert volume.volumes("bank", 296)["queue_tickets"][2016] == 2 * volume.CITY_2016["queue_tickets"]


def test_generate_city_needs_a_named_folder(capsys):
    from analysis import cli

    assert cli.main(["generate", "--scale", "city"]) == 2
    assert "--out" in capsys.readouterr().err
    with pytest.raises(ValueError, match="bundled sample"):
        volume.write_volume(config.RAW_DIR, SEED, tickets=1_000)
