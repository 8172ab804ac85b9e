"""法律咨询: free legal consultation in the resident's private chat.

Flow: 法律咨询 from the main menu (or free text outside a flow) → the resident asks in their own
words, or browses by topic → ``backend.services.legal.consult`` says what the message is:
- small talk (你好, 好的, 谢谢, emoji, numbers) → a short friendly reply and the menu;
- off topic (weather, recipes, buses …) → a polite decline with a pointer, no lawyer button;
- a report (a broken lamp, pollution, a village official's misconduct → 12388) → the report flow;
- a legal question, by confidence band: answer → the answer card (answer, legal basis, a
  one-line disclaimer, up to three related questions, 有帮助 / 没帮助 / 找律师（免费）, and for a
  dispute 把这件事作为纠纷反映); suggest → "您想问的是不是：" with up to three candidate questions
  and 都不是 (hand-off offer); decline → the hand-off offer.
Hand-off: phone (request_contact or typed) or anonymous → confirm → a case for the 司法局
法律专家工作室 (backend.services.legal.handoff_to_lawyer), only ever from a logged question or a
typed legal question.

Every button carries only ids; the server re-checks that a logged question belongs to the presser.
The knowledge base is the ``knowledge_base`` package unless a test puts another one in the
dispatcher's workflow data under ``legal_knowledge``.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any, Protocol

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Filter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from sqlmodel.ext.asyncio.session import AsyncSession

import knowledge_base
from backend.county import County
from backend.models import Person
from backend.services import legal as legal_service
from backend.services.errors import DomainError
from backend.untrusted import MAX_ROW_ID, parse_int
from bot.callbacks import MenuAction
from bot.dialogs.states import LegalSG
from bot.dialogs.widgets import main_menu
from bot.texts import keys, t
from knowledge_base import ANSWER, SUGGEST, Consultation, Entry, Hit

log = logging.getLogger(__name__)

SEARCH_CHARS = legal_service.SEARCH_CHARS
ECHO_CHARS = 300  # how much of the resident's question a card repeats
LABEL_CHARS = 40  # button labels are cut to this
RELATED_LIMIT = 3
TOPIC_PAGE_SIZE = 10  # questions per page when browsing a topic
TOPIC_COLUMNS = 2
CALLBACK_BYTES = 64  # Telegram's limit on callback data
REPORT_TEXT_KEY = "legal_report_text"  # FSM data: the complaint offered to the report flow


HANDOFF_STATES = (LegalSG.handoff_question, LegalSG.handoff_contact, LegalSG.handoff_confirm)


class LegalAction(CallbackData, prefix="lg"):
    """A legal-consultation button: ``action`` + one id (log id, entry id or topic index)."""

    action: str
    arg: str = ""


class Knowledge(Protocol):
    """What the conversation needs from the knowledge base (the package satisfies it)."""

    def search(self, question: str, limit: int = 3) -> list[Hit]: ...

    def consult(self, question: str, limit: int = 3) -> Consultation: ...

    def get_entry(self, entry_id: str) -> Entry | None: ...

    def topics(self) -> list[str]: ...

    def entries_for_topic(self, topic: str) -> list[Entry]: ...


def _kb(legal_knowledge: Knowledge | None) -> Knowledge:
    return legal_knowledge if legal_knowledge is not None else knowledge_base


def _consult(text: str, legal_knowledge: Knowledge | None) -> Consultation:
    return legal_service.consult(text=text, knowledge=_kb(legal_knowledge))


class FreeText(Filter):
    """Text typed outside any flow that this desk takes: small talk, off topic, a report, or a
    legal question (``legal_service.takes_free_text``). Passes the result as ``consultation``
    so that the consultation runs once; other statements are left to the fallback (a report)."""

    async def __call__(
        self, message: Message, legal_knowledge: Knowledge | None = None
    ) -> bool | dict[str, Any]:
        text = message.text
        if not text or text.startswith("/"):
            return False
        consultation = _consult(text, legal_knowledge)
        if consultation.is_question and not legal_service.takes_free_text(consultation):
            return False
        return {"consultation": consultation}


# -- rendering -------------------------------------------------------------------------


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _button(text: str, action: str, arg: str | int = "") -> InlineKeyboardButton | None:
    """An inline button, or None when the callback data would not fit Telegram's 64 bytes."""
    data = LegalAction(action=action, arg=str(arg)).pack()
    if len(data.encode()) > CALLBACK_BYTES:
        log.warning("legal button %s skipped: callback data too long", action)
        return None
    return InlineKeyboardButton(text=_short(text, LABEL_CHARS), callback_data=data)


