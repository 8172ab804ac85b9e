"""Questions residents often ask about family, work and housing that the FAQ answered nowhere
(issue 11, "more of what residents ask") are found whichever way they are asked. The phrasings are
written for each class of question; none is an entry variant or a benchmark row."""

from __future__ import annotations

import pytest

import knowledge_base

PHRASINGS: dict[str, list[str]] = {
    "marriage-divorce-lawsuit-cost-materials": [
        "起诉离婚要交哪些材料",
        "离婚诉讼费是多少",
        "打离婚官司要准备些哪样证件",
    ],
    "marriage-divorce-judgment-effect": [
        "法院的离婚调解书能当离婚证用吗",
        "判决离婚以后还用去民政局吗",
    ],
    "marriage-property-after-divorce": [
        "离婚后才发现前夫藏了存款",
        "离婚时漏分的房子还能起诉分吗",
    ],
    "marriage-house-premarital-parents": [
        "结婚前父母出钱买的房离婚要分吗",
        "男方婚前付首付的房子离婚怎么分",
    ],
    "marriage-custody-change": [
        "离婚后能不能把孩子抚养权改过来",
        "孩子跟着前夫过得不好我想要回抚养权",
    ],
    "marriage-family-conflict": [
        "老倌不顾家也不给钱咋个整",
        "婆媳关系不好天天吵怎么办",
    ],
    "marriage-prohibited-relatives-health-check": [
        "表兄妹可以结婚吗",
        "结婚前要不要婚检",
    ],
    "marriage-spouse-sold-house": [
        "老公瞒着我把房子卖了能要回来吗",
        "夫妻共同的房子一方私自卖了",
    ],
    "marriage-step-children": [
        "继子女有没有继承权",
        "继父的遗产继子能不能分",
    ],
    "marriage-child-out-of-wedlock": [
        "非婚生子女能不能继承",
        "没结婚生的孩子男方要不要给抚养费",
    ],
    "marriage-divorce-spouse-ill": [
        "对方瘫痪在床能离婚吗",
        "老婆有精神病怎么离婚",
    ],
    "marriage-reproductive-rights": [
        "老婆打胎要不要经过老公同意",
        "老婆想把孩子打掉，我不同意她能去做吗",
    ],
    "marriage-death-compensation-share": [
        "死亡赔偿金家里人怎么分",
        "车祸死亡赔偿金算遗产吗",
    ],
    "labour-company-closure": [
        "厂子倒闭了工人的补偿怎么算",
        "公司停产放假工资怎么发",
    ],
    "labour-job-transfer-pay-cut": [
        "公司单方面降我工资合法吗",
        "单位强行调岗不去就开除",
    ],
    "labour-non-compete-training": [
        "离职公司要我赔违约金合法吗",
        "竞业限制要给补偿吗",
    ],
    "labour-unemployment-benefit": [
        "被辞退了以后失业金怎么领取",
        "被公司辞退能领失业保险金吗",
    ],
    "labour-pension-contribution": [
        "养老保险交多少年可以领养老金",
        "社保没交满十五年怎么办",
    ],
    "labour-dispatch-temp-workers": [
        "劳务派遣工和正式工同工同酬吗",
        "临时工有没有经济补偿",
    ],
    "labour-sick-leave": [
        "病假工资怎么算",
        "生病住院期间公司能开除我吗",
    ],
    "labour-death-survivor-benefits": [
        "职工病故有抚恤金吗",
        "养老保险个人账户余额能继承吗",
    ],
    "labour-dismissal-misconduct": [
        "公司说我严重违纪开除我合法吗",
        "不服从管理被辞退能不能仲裁",
    ],
    "inheritance-no-heir": [
        "五保户的遗产归谁",
        "没有儿女的老人去世了房子给谁",
    ],
    "ph-sale-party-backs-out": [
        "卖房的人签了合同又反悔不卖了",
        "二手房买家一直不过户",
    ],
    "ph-gift-transfer-house": [
        "父母把房子赠与给儿子怎么办手续",
        "房子过户给儿子后不养老能要回来吗",
    ],
    "ph-presale-permit": [
        "开发商没有预售许可证就收房款",
        "没有预售证的期房能买吗",
    ],
    "ph-housing-assistance": [
        "农村危房改造怎么申请",
        "房子遭灾倒了政府有补助吗",
    ],
    "land-household-member-share": [
        "家里承包地都在哥哥名下我的份怎么要",
        "分户后承包地怎么分",
    ],
    "wi-prove-employment": [
        "受伤以后老板不承认我在他那里上班，工伤怎么认定",
        "单位不承认劳动关系，受了工伤怎么申请认定",
    ],
    "marriage-breakup-money": [
        "女方要青春损失费我要不要给",
        "谈恋爱时送的礼物分手后要退吗",
    ],
    "labour-students-interns": [
        "放暑假去厂里打工，老板不给工钱",
        "实习的时候在单位受伤了找谁赔",
    ],
    "ph-owners-committee-change-manager": [
        "业主想成立业委会换掉开发商找的物业",
        "物业服务太差想换一家物业公司怎么弄",
    ],
    "family-parents-neglect-children": [
        "爸爸不管孩子也不给生活费",
        "父母虐待孩子去哪里反映",
    ],
}

CASES = [(entry_id, q) for entry_id, questions in PHRASINGS.items() for q in questions]


@pytest.mark.parametrize(("entry_id", "question"), CASES, ids=[q for _, q in CASES])
def test_resident_question_finds_its_entry(entry_id: str, question: str) -> None:
    assert entry_id in [hit.entry_id for hit in knowledge_base.search(question)]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("离婚了娃娃的生活费他不给", "marriage-child-support"),
        ("克法院告状要花好多钱", "procedure-court-fees"),
        ("离婚后孩子抚养费给多少，给到几岁", "marriage-child-support"),
    ],
)
def test_general_questions_keep_their_general_entry(question: str, expected: str) -> None:
    """A narrower new entry (changing custody, the cost of a divorce) does not take the
    general question it shares words with."""
    hits = knowledge_base.search(question)
    assert hits and hits[0].entry_id == expected
