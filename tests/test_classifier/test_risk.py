"""High-risk signals (DOMAIN.md §1.7) are found first and set the risk level (§1.8)."""

from __future__ import annotations

import pytest

from classifier import classify

RED = [
    ("R1", "村口有两伙人正在打，有人拿刀砍人"),
    ("R1", "他们打起来了，流了好多血"),
    ("R2", "他拿着火药枪在村里转"),
    ("R2", "他浇汽油说要烧房子"),
    ("R3", "我不想活了，准备喝农药"),
    ("R3", "她说要跳河，死给你看"),
    ("R6", "我家孩子放学没回家，孩子失踪了"),
    ("R6", "娃娃被老师猥亵了"),
    ("K16", "娃娃放学没回家，找不到了"),  # a missing child told, not named: a combination
    ("R7", "全村几十个人去堵路，拦车不让过"),
    ("R7", "讨薪的好多人围堵政府大门"),
    ("R7", "村里几十个人把路堵了拉横幅"),
    ("R10", "工地上出人命了，有人死了"),
    ("R10", "吃菌子中毒好几个人了"),
]


@pytest.mark.parametrize(("signal", "text"), RED)
def test_red_signal_makes_the_report_red(signal: str, text: str) -> None:
    result = classify(text)
    assert result.risk_level == "red", result
    assert any(s.startswith(signal + " ") for s in result.risk_signals), result.risk_signals


ORANGE = [
    ("R4", "他说要弄死你，我也不让他好过"),
    ("R5", "老公喝醉了就打我"),
    ("R5", "着老倌打了"),
    ("R7", "全组人商量一起去县里集体上访"),
    ("R8", "问题不解决我就要进京上访"),
]


@pytest.mark.parametrize(("signal", "text"), ORANGE)
def test_orange_signal_makes_the_report_orange(signal: str, text: str) -> None:
    result = classify(text)
    assert result.risk_level == "orange", result
    assert any(s.startswith(signal + " ") for s in result.risk_signals), result.risk_signals


def test_family_violence_with_injury_is_red_and_goes_to_police_and_women() -> None:
    result = classify("老公打我，打得流血了")
    assert result.risk_level == "red"
    assert result.department == "police"
    assert "women" in result.joint_departments


def test_violence_in_progress_goes_to_police_even_when_topic_is_unclear() -> None:
    result = classify("快来人，他们正在打，拿刀砍")
    assert result.department == "police"
    assert result.risk_level == "red"


def test_risk_is_set_even_without_any_topic_word() -> None:
    result = classify("不想活了")
    assert result.risk_level == "red"
    assert result.department is not None


def test_ordinary_dispute_is_yellow_and_service_request_is_blue() -> None:
    assert classify("隔壁邻居的房檐水滴到我家院子里").risk_level == "yellow"
    assert classify("身份证丢了怎么补办").risk_level == "blue"


def test_vulnerable_person_raises_the_level_one_step() -> None:
    plain = classify("儿子不管老人，不给生活费")
    raised = classify("儿子不管老人，老人八十多岁还瘫痪在床，不给生活费")
    assert plain.risk_level == "yellow"
    assert raised.risk_level == "orange"


@pytest.mark.parametrize(
    "text",
    ["我们没有打架，只是吵了几句", "不是吵架，就是问一下", "他没有打老婆", "没有人跳河，是谣言"],
)
def test_negated_violence_is_not_a_risk_signal(text: str) -> None:
    result = classify(text)
    assert result.risk_level in ("blue", "yellow"), result
    assert not any(s.startswith(("R1", "R3", "R5")) for s in result.risk_signals)


def test_negation_does_not_hide_a_fight_elsewhere_in_the_text() -> None:
    result = classify("昨天没有打架，今天他们打起来了")
    assert result.risk_level == "red"


def test_negated_fight_is_not_a_fight_category() -> None:
    assert classify("我们没有打架").category != "D14"
    assert classify("他们打架了").category == "D14"