def _menu_button(lang: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=t("legal.btn_menu", lang), callback_data=MenuAction(action="menu").pack()
    )


def _markup(rows: list[list[InlineKeyboardButton | None]]) -> InlineKeyboardMarkup:
    clean = [[b for b in row if b is not None] for row in rows]
    return InlineKeyboardMarkup(inline_keyboard=[row for row in clean if row])


def _related_entries(kb: Knowledge, hit: Hit, others: list[Hit]) -> list[Entry]:
    """Up to three related entries: the entry's own links first, then the runner-up hits."""
    ids = [*hit.related, *(h.entry_id for h in others)]
    seen = {hit.entry_id}
    entries: list[Entry] = []
    for entry_id in ids:
        if entry_id in seen:
            continue
        seen.add(entry_id)
        entry = kb.get_entry(entry_id)
        if entry is not None:
            entries.append(entry)
        if len(entries) == RELATED_LIMIT:
            break
    return entries


def render_answer(
    hit: Hit,
    related: list[Entry],
    *,
    log_id: int,
    typed: bool,
    lang: str,
    offer_report: bool = False,
) -> tuple[str, InlineKeyboardMarkup]:
    """The answer card: answer, basis, disclaimer, related questions and the feedback buttons.

    A dispute always gets 把这件事作为纠纷反映; ``offer_report`` (free text typed outside any flow,
    which may have been meant as a report) adds a plain 我要反映这件事 to other answers.
    """
    parts = [
        t("legal.answer_heading", lang, question=hit.question),
        t("legal.answer_plain", lang, answer=hit.answer),
    ]
    if hit.basis:
        parts.append(t("legal.answer_basis", lang, basis=hit.basis))
    parts.append(t("legal.disclaimer", lang))
    if hit.dispute:
        parts.append(t("legal.dispute_hint", lang))
    parts.append(t("legal.answer_more", lang))
    if related:
        parts.append(t("legal.answer_related", lang))
    rows: list[list[InlineKeyboardButton | None]] = [
        [
            _button(t("legal.btn_helpful", lang), "good", log_id),
            _button(t("legal.btn_unhelpful", lang), "bad", log_id),
        ],
        [_button(t("legal.btn_lawyer", lang), "lawyer", log_id if typed else "")],
    ]
    if hit.dispute or offer_report:
        label = t("legal.btn_report" if hit.dispute else "legal.btn_report_plain", lang)
        rows.append([_button(label, "report", log_id)])
    rows += [[_button(entry.question, "entry", entry.id)] for entry in related]
    rows.append([_menu_button(lang)])
    return "\n\n".join(parts), _markup(rows)


