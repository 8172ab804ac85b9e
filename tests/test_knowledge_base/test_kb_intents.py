"""What a message is before it is answered (knowledge_base.consult): small talk is never answered,
off-topic questions are declined without a lawyer, problems for a department are reports, legal
questions get a confidence band; and the rates on the chit-chat and off-topic sets in tests/data.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import knowledge_base
from knowledge_base import ANSWER, DECLINE, SUGGEST
from knowledge_base.intent import IntentDetector
from knowledge_base.loader import ContentError
from knowledge_base.search import Calibration, build_searcher

DATA = Path(__file__).resolve().parents[1] / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / f"{name}.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("你好", "greeting"),
        ("您好，在吗？", "greeting"),
        ("喂，有人吗", "greeting"),
        ("Hello", "greeting"),
        ("好的", "acknowledge"),
        ("好的好的", "acknowledge"),
        ("嗯嗯", "acknowledge"),
        ("晓得了", "acknowledge"),
        ("OK", "acknowledge"),
        ("很好", "praise"),
        ("太好了！", "praise"),
        ("👍", "symbols"),
        ("谢谢", "thanks"),
        ("谢谢律师，太感谢了", "thanks"),
        ("辛苦了", "thanks"),
        ("拜拜", "farewell"),
        ("你是机器人吗", "about_bot"),
        ("你好，我想咨询个问题", "opener"),
        ("哈哈哈", "feeling"),
        ("😀😀😀🙏", "symbols"),
        ("？？？", "symbols"),
        ("12345678", "symbols"),
        ("好", "symbols"),
        ("a", "symbols"),
    ],
)
def test_small_talk_is_never_answered_and_names_its_class(text: str, label: str) -> None:
    result = knowledge_base.consult(text)
    assert result.kind == "chitchat"
    assert result.hits == [] and knowledge_base.search(text) == []
    assert result.label == label


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ("明天弥渡会不会下雨？", "weather"),
        ("今天多少度", "weather"),
        ("后天大理下雪吗", "weather"),
        ("红烧肉怎么做？", ""),
        ("酸菜鱼放什么调料", ""),
        ("去大理的班车几点发车", "hotline"),
        ("弥渡到昆明的客车几点有", "hotline"),
        ("猪肉多少钱一斤", "hotline"),
        ("今天猪价多少", "hotline"),
        ("话费怎么充", "carrier"),
        ("流量用完了怎么办", "carrier"),
        ("昨晚的球赛谁赢了", ""),
        ("世界杯什么时候开始", ""),
        ("微信密码忘了怎么办", "tech"),
        ("手机开不了机了", "tech"),
        ("感冒了吃什么药", "health"),
    ],
)
def test_off_topic_questions_are_declined_with_a_pointer(text: str, pointer: str) -> None:
    result = knowledge_base.consult(text)
    assert result.kind == "offtopic"
    assert result.hits == [] and knowledge_base.search(text) == []
    assert result.pointer == pointer


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ("路灯坏了好几天了没人修", ""),
        ("我们村的路灯坏了一个多月了也没有人来修", ""),
        ("村口的井盖丢了", ""),
        ("路上有个大坑，好危险", ""),
        ("隔壁工厂晚上噪音太大", ""),
        ("河里有人乱倒垃圾，臭得很", ""),
        ("养猪场污染太严重了", ""),
        ("村主任贪污低保款", "discipline"),
        ("村干部优亲厚友，低保只给亲戚", "discipline"),
        ("村支书收红包才给办事", "discipline"),
    ],
)
def test_problems_for_a_department_are_reports_not_legal_answers(text: str, pointer: str) -> None:
    result = knowledge_base.consult(text)
    assert result.kind == "report"
    assert result.hits == [] and knowledge_base.search(text) == []
    assert result.pointer == pointer


@pytest.mark.parametrize(
    "text",
    [
        "下雨天在超市门口摔倒了，超市要不要赔偿",
        "快递丢了快递公司不赔怎么办",
        "邻居装修噪音太大，能不能起诉他",
        "村干部打人了怎么办",
        "借钱给朋友买手机，他不还钱",
    ],
)
def test_an_everyday_or_report_word_in_a_legal_question_keeps_it_a_question(text: str) -> None:
    assert knowledge_base.consult(text).kind == "question"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("赌债要不要还", "debt-illegal-loans"),
        ("赌博欠的钱还要还吗", "debt-illegal-loans"),
        ("哥说放弃继承就不养老", "elderly-give-up-inheritance"),
        ("哥哥说他不要遗产了，所以不管爹妈", "elderly-give-up-inheritance"),
        ("信用社贷款还不上会不会坐牢", "debt-loan-default-jail"),
        ("银行贷款逾期还不上要坐牢吗", "debt-loan-default-jail"),
        ("劳动仲裁输了还能告吗", "labour-arbitration-award-appeal"),
    ],
)
def test_questions_the_faq_answers_are_not_declined(text: str, expected: str) -> None:
    result = knowledge_base.consult(text)
    assert result.kind == "question" and result.band in {ANSWER, SUGGEST}
    assert expected in [hit.entry_id for hit in result.hits]


@pytest.mark.parametrize(
    "text", ["老公打我，我想离婚，他不同意", "男人打我要离婚他不离", "被老公打了能离婚吗"]
)
def test_a_beaten_spouse_gets_domestic_violence_not_agreed_divorce(text: str) -> None:
    hits = knowledge_base.search(text)
    assert hits and hits[0].entry_id != "marriage-divorce-by-agreement"
    assert any(hit.entry_id.startswith("dv-") for hit in hits)


def test_a_clear_match_is_answered_and_every_hit_carries_the_band() -> None:
    entry = knowledge_base.get_entry("marriage-divorce-by-agreement")
    assert entry is not None
    result = knowledge_base.consult(entry.question)
    assert result.kind == "question" and result.band == ANSWER
    assert result.hits and all(hit.band == ANSWER for hit in result.hits)


def test_a_middle_match_is_offered_as_suggestions() -> None:
    # beaten by whom? a stranger, a spouse, a classmate: several entries fit, none for sure
    result = knowledge_base.consult("被打了怎么办")
    assert result.band == SUGGEST
    assert 1 <= len(result.hits) <= 3 and all(hit.band == SUGGEST for hit in result.hits)
    assert knowledge_base.search("被打了怎么办") == result.hits


def test_bands_follow_the_calibrated_probability() -> None:
    searcher = build_searcher(knowledge_base.load())
    cal = searcher.calibration
    assert 0 < cal.min_probability < cal.answer_probability < 1
    for text in ("劳动仲裁输了还能告吗", "被打了怎么办", "借钱不还怎么办", "离婚财产怎么分"):
        probability = searcher.probability(text)
        ranked = searcher.candidates(text)
        lead = ranked[0][1] - (ranked[1][1] if len(ranked) > 1 else 0.0)
        assert probability is not None
        sure = probability >= cal.answer_probability and lead >= cal.answer_margin
        assert searcher.consult(text).band == (ANSWER if sure else SUGGEST)


def test_two_entries_that_fit_equally_are_offered_not_answered() -> None:
    # 出了事故怎么赔: a borrowed car, a drunk driver, a free ride all fit as well as each other
    result = knowledge_base.consult("出了事故怎么赔")
    assert result.band == SUGGEST and len(result.hits) >= 2


def test_a_calibration_file_with_other_features_is_a_clear_error() -> None:
    with pytest.raises(ContentError, match=r"calibration\.yaml"):
        Calibration.from_data({"features": ["confidence"], "weights": [1.0], "bias": 0.0})


@pytest.mark.parametrize(
    "text",
    ["交通事故我是次要责任要赔多少", "车祸双方同等责任，损失咋个分", "我负主责要赔对方几成"],
)
def test_a_share_of_liability_is_answered_by_the_liability_share_entry(text: str) -> None:
    hits = knowledge_base.search(text)
    assert hits and hits[0].entry_id == "tr-liability-share"


@pytest.mark.parametrize("text", ["老公打我，我想离婚，他不同意", "男人动手打我，我要离婚他不肯"])
def test_beaten_and_refused_a_divorce_ranks_domestic_violence_first(text: str) -> None:
    hits = knowledge_base.search(text)
    assert hits and hits[0].entry_id == "dv-what-to-do"


def test_an_unmatched_legal_question_is_declined_with_no_hits() -> None:
    for text in ("公司股东会的决议无效怎么办", "我的商标被别人抢注了怎么起诉"):
        result = knowledge_base.consult(text)
        assert result.kind == "question" and result.band == DECLINE and result.hits == []


def test_question_phrasing_is_recognised() -> None:
    assert knowledge_base.asks("离婚了孩子归哪个？")
    assert knowledge_base.asks("老板不给工资咋个整")
    assert not knowledge_base.asks("我家门口的路灯坏了")
    assert not knowledge_base.asks("在吗")


def test_a_class_without_cues_is_a_clear_error() -> None:
    with pytest.raises(ContentError, match=r"intents\.yaml"):
        IntentDetector(
            {
                "chitchat": {"greeting": ["你好"]},
                "off_topic_max_chars": 40,
                "report_max_chars": 80,
                "off_topic": {"weather": {"pointer": "weather"}},
                "reports": {},
            }
        )


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_chitchat_set_is_almost_never_answered(split: str) -> None:
    rows = [r["text"] for r in _rows("chitchat") if r["split"] == split]
    assert len(rows) >= 50
    answered = [text for text in rows if knowledge_base.search(text)]
    assert len(answered) / len(rows) <= 0.02, answered
    recognised = [text for text in rows if knowledge_base.consult(text).kind == "chitchat"]
    assert len(recognised) / len(rows) >= 0.9


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_off_topic_set_is_rarely_answered(split: str) -> None:
    rows = [r["text"] for r in _rows("offtopic") if r["split"] == split]
    assert len(rows) >= 50
    answered = [text for text in rows if knowledge_base.search(text)]
    assert len(answered) / len(rows) <= 0.05, answered
    no_lawyer = [text for text in rows if knowledge_base.consult(text).kind != "question"]
    assert len(no_lawyer) / len(rows) >= 0.6


def test_the_sets_are_large_and_distinct() -> None:
    chitchat = [r["text"] for r in _rows("chitchat")]
    off_topic = [r["text"] for r in _rows("offtopic")]
    assert len(chitchat) >= 150 and len(off_topic) >= 150
    assert len(set(chitchat)) == len(chitchat) and len(set(off_topic)) == len(off_topic)


@pytest.mark.parametrize(
    "text", ["老板叫我明天不用来了", "老板炒了我鱿鱼", "老板叫我走人，工资也不结"]
)
def test_being_let_go_in_everyday_words_is_a_labour_question(text: str) -> None:
    hits = knowledge_base.search(text)
    assert hits and "劳动纠纷" in hits[0].topics


@pytest.mark.parametrize("text", ["厂里把我辞了一分钱没给", "厂子把我开了，工钱一分没给"])
def test_a_dismissal_with_nothing_paid_finds_the_labour_entries(text: str) -> None:
    hits = knowledge_base.search(text)
    assert hits and "劳动纠纷" in hits[0].topics


@pytest.mark.parametrize(
    "text", ["交警认定我次责怎么赔", "交警的责任认定书说我是次要责任，咋个赔"]
)
def test_a_traffic_liability_question_is_about_traffic_not_livestock(text: str) -> None:
    hits = knowledge_base.search(text)
    assert hits and "交通事故" in hits[0].topics
    assert hits[0].entry_id != "tr-livestock-collision"


@pytest.mark.parametrize("text", ["路灯坏了好几天了没人修", "村里的路灯不亮了"])
def test_a_broken_street_lamp_gets_no_legal_answer(text: str) -> None:
    assert knowledge_base.search(text) == []
    assert knowledge_base.consult(text).kind == "report"


def test_bands_command_reports_band_shares_and_direct_precision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from knowledge_base.__main__ import main

    entry = knowledge_base.get_entry("marriage-divorce-by-agreement")
    assert entry is not None
    rows = tmp_path / "topics.csv"
    rows.write_text(
        f"id,text,topic\n1,{entry.question},婚姻家庭\n2,红烧肉怎么做,婚姻家庭\n3,股权转让,公司法\n",
        encoding="utf-8",
    )
    assert main(["bands", str(rows)]) == 0
    out = capsys.readouterr().out
    assert "answer=0.500" in out and "offtopic=0.500" in out
    assert "direct-answer precision=1.000 n=2" in out
