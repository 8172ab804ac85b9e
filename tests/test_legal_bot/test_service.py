"""backend.services.legal: the question log, feedback ownership, phone numbers, reply days."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import load_county
from backend.models import Person
from backend.services import legal
from backend.services.errors import NotFound, ValidationFailed

from .conftest import FakeKnowledge


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),  # Telegram's shared-contact form
        ("0086-138-1234-5678", "13812345678"),
        ("0872-1234567", "08721234567"),
        ("12345678901", None),
        ("1381234567", None),
        ("打我电话", None),
        ("", None),
    ],
)
def test_normalize_phone(raw: str, expected: str | None) -> None:
    assert legal.normalize_phone(raw) == expected


async def _person(session: AsyncSession, telegram_id: int) -> Person:
    person = Person(telegram_id=telegram_id, display_name="张三")
    session.add(person)
    await session.commit()
    await session.refresh(person)
    return person


async def test_log_and_feedback_belong_to_the_asker(
    factory: async_sessionmaker[AsyncSession], fake_kb: FakeKnowledge
) -> None:
    async with factory() as session:
        asker, other = await _person(session, 1), await _person(session, 2)
        hits = fake_kb.search("离婚抚养费")
        answered = await legal.log_question(
            session=session, person=asker, question=" 离婚抚养费 ", hits=hits
        )
        assert answered.id is not None
        assert (answered.question, answered.entry_id, answered.answered) == (
            "离婚抚养费",
            "fam-child-support",
            True,
        )
        assert answered.score == pytest.approx(0.9)
        with pytest.raises(NotFound):
            await legal.mark_helpful(
                session=session, log_id=answered.id, helpful=False, person=other
            )
        row = await legal.mark_helpful(
            session=session, log_id=answered.id, helpful=True, person=asker
        )
        assert row.helpful is True
        unanswered = await legal.log_question(
            session=session, person=asker, question="公司股权怎么办", hits=[]
        )
        assert not unanswered.answered and unanswered.entry_id is None
        worklist = await legal.unanswered_questions(session=session)
        assert [r.id for r in worklist] == [unanswered.id]


async def test_empty_question_is_refused(factory: async_sessionmaker[AsyncSession]) -> None:
    async with factory() as session:
        person = await _person(session, 3)
        with pytest.raises(ValidationFailed):
            await legal.log_question(session=session, person=person, question="  ", hits=[])
        with pytest.raises(ValidationFailed):
            await legal.handoff_to_lawyer(
                session=session, person=person, question="问题", contact_phone="123"
            )


def test_reply_days_come_from_the_county_time_profile() -> None:
    county = load_county()
    profile = county.category_profile("C10")
    expected = profile.accept_working_days + profile.handle_working_days
    assert legal.reply_working_days(county) == expected
    assert legal.reply_working_days(None) == legal.DEFAULT_REPLY_WORKING_DAYS