def render_unanswered(
    question: str, *, log_id: int, offer_report: bool, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """No confident answer: offer the legal expert desk (and, for free text, a report)."""
    text = "\n\n".join(
        [
            t("legal.thinking_unanswered", lang),
            t("legal.handoff_offer_question", lang, question=_short(question, ECHO_CHARS)),
        ]
    )
    rows: list[list[InlineKeyboardButton | None]] = [
        [_button(t("legal.btn_handoff_yes", lang), "lawyer", log_id)],
    ]
    if offer_report:
        rows.append([_button(t("legal.btn_report", lang), "report", log_id)])
    rows += [[_button(t("legal.btn_ask_again", lang), "ask")], [_menu_button(lang)]]
    return text, _markup(rows)


def render_suggestions(
    question: str, hits: list[Hit], *, log_id: int, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The middle band: "您想问的是不是：" with the candidates, and 都不是 → the hand-off offer."""
    rows: list[list[InlineKeyboardButton | None]] = [
        [_button(hit.question, "entry", hit.entry_id)] for hit in hits[:RELATED_LIMIT]
    ]
    rows += [[_button(t("legal.btn_none_of_these", lang), "lawyer", log_id)], [_menu_button(lang)]]
    text = "\n\n".join(
        [
            t("legal.handoff_offer_question", lang, question=_short(question, ECHO_CHARS)),
            t("legal.suggest_heading", lang),
        ]
    )
    return text, _markup(rows)


def _text_or(key: str, fallback: str, lang: str) -> str:
    """A per-class text (``legal.chitchat_greeting``), or the general one when a county added a
    class to intents.yaml without writing its text."""
    return t(key if key in keys("zh") else fallback, lang)


def render_chitchat(
    label: str, *, lang: str, person: Person | None
) -> tuple[str, InlineKeyboardMarkup]:
    """Small talk: a short friendly reply and the main menu (never an answer or a hand-off)."""
    text = _text_or(f"legal.chitchat_{label}", "legal.chitchat_symbols", lang)
    return text, main_menu(lang, person)


def render_off_topic(pointer: str, *, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """A question outside the legal desk: a polite decline, where to go instead, no lawyer."""
    parts = [t("legal.offtopic", lang)]
    key = f"legal.offtopic_pointer_{pointer}"
    if pointer and key in keys("zh"):
        parts.append(t(key, lang))
    parts.append(t("legal.offtopic_more", lang))
    rows: list[list[InlineKeyboardButton | None]] = [
        [_button(t("legal.btn_ask_again", lang), "ask")],
        [_menu_button(lang)],
    ]
    return "\n\n".join(parts), _markup(rows)


def render_report_offer(pointer: str, *, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """A problem for a department: offer the report flow (and a direct line where there is one)."""
    parts = [t("legal.report_offer", lang)]
    key = f"legal.report_pointer_{pointer}"
    if pointer and key in keys("zh"):
        parts.append(t(key, lang))
    rows: list[list[InlineKeyboardButton | None]] = [
        [_button(t("legal.btn_report_plain", lang), "file")],
        [_menu_button(lang)],
    ]
    return "\n\n".join(parts), _markup(rows)


def _ask_markup(lang: str) -> InlineKeyboardMarkup:
    return _markup([[_button(t("legal.btn_topics", lang), "topics")], [_menu_button(lang)]])


def _contact_keyboard(lang: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=t("legal.btn_share_phone", lang), request_contact=True)],
            [KeyboardButton(text=t("legal.btn_anonymous", lang))],
            [KeyboardButton(text=t("legal.btn_cancel", lang))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def _all_languages(key: str) -> set[str]:
    return {t(key, "zh"), t(key, "en")}


# -- shared steps ----------------------------------------------------------------------


async def start_consultation(message: Message, state: FSMContext, lang: str) -> None:
    """Open the consultation: ask for a question in the resident's own words (or browse)."""
    await state.set_state(LegalSG.question)
    await message.answer(t("legal.ask", lang), reply_markup=_ask_markup(lang))


async def answer_consultation(
    message: Message,
    state: FSMContext,
    *,
    question: str,
    consultation: Consultation,
    session: AsyncSession,
    person: Person,
    lang: str,
    kb: Knowledge,
    offer_report: bool,
) -> None:
    """Reply to a message by what it is: small talk, off topic, a report, or a legal question by
    band (answer card, "您想问的是不是", or the hand-off offer). Only questions are logged."""
    kind = consultation.kind
    if kind == "chitchat":
        text, reply = render_chitchat(consultation.label, lang=lang, person=person)
        await message.answer(text, reply_markup=reply)
        return
    if kind == "offtopic":
        text, markup = render_off_topic(consultation.pointer, lang=lang)
        await message.answer(text, reply_markup=markup)
        return
    if kind == "report":
        await state.update_data({REPORT_TEXT_KEY: question[: legal_service.MAX_QUESTION_CHARS]})
        text, markup = render_report_offer(consultation.pointer, lang=lang)
        await message.answer(text, reply_markup=markup)
        return
    hits = consultation.hits
    shown = hits if consultation.band == ANSWER else []
    row = await legal_service.log_question(
        session=session, person=person, question=question, hits=shown
    )
    assert row.id is not None
    # Danger (110/120/12356 and 🚨) was already answered by the risk gate, before this handler.
    if hits and consultation.band == SUGGEST:
        text, markup = render_suggestions(question, hits, log_id=row.id, lang=lang)
    elif hits:
        related = _related_entries(kb, hits[0], hits[1:])
        text, markup = render_answer(
            hits[0], related, log_id=row.id, typed=True, lang=lang, offer_report=offer_report
        )
    else:
        text, markup = render_unanswered(
            question, log_id=row.id, offer_report=offer_report, lang=lang
        )
    await message.answer(text, reply_markup=markup)


async def _begin_handoff(
    message: Message, state: FSMContext, *, question: str | None, lang: str
) -> None:
    """找律师: with a question, ask for contact; without one, ask what the lawyer should answer."""
    if question is None:
        await state.set_state(LegalSG.handoff_question)
        await state.update_data(legal_handoff_question=None)
        await message.answer(t("legal.handoff_ask_question", lang))
        return
    await state.set_state(LegalSG.handoff_contact)
    await state.update_data(legal_handoff_question=question)
    await message.answer(
        t("legal.handoff_ask_contact", lang), reply_markup=_contact_keyboard(lang)
    )


async def _show_confirm(
    message: Message, state: FSMContext, *, phone: str | None, lang: str
) -> None:
    data = await state.update_data(legal_handoff_phone=phone)
    await state.set_state(LegalSG.handoff_confirm)
    await message.answer(t("legal.contact_saved", lang), reply_markup=ReplyKeyboardRemove())
    contact = phone if phone else t("legal.contact_anonymous", lang)
    question = str(data.get("legal_handoff_question") or "")
    text = t("legal.handoff_confirm", lang, question=_short(question, ECHO_CHARS), contact=contact)
    markup = _markup(
        [
            [
                _button(t("legal.btn_confirm", lang), "confirm"),
                _button(t("legal.btn_cancel", lang), "cancel"),
            ]
        ]
    )
    await message.answer(text, reply_markup=markup)


async def _stale(callback: CallbackQuery, lang: str) -> None:
    await callback.answer(t("legal.stale_button", lang), show_alert=True)


def _callback_message(callback: CallbackQuery) -> Message | None:
    message = callback.message
    return message if isinstance(message, Message) else None


def _parse_id(arg: str) -> int | None:
    """A log id or a list index (0 included) from callback data; None when forged."""
    return parse_int(arg, low=0, high=MAX_ROW_ID)


# -- the router ------------------------------------------------------------------------


def create_router() -> Router:
    """The legal-consultation router (include just before the fallback router)."""
    router = Router(name="legal")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")

    @router.callback_query(MenuAction.filter(F.action == "legal"))
    async def on_menu_legal(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
        await callback.answer()
        message = _callback_message(callback)
        if message is not None:
            await start_consultation(message, state, lang)

    @router.callback_query(LegalAction.filter(F.action == "ask"))
    async def on_ask(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
        await on_menu_legal(callback, state, lang)

    # -- questions ----------------------------------------------------------------------

    @router.message(LegalSG.question, F.text, ~F.text.startswith("/"))
    async def on_question(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        person: Person,
        lang: str,
        legal_knowledge: Knowledge | None = None,
    ) -> None:
        question = message.text or ""
        await answer_consultation(
            message,
            state,
            question=question,
            consultation=_consult(question, legal_knowledge),
            session=session,
            person=person,
            lang=lang,
            kb=_kb(legal_knowledge),
            offer_report=False,
        )

    @router.message(LegalSG.question, ~F.text)
    @router.message(LegalSG.handoff_question, ~F.text)
    async def on_not_text(message: Message, lang: str) -> None:
        await message.answer(t("legal.text_only", lang))

    # -- browse by topic ----------------------------------------------------------------

    @router.callback_query(LegalAction.filter(F.action == "topics"))
    async def on_topics(
        callback: CallbackQuery,
        callback_data: LegalAction,
        lang: str,
        legal_knowledge: Knowledge | None = None,
    ) -> None:
        """The topic list: a new message from the prompt, in place when coming back (arg "e")."""
        await callback.answer()
        message = _callback_message(callback)
        if message is None:
            return
        names = _kb(legal_knowledge).topics()
        if not names:
            await message.answer(t("legal.topics_empty", lang))
            return
        buttons = [_button(name, "topic", i) for i, name in enumerate(names)]
        rows = [buttons[i : i + TOPIC_COLUMNS] for i in range(0, len(buttons), TOPIC_COLUMNS)]
        rows.append([_menu_button(lang)])
        await _show(
            message, t("legal.topics_title", lang), _markup(rows), edit=callback_data.arg == "e"
        )

    @router.callback_query(LegalAction.filter(F.action == "topic"))
    async def on_topic(
        callback: CallbackQuery,
        callback_data: LegalAction,
        lang: str,
        legal_knowledge: Knowledge | None = None,
    ) -> None:
        """One topic's questions, a page at a time (arg "<topic index>" or "<index>.<page>")."""
        kb = _kb(legal_knowledge)
        names = kb.topics()
        index_text, _, page_text = callback_data.arg.partition(".")
        index, page = _parse_id(index_text), _parse_id(page_text or "0")
        message = _callback_message(callback)
        if index is None or page is None or index >= len(names) or message is None:
            await _stale(callback, lang)
            return
        topic = names[index]
        entries = kb.entries_for_topic(topic)
        pages = max(1, -(-len(entries) // TOPIC_PAGE_SIZE))
        if page >= pages:
            await _stale(callback, lang)
            return
        await callback.answer()
        shown = entries[page * TOPIC_PAGE_SIZE : (page + 1) * TOPIC_PAGE_SIZE]
        rows: list[list[InlineKeyboardButton | None]] = [
            [_button(e.question, "entry", e.id)] for e in shown
        ]
        rows.append(
            [
                _button(t("legal.btn_prev", lang), "topic", f"{index}.{page - 1}")
                if page > 0
                else None,
                _button(t("legal.btn_next", lang), "topic", f"{index}.{page + 1}")
                if page + 1 < pages
                else None,
            ]
        )
        rows += [[_button(t("legal.btn_back_topics", lang), "topics", "e")], [_menu_button(lang)]]
        key = "legal.topic_title" if entries else "legal.topic_empty"
        await _show(message, t(key, lang, topic=topic), _markup(rows), edit=True)

    @router.callback_query(LegalAction.filter(F.action == "entry"))
    async def on_entry(
        callback: CallbackQuery,
        callback_data: LegalAction,
        session: AsyncSession,
        person: Person,
        lang: str,
        legal_knowledge: Knowledge | None = None,
    ) -> None:
        kb = _kb(legal_knowledge)
        entry = kb.get_entry(callback_data.arg)
        message = _callback_message(callback)
        if entry is None or message is None:
            await _stale(callback, lang)
            return
        await callback.answer()
        hit = Hit.from_entry(entry, 1.0)
        row = await legal_service.log_question(
            session=session, person=person, question=entry.question, hits=[hit]
        )
        assert row.id is not None
        related = _related_entries(kb, hit, [])
        text, markup = render_answer(hit, related, log_id=row.id, typed=False, lang=lang)
        await message.answer(text, reply_markup=markup)

    # -- feedback -----------------------------------------------------------------------

    @router.callback_query(LegalAction.filter(F.action.in_({"good", "bad"})))
    async def on_feedback(
        callback: CallbackQuery,
        callback_data: LegalAction,
        session: AsyncSession,
        person: Person,
        lang: str,
        legal_knowledge: Knowledge | None = None,
    ) -> None:
        log_id = _parse_id(callback_data.arg)
        message = _callback_message(callback)
        helpful = callback_data.action == "good"
        if log_id is None or message is None:
            await _stale(callback, lang)
            return
        try:
            row = await legal_service.mark_helpful(
                session=session, log_id=log_id, helpful=helpful, person=person
            )
        except DomainError:
            await _stale(callback, lang)
            return
        if helpful:
            await callback.answer(t("legal.feedback_thanks", lang))
            return
        await callback.answer()
        kb = _kb(legal_knowledge)
        others = [h for h in kb.search(row.question[:SEARCH_CHARS]) if h.entry_id != row.entry_id]
        typed = _is_typed(kb, row.question, row.entry_id)
        rows: list[list[InlineKeyboardButton | None]] = [
            [_button(h.question, "entry", h.entry_id)] for h in others[:RELATED_LIMIT]
        ]
        rows += [
            [_button(t("legal.btn_lawyer", lang), "lawyer", log_id if typed else "")],
            [_menu_button(lang)],
        ]
        key = "legal.feedback_sorry" if others else "legal.feedback_sorry_no_other"
        await message.answer(t(key, lang), reply_markup=_markup(rows))

    # -- hand-off to the legal expert desk ----------------------------------------------

    @router.callback_query(LegalAction.filter(F.action == "lawyer"))
    async def on_lawyer(
        callback: CallbackQuery,
        callback_data: LegalAction,
        state: FSMContext,
        session: AsyncSession,
        person: Person,
        lang: str,
    ) -> None:
        message = _callback_message(callback)
        if message is None:
            await _stale(callback, lang)
            return
        question: str | None = None
        if callback_data.arg:
            log_id = _parse_id(callback_data.arg)
            if log_id is None:
                await _stale(callback, lang)
                return
            try:
                row = await legal_service.get_question_log(
                    session=session, log_id=log_id, person=person
                )
            except DomainError:
                await _stale(callback, lang)
                return
            question = row.question
        await callback.answer()
        await _begin_handoff(message, state, question=question, lang=lang)

    @router.message(LegalSG.handoff_question, F.text, ~F.text.startswith("/"))
    async def on_handoff_question(
        message: Message,
        state: FSMContext,
        lang: str,
        legal_knowledge: Knowledge | None = None,
    ) -> None:
        """The lawyer gets a real question: small talk or an off-topic message is asked again."""
        question = message.text or ""
        if _consult(question, legal_knowledge).kind in {"chitchat", "offtopic"}:
            await message.answer(t("legal.handoff_needs_question", lang))
            return
        await _begin_handoff(message, state, question=question, lang=lang)

    @router.message(LegalSG.handoff_contact, F.contact)
    async def on_contact(message: Message, state: FSMContext, lang: str) -> None:
        contact = message.contact
        assert contact is not None
        own = message.from_user is not None and contact.user_id == message.from_user.id
        phone = legal_service.normalize_phone(contact.phone_number) if own else None
        if phone is None:
            key = "legal.handoff_contact_not_own" if not own else "legal.handoff_phone_invalid"
            await message.answer(t(key, lang), reply_markup=_contact_keyboard(lang))
            return
        await _show_confirm(message, state, phone=phone, lang=lang)

    @router.message(LegalSG.handoff_contact, F.text)
    async def on_contact_text(message: Message, state: FSMContext, lang: str) -> None:
        text = (message.text or "").strip()
        if text in _all_languages("legal.btn_anonymous"):
            await _show_confirm(message, state, phone=None, lang=lang)
            return
        if text in _all_languages("legal.btn_cancel"):
            await _cancel_handoff(message, state, lang)
            return
        phone = legal_service.normalize_phone(text)
        if phone is not None:
            await _show_confirm(message, state, phone=phone, lang=lang)
            return
        key = (
            "legal.handoff_phone_invalid"
            if re.search(r"\d{5}", text)
            else "legal.handoff_contact_hint"
        )
        await message.answer(t(key, lang), reply_markup=_contact_keyboard(lang))

    @router.message(LegalSG.handoff_contact)
    async def on_contact_other(message: Message, lang: str) -> None:
        await message.answer(
            t("legal.handoff_contact_hint", lang), reply_markup=_contact_keyboard(lang)
        )

    @router.message(LegalSG.handoff_confirm)
    async def on_confirm_other(message: Message, lang: str) -> None:
        await message.answer(t("legal.confirm_hint", lang))

    @router.callback_query(LegalAction.filter(F.action == "confirm"), LegalSG.handoff_confirm)
    async def on_confirm(
        callback: CallbackQuery,
        state: FSMContext,
        session: AsyncSession,
        person: Person,
        lang: str,
        county: County | None = None,
    ) -> None:
        message = _callback_message(callback)
        data = await state.get_data()
        question = data.get("legal_handoff_question")
        if message is None or not isinstance(question, str) or not question:
            await _stale(callback, lang)
            return
        phone = data.get("legal_handoff_phone")
        await callback.answer()
        try:
            case = await legal_service.handoff_to_lawyer(
                session=session,
                person=person,
                question=question,
                contact_phone=phone if isinstance(phone, str) else None,
                anonymous=not phone,
            )
        except DomainError as exc:
            log.warning("legal hand-off refused: %s", exc.code)
            await message.answer(t("legal.handoff_failed", lang))
            return
        await state.clear()
        await _drop_buttons(message)
        how = t("legal.handoff_how_phone" if phone else "legal.handoff_how_bot", lang)
        text = t(
            "legal.handoff_done",
            lang,
            code=case.code,
            days=legal_service.reply_working_days(county),
            how=how,
        )
        await message.answer(text, reply_markup=_markup([[_menu_button(lang)]]))

    @router.callback_query(LegalAction.filter(F.action == "cancel"), StateFilter(*HANDOFF_STATES))
    async def on_cancel(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
        await callback.answer()
        message = _callback_message(callback)
        if message is not None:
            await _drop_buttons(message)
            await _cancel_handoff(message, state, lang)

    # -- file it as a dispute report ----------------------------------------------------

    @router.callback_query(LegalAction.filter(F.action == "report"))
    async def on_report(
        callback: CallbackQuery,
        callback_data: LegalAction,
        state: FSMContext,
        session: AsyncSession,
        person: Person,
        lang: str,
    ) -> None:
        log_id = _parse_id(callback_data.arg)
        message = _callback_message(callback)
        if log_id is None or message is None:
            await _stale(callback, lang)
            return
        try:
            row = await legal_service.get_question_log(
                session=session, log_id=log_id, person=person
            )
        except DomainError:
            await _stale(callback, lang)
            return
        await callback.answer()
        await start_report_with_text(message, state, text=row.question, lang=lang)

    @router.callback_query(LegalAction.filter(F.action == "file"))
    async def on_file(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
        """我要反映这件事 under a report offer: the kept complaint starts a report."""
        message = _callback_message(callback)
        text = (await state.get_data()).get(REPORT_TEXT_KEY)
        if message is None or not isinstance(text, str) or not text:
            await _stale(callback, lang)
            return
        await callback.answer()
        await _drop_buttons(message)
        await start_report_with_text(message, state, text=text, lang=lang)

    # -- anything else ------------------------------------------------------------------

    @router.callback_query(F.data.startswith(f"{LegalAction.__prefix__}:"))
    async def on_unknown_button(callback: CallbackQuery, lang: str) -> None:
        """Forged, stale or malformed legal buttons (and confirm/cancel outside the hand-off)."""
        await _stale(callback, lang)

    @router.message(StateFilter(None), F.text, FreeText())
    async def on_free_text(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        person: Person,
        lang: str,
        consultation: Consultation,
        legal_knowledge: Knowledge | None = None,
    ) -> None:
        """Text typed outside any flow (lowest priority before the fallback): small talk, off
        topic and legal questions are answered here; a report starts the report flow."""
        text = message.text or ""
        if consultation.kind == "report":
            await start_report_from_free_text(message, state, text=text, lang=lang)
            return
        await answer_consultation(
            message,
            state,
            question=text,
            consultation=consultation,
            session=session,
            person=person,
            lang=lang,
            kb=_kb(legal_knowledge),
            offer_report=True,
        )

    return router


def _is_typed(kb: Knowledge, question: str, entry_id: str | None) -> bool:
    """True when the logged question was typed (not an entry opened by a button)."""
    if entry_id is None:
        return True
    entry = kb.get_entry(entry_id)
    return entry is None or entry.question != question


async def _show(message: Message, text: str, markup: InlineKeyboardMarkup, *, edit: bool) -> None:
    """Replace a browsing message in place (a new message if Telegram refuses the edit)."""
    if edit:
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest:
            pass
    await message.answer(text, reply_markup=markup)


async def _drop_buttons(message: Message) -> None:
    """Take the buttons off a card that has been used (ignored if Telegram refuses)."""
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=None)


async def _cancel_handoff(message: Message, state: FSMContext, lang: str) -> None:
    await state.clear()
    await message.answer(t("legal.handoff_cancelled", lang), reply_markup=ReplyKeyboardRemove())


async def start_report_from_free_text(
    message: Message, state: FSMContext, *, text: str, lang: str
) -> None:
    """Free text that is a report: offer a parked draft first (keeping the text), else start a
    report with it."""
    from bot.dialogs import report

    if await report.offer_parked_draft(message, state, lang, text=text):
        return
    await report.start_report(message, state, text=text, lang=lang)


async def start_report_with_text(
    message: Message, state: FSMContext, *, text: str, lang: str
) -> None:
    """Hand over to the resident helper's report flow with the question as the description."""
    from bot.dialogs import report  # the report dialog is optional while it lands

    await report.start_report(message, state, text=text, lang=lang)


__all__ = [
    "FreeText",
    "LegalAction",
    "LegalSG",
    "answer_consultation",
    "create_router",
    "render_answer",
    "render_chitchat",
    "render_off_topic",
    "render_report_offer",
    "render_suggestions",
    "render_unanswered",
    "start_consultation",
]
