"""Routing classes of issue 10 §2, each with several phrasings and its look-alikes."""

from __future__ import annotations

import pytest

from classifier import categories, classify

BENCHMARK_CODES = {
    "center", "township", "police", "court", "procuratorate", "justice", "petition", "women",
    "health", "hrss", "education", "housing", "transport", "natural_resources", "agriculture",
    "civil_affairs", "medical_insurance", "market", "environment", "emergency",
    "culture_tourism", "water", "discipline",
}  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "我请同村的老李帮我家盖房子，他从架子上摔下来腿断了，现在要我赔医药费",
        "去年帮隔壁家收烤烟，说好的工钱到现在都不给",
        "帮工受伤了谁来赔",
        "我给他家帮忙砍树被树砸伤了，他家一分钱不出",
        "请了亲戚来帮忙起房子，从房顶上摔下来了，两家为医药费吵",
        "个人雇工干了半个月，雇主说没钱给",
        "帮邻居打工受伤了",
    ],
)
def test_helpers_and_hired_hands_between_villagers_are_civil_disputes(text: str) -> None:
    result = classify(text)
    assert (result.department, result.category) == ("justice", "D23"), result.reasons


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("我在工地上干活从架子上摔下来，老板不管医药费", "hrss"),
        ("包工头欠了我们十几个农民工三个月工资", "hrss"),
        ("在厂里上班手被机器绞了，公司不给认定工伤", "hrss"),
        ("我在砖厂打工受伤了，厂里不管", "hrss"),
        ("老板拖欠我们的工钱，请领导帮忙解决", "hrss"),
    ],
)
def test_employers_wages_and_work_injuries_stay_with_hrss(text: str, department: str) -> None:
    assert classify(text).department == department


@pytest.mark.parametrize(
    "text",
    [
        "我是退伍老兵，优抚金一直没发下来",
        "伤残军人的待遇找哪个申请",
        "我家是军属，儿子在部队，家里有困难",
        "参战老兵想问一下补助政策",
        "烈士家属的抚恤怎么领",
        "退役士兵安置的事找哪里",
        "老人说当年当过兵，想问有没有补助",
    ],
)
def test_veterans_matters_have_their_own_category_within_benchmark_codes(text: str) -> None:
    result = classify(text)
    assert result.category == "C22", result.reasons
    assert result.department in BENCHMARK_CODES


def test_every_category_department_is_a_benchmark_code() -> None:
    assert {c.department for c in categories().values()} <= BENCHMARK_CODES


@pytest.mark.parametrize(
    "text",
    [
        "举报村干部贪污扶贫款",
        "组长把我家的惠农补贴克扣了一半",
        "村里的低保都是关系保，村主任的亲戚全吃上了",
        "村干部优亲厚友，困难户评不上",
        "支书私吞了修路的钱",
        "我家的耕地补贴被村里扣了，问了也不说",
        "我举报村长把集体的地偷偷租出去收钱自己拿了",
    ],
)
def test_corruption_and_misused_subsidies_go_to_discipline(text: str) -> None:
    result = classify(text)
    assert (result.department, result.category) == ("discipline", "C20"), result.reasons


@pytest.mark.parametrize(
    "text",
    [
        "村委会账目不公开，集体收入不知道去哪了",
        "村里换届选举有人拉票",
        "开会不通知，村规民约没人商量",
    ],
)
def test_other_village_affairs_stay_with_the_township(text: str) -> None:
    assert classify(text).department == "township"


@pytest.mark.parametrize(
    "text",
    [
        "我们村停电三天了，寅街供电所打电话没人接",
        "家里没电好几天了",
        "村里经常停电，电压低得电器都用不了",
        "电线断了，组里一直没电",
        "这个月电费怎么这么高，电表是不是坏了",
        "变压器坏了整个村都停电",
    ],
)
def test_power_cuts_go_to_the_township_not_water(text: str) -> None:
    result = classify(text)
    assert (result.department, result.category) == ("township", "C23"), result.reasons


@pytest.mark.parametrize("text", ["手机没电了，在哪里充", "电动车没电了推不动", "小区物业乱停电"])
def test_a_flat_battery_or_a_property_company_is_not_a_power_cut(text: str) -> None:
    assert classify(text).category != "C23"


@pytest.mark.parametrize("text", ["村里停水一个星期了，吃水难", "自来水管爆了，水压很低"])
def test_water_cuts_stay_with_water(text: str) -> None:
    assert classify(text).department == "water"


@pytest.mark.parametrize(
    "text",
    [
        "隔壁因为地界的事说要把我家房子烧了",
        "他欠钱不还还扬言要杀了我全家",
        "邻居吵架说要弄死我",
        "他说迟早要烧他家房子",
    ],
)
def test_arson_and_murder_threats_lead_with_police_even_at_orange(text: str) -> None:
    result = classify(text)
    assert result.department == "police", result.reasons
    assert result.risk_level in ("orange", "red")
