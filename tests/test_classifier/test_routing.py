"""Each category's typical and confusable cases from DOMAIN.md §1 route where they belong."""

from __future__ import annotations

import pytest

import classifier
from classifier import classify

TYPICAL = [
    # (text, category, department)
    ("我要离婚，他不给抚养费", "D01", "justice"),
    ("订婚给了彩礼，女方悔婚不退彩礼", "D01", "justice"),
    ("三个儿子都不养老人，弟兄几个推来推去", "D02", "justice"),
    ("老人过世了，几个子女争遗产", "D03", "justice"),
    ("隔壁邻居的房檐水滴到我家院子里", "D04", "justice"),
    ("邻居起房子占了我家宅基地", "D05", "township"),
    ("隔壁组的人把我家承包地的界桩挪了", "D06", "township"),
    ("修路征地的补偿款到现在还没发", "D07", "township"),
    ("包工头欠了我们三个月工钱不给", "D08", "hrss"),
    ("在工地上干活从架子上摔下来，要做工伤认定", "D09", "hrss"),
    ("在卫生院输液后出事了，怀疑是医疗事故", "D10", "health"),
    ("出了交通事故，对方逃逸了", "D11", "police"),
    ("借钱给亲戚三万块，打了借条不还", "D12", "justice"),
    ("买的种子不发芽，是假种子", "D13", "agriculture"),
    ("两家人打架，他把我打伤了", "D14", "police"),
    ("小区物业不管事，电梯坏了一个月", "D15", "housing"),
    ("村边养猪场粪水乱排，臭气熏天", "D16", "environment"),
    ("娃娃在学校被同学欺负，校园欺凌", "D17", "education"),
    ("超市卖过期食品，不给退货", "D18", "market"),
    ("村干部优亲厚友，低保评得不公", "C20", "discipline"),
    ("法院判了他赔钱，判了不给钱执行不到", "D20", "court"),
    ("乡里拖着不办，多次反映没人管", "D21", "petition"),
    ("接到冒充客服的电话被骗了两万", "D22", "police"),
    ("有人在小卖部后面聚众赌博", "B1", "police"),
    ("村里的精神病人停药后又犯病了", "B2", "police"),
    ("电动车在楼道充电，私拉乱接电线", "B3", "emergency"),
    ("下大雨后村后山体滑坡了", "B4", "emergency"),
    ("有黑车在镇上非法营运", "B5", "police"),
    ("一家人吃菌子中毒了", "B6", "market"),
    ("有人在村里传播邪教，私设聚会点", "B7", "police"),
    ("家里困难想申请低保", "C1", "civil_affairs"),
    ("养老保险怎么交，养老金能领多少", "C2", "hrss"),
    ("想找工作，有没有招聘信息", "C3", "hrss"),
    ("农村危房改造怎么申请", "C4", "housing"),
    ("孩子明年要入学，去哪里报名", "C5", "education"),
    ("村卫生室没人，看病难", "C6", "health"),
    ("通村路烂了，班车也不通", "C7", "transport"),
    ("村里停水一个星期了，吃水难", "C8", "water"),
    ("身份证丢了怎么补办", "C9", "police"),
    ("想申请法律援助请律师", "C10", "justice"),
    ("耕地地力保护补贴什么时候发", "C11", "agriculture"),
    ("路灯坏了，公厕也没人打扫", "C12", "housing"),
    ("退役军人的优抚政策怎么申请", "C22", "civil_affairs"),
    ("新农合住院报销比例是多少", "C14", "medical_insurance"),
    ("景区门票太贵，旅游体验差", "C16", "culture_tourism"),
    ("不动产登记要带什么材料", "C17", "natural_resources"),
    ("想找妇联咨询妇女权益", "C19", "women"),
    ("举报村干部贪污受贿", "C20", "discipline"),
]


@pytest.mark.parametrize(("text", "category", "department"), TYPICAL)
def test_typical_report_routes_to_its_category(text: str, category: str, department: str) -> None:
    result = classify(text)
    assert result.department == department, result.reasons
    assert result.category == category, result.reasons
    assert result.category_name == classifier.categories()[category].name_zh


CONFUSABLE = [
    # DOMAIN.md §1.3 confusable cases: (text, expected category)
    ("收了彩礼人就跑了，是骗婚，骗了好几家", "D22"),  # D01 → fraud
    ("老人已经过世了，现在争遗产", "D03"),  # D02 → D03
    ("征收补偿款太低", "D07"),  # D05/D06 → D07
    ("养鸡场臭得很，整个村都闻得到", "D16"),  # D04 → D16
    ("工资拖欠半年，老板不给", "D08"),  # D12 → D08
    ("法院判了他还钱，到现在执行不到", "D20"),  # D12 → D20
    ("医保报不了，报销比例太低", "C14"),  # D10 → C2 (医保)
    ("家里困难，没饭吃，想申请救助", "C1"),  # D02 → C1
    ("路烂了到处是坑，没有车祸，就是难走", "C7"),  # D11 → C7
    ("想给孩子办转学，学籍怎么转", "C5"),  # D17 → C5
]


@pytest.mark.parametrize(("text", "category"), CONFUSABLE)
def test_confusable_case_goes_to_the_right_category(text: str, category: str) -> None:
    result = classify(text)
    assert result.category == category, result.reasons


def test_weak_word_alone_does_not_route_with_a_strong_category() -> None:
    # 老公 alone is a weak D01 word: not enough to call it a marriage dispute
    result = classify("老公")
    assert result.category != "D01" or result.confidence < 0.9


def test_joint_departments_follow_domain_triggers() -> None:
    assert "housing" in classify("工地上包工头拖欠农民工工资").joint_departments
    assert "agriculture" in classify("养猪场粪水污染了河水").joint_departments
    domestic = classify("老公喝醉了就打我")
    assert domestic.department == "police"
    assert "women" in domestic.joint_departments


def test_reasons_name_the_matched_words_and_department() -> None:
    result = classify("包工头拖欠工资")
    assert any("包工头" in r and "hrss" in r for r in result.reasons)


def test_categories_cover_every_code_classify_can_return() -> None:
    cats = classifier.categories()
    assert {"D01", "D22", "B1", "B7", "C1", "C13"} <= set(cats)
    for code, cat in cats.items():
        assert cat.code == code
        assert cat.name_zh and cat.name_en and cat.department
        assert cat.department != "center"


def test_classification_is_frozen() -> None:
    result = classify("包工头拖欠工资")
    with pytest.raises(AttributeError):
        result.department = "police"  # type: ignore[misc]


def test_concurrent_calls_give_the_same_answers() -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [text for text, _c, _d in TYPICAL] * 4
    expected = [classify(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(classify, texts))
    assert results == expected


def test_every_returned_category_is_in_the_category_list() -> None:
    cats = classifier.categories()
    departments = classifier.load_rules().departments
    texts = [t for t, _c, _d in TYPICAL] + [t for t, _c in CONFUSABLE] + ["你好", "不想活了"]
    for text in texts:
        result = classify(text)
        assert result.category is None or result.category in cats
        assert result.department is None or result.department in departments
