"""The right desk: real classifier + county data decide the lead unit, the units referred at once
(婚姻家庭 → 妇联 and the report's 乡镇), confidentiality and the office a power cut names.

These tests use the shipped classifier rules (not the fake table of conftest), on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from backend.models import Case, CaseStatus, CaseTask, OutboxMessage, Unit
from backend.services import intake
from backend.services.intake import ReportDraft

from .conftest import T0, World


@pytest.fixture(autouse=True)
def fake_classifier() -> None:
    """Overrides the conftest fixture: these tests route with the real rules."""


async def _submit(world: World, text: str, township: str | None = "寅街镇", **kw: object) -> Case:
    draft = ReportDraft(text=text, township=township, **kw)  # type: ignore[arg-type]
    return await intake.submit_report(
        session=world.session, reporter=world["resident"], draft=draft, now=T0
    )


async def _task_units(world: World, case: Case) -> set[str]:
    rows = await world.session.exec(
        select(Unit.code)
        .join(CaseTask, col(CaseTask.unit_id) == col(Unit.id))
        .where(CaseTask.case_id == case.id)
    )
    return set(rows.all())


async def _cards(world: World, case: Case, kind: str) -> set[int | None]:
    rows = await world.session.exec(
        select(OutboxMessage).where(OutboxMessage.case_id == case.id, OutboxMessage.kind == kind)
    )
    return {m.recipient_unit_id for m in rows.all()}


MARRIAGE_AND_FAMILY = [
    "我老公要跟我离婚，娃娃的抚养权两个人争不下来",
    "订婚时给了八万彩礼，现在女方悔婚不肯退",
    "两口子天天吵架，媳妇跑回娘家不回来了",
    "老人有三个儿子，弟兄几个推来推去都不赡养",
    "我妈八十岁了，儿子不管老人，生活费也不给",
]


@pytest.mark.parametrize("text", MARRIAGE_AND_FAMILY)
async def test_marriage_and_family_refer_to_the_womens_federation_and_the_own_township(
    world: World, text: str
) -> None:
    case = await _submit(world, text, township="寅街镇")
    assert case.category in ("D01", "D02"), case.classification["reasons"]
    assert case.status == CaseStatus.dispatched
    assert await _task_units(world, case) == {"women", "township:寅街镇"}
    assert case.classification["joint_units"] == ["women", "township:寅街镇"]
    referred = {world.units["women"].id, world.units["township:寅街镇"].id}
    assert await _cards(world, case, "joint_task") == referred


async def test_without_a_known_township_only_the_womens_federation_is_referred(
    world: World,
) -> None:
    case = await _submit(world, "彩礼给了不退，要退婚", township=None)
    assert await _task_units(world, case) == {"women"}


async def test_the_own_township_is_taken_from_the_shared_location(world: World) -> None:
    # 500 m from the 牛街彝族乡 seat: no township typed, the location decides
    case = await _submit(
        world, "彩礼给了不退，要退婚", township=None, latitude=24.909, longitude=100.612
    )
    assert case.township == "牛街彝族乡"
    assert await _task_units(world, case) == {"women", "township:牛街彝族乡"}


async def test_other_categories_and_triage_refer_nobody(world: World) -> None:
    wages = await _submit(world, "包工头欠了我们三个月工钱不给")
    unclear = await _submit(world, "有个事情想问问")
    assert wages.category == "D08" and await _task_units(world, wages) == set()
    assert unclear.status == CaseStatus.triage and await _task_units(world, unclear) == set()


@pytest.mark.parametrize(
    "text",
    [
        "我是退伍老兵，优抚金一直没发下来",
        "伤残军人的待遇找哪个申请",
        "我家是军属，儿子在部队，家里房子漏雨没人管",
        "参战老兵想问一下补助政策",
        "烈士家属的抚恤怎么领",
    ],
)
async def test_veterans_matters_go_to_the_county_veterans_unit(world: World, text: str) -> None:
    case = await _submit(world, text)
    assert case.lead_unit_id == world.units["veterans"].id, case.classification["reasons"]
    assert case.department == "veterans"
    # the classifier's department stays one of the 23 benchmark codes
    assert case.classification["department"] == "civil_affairs"


async def test_veterans_fall_back_to_civil_affairs_until_the_unit_is_loaded(
    world: World,
) -> None:
    await world.session.delete(world.units["veterans"])
    await world.session.commit()
    case = await _submit(world, "退役军人的优抚政策怎么申请")
    assert case.lead_unit_id == world.units["civil_affairs"].id


@pytest.mark.parametrize(
    "text",
    [
        "举报村干部贪污扶贫款",
        "组长把我家的惠农补贴克扣了一半",
        "村里的低保都是关系保，村主任的亲戚全吃上了",
        "村干部优亲厚友，困难户评不上",
        "支书私吞了修路的钱",
    ],
)
async def test_corruption_reports_go_to_discipline_and_are_confidential(
    world: World, text: str
) -> None:
    case = await _submit(world, text)
    assert case.lead_unit_id == world.units["discipline"].id, case.classification["reasons"]
    assert case.classification["confidential"] is True
    assert await _task_units(world, case) == set()
    township_unit = world.units["township:寅街镇"].id
    assert township_unit not in await _cards(world, case, "case_card")


async def test_an_ordinary_case_is_not_confidential(world: World) -> None:
    case = await _submit(world, "邻居家起房子把我家的排水沟堵了")
    assert case.classification["confidential"] is False


@pytest.mark.parametrize(
    ("text", "office"),
    [
        ("我们村停电三天了，寅街供电所打电话没人接", "寅街供电所"),
        ("家里没电好几天了，找了新街供电所也不来修", "新街供电所"),
        ("村里经常停电，电压低得电器都用不了", None),
        ("电线断了掉在路边，组里一直没电", None),
    ],
)
async def test_power_cuts_go_to_the_township_with_the_named_power_office(
    world: World, text: str, office: str | None
) -> None:
    case = await _submit(world, text, township="寅街镇")
    assert case.lead_unit_id == world.units["township:寅街镇"].id, case.classification["reasons"]
    assert case.classification["department"] != "water"
    if office:
        assert case.classification["mentions"] == [office]
        assert f"提到：{office}" in case.classification["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "我请同村的老李帮我家盖房子，他从架子上摔下来腿断了，现在要我赔医药费",
        "去年帮隔壁家收烤烟，说好的工钱到现在都不给",
        "帮工受伤了，请他的那家人不管",
        "我给他家帮忙砍树被树砸伤了，他家一分钱不出",
    ],
)
async def test_helpers_between_villagers_are_a_civil_matter_for_justice(
    world: World, text: str
) -> None:
    case = await _submit(world, text)
    assert case.lead_unit_id == world.units["justice"].id, case.classification["reasons"]


@pytest.mark.parametrize(
    "text",
    [
        "隔壁因为地界的事说要把我家房子烧了",
        "他欠钱不还还扬言要杀了我全家",
        "邻居吵架说要弄死我",
    ],
)
async def test_arson_and_murder_threats_lead_with_police(world: World, text: str) -> None:
    case = await _submit(world, text)
    assert case.lead_unit_id == world.units["police"].id, case.classification["reasons"]


def test_the_summary_names_the_unit_that_will_really_lead() -> None:
    veterans = intake.preview_routing(text="我是退伍老兵，优抚金一直没发下来", township="新街镇")
    assert (veterans.unit_code, veterans.department_name) == ("veterans", "县退役军人事务局")
    power = intake.preview_routing(text="停电两天了，新街供电所不管", township="新街镇")
    assert power.department_name == "新街镇综治中心"
    assert "提到：新街供电所" in power.reasons
