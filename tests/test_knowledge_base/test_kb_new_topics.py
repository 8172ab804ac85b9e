"""The topics residents ask about most that the FAQ did not cover (issue 11) are found whichever
way they are asked: colloquial, dialect (咋个, 哪点, 着) and short forms."""

from __future__ import annotations

import pytest

import knowledge_base

PHRASINGS: dict[str, list[str]] = {
    "labour-individual-work-pay": [
        "帮人家盖房子的工钱一直拖着不给",
        "摘烟叶的工钱主家不给咋个整",
        "给私人打零工工资要不到",
        "村里人请我干活不给钱能不能申请劳动仲裁",
    ],
    "wi-private-labour-injury": [
        "请人建房工人从架子上摔下来了谁负责",
        "给私人老板干活摔伤了算不算工伤",
        "雇人摘烟叶工人摔伤了谁负责",
    ],
    "wi-helper-injured": [
        "帮邻居盖房子摔伤了主家要不要赔",
        "义务帮亲戚摘烟叶受伤了",
        "帮工受伤了被帮的人要不要赔",
    ],
    "assist-dibao-apply": ["低保要咋个申请", "家里困难想吃低保需要什么条件", "农村低保去哪里办"],
    "assist-dibao-refused-stopped": [
        "我家低保被取消了咋个整",
        "低保停发了也不说原因",
        "评不上低保能不能告",
    ],
    "family-divide-property-parents-alive": [
        "父母还在兄弟几个要分家",
        "分家析产怎么分",
        "弟兄分家老房子咋个分",
    ],
    "family-mental-illness-treatment": [
        "家里有精神病人经常打人怎么办",
        "精神病人不肯去医院咋个整",
    ],
    "family-mental-illness-guardianship": ["精神病人的监护人是谁", "精神病人打伤别人谁来赔"],
    "tobacco-grading-dispute": [
        "烟站压级压价怎么办",
        "烤烟定级不公平找哪个",
        "交烟叶的时候等级评低了",
    ],
    "tobacco-purchase-contract": ["烟叶可以卖给私人老板吗", "多种的烤烟烟站不收咋个整"],
    "collective-membership": [
        "村里不认我是集体经济组织成员",
        "集体成员资格怎么认定",
        "嫁过来的媳妇算不算村里的成员",
    ],
    "village-affairs-disclosure": [
        "村委会不公开账目怎么办",
        "村务公开多久公布一次",
        "想查村上的账",
    ],
    "village-official-misconduct": [
        "村干部优亲厚友去哪里举报",
        "村主任乱收钱向哪个部门反映",
        "怎么罢免村主任",
    ],
    "tr-claim-other-insurer": [
        "能不能直接找对方的保险公司赔",
        "对方保险公司拖着不赔怎么办",
        "可以直接起诉对方的保险公司吗",
    ],
    "debt-illegal-loans": ["赌债要不要还", "打麻将输的钱写了欠条要还吗", "赌博欠的钱法律保护吗"],
    "debt-loan-default-jail": [
        "信用社贷款还不上会不会坐牢",
        "银行贷款到期还不起咋个整",
        "农商行的钱还不起会坐牢吗",
    ],
    "labour-arbitration-award-appeal": [
        "劳动仲裁输了还能告吗",
        "对劳动仲裁裁决不服怎么办",
        "仲裁裁决下来了不服能不能起诉",
    ],
    "elderly-give-up-inheritance": [
        "哥说放弃继承就不养老",
        "放弃继承权是不是就不用赡养老人",
        "兄弟说不要家产就不管爹妈",
    ],
}

CASES = [
    (entry_id, question) for entry_id, questions in PHRASINGS.items() for question in questions
]


@pytest.mark.parametrize(("entry_id", "question"), CASES, ids=[q for _, q in CASES])
def test_new_topic_is_found_for_each_phrasing(entry_id: str, question: str) -> None:
    hits = knowledge_base.search(question)
    assert entry_id in [hit.entry_id for hit in hits]


@pytest.mark.parametrize("entry_id", list(PHRASINGS))
def test_new_topic_is_the_top_answer_for_most_phrasings(entry_id: str) -> None:
    questions = PHRASINGS[entry_id]
    top = [hits[0].entry_id if (hits := knowledge_base.search(q)) else None for q in questions]
    assert top.count(entry_id) * 2 > len(questions), dict(zip(questions, top, strict=True))


def test_every_new_topic_entry_cites_the_law_the_issue_names() -> None:
    entries = {entry.id: entry for entry in knowledge_base.load().entries}
    expected = {
        "wi-private-labour-injury": "民法典",
        "wi-helper-injured": "人身损害赔偿解释",
        "assist-dibao-apply": "社会救助暂行办法",
        "assist-dibao-refused-stopped": "社会救助暂行办法",
        "family-divide-property-parents-alive": "民法典",
        "family-mental-illness-treatment": "精神卫生法",
        "family-mental-illness-guardianship": "民法典",
        "tobacco-grading-dispute": "烟草专卖法",
        "collective-membership": "农村集体经济组织法",
        "village-affairs-disclosure": "村民委员会组织法",
        "labour-arbitration-award-appeal": "劳动争议调解仲裁法",
    }
    for entry_id, law in expected.items():
        assert law in {ref.law for ref in entries[entry_id].laws}, entry_id
    assert "12388" in entries["village-official-misconduct"].answer
    assert {297, 303, 304} <= {
        n for ref in entries["family-divide-property-parents-alive"].laws for n in ref.articles
    }


@pytest.mark.parametrize(
    "question", ["信用社贷款还不上会不会坐牢", "银行的钱还不起会坐牢吗", "网贷还不上会不会判刑"]
)
def test_asking_whether_default_means_jail_is_a_debt_question(question: str) -> None:
    hits = knowledge_base.search(question)
    assert hits
    assert "债权债务" in hits[0].topics


@pytest.mark.parametrize("question", ["诈骗罪会判几年", "朋友被刑拘了会不会坐牢"])
def test_criminal_defence_questions_about_jail_are_still_declined(question: str) -> None:
    assert knowledge_base.search(question) == []
