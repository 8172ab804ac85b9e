"""法律咨询: free legal consultation in the resident's private chat, an aiogram-dialog ``Dialog``.

Flow: 法律咨询 from the main menu (or free text outside a flow) → the resident asks in their own
words, or browses by topic → ``backend.services.legal.consult`` says what the message is:
- small talk (你好, 好的, 谢谢, emoji, numbers) → a short friendly reply and the menu;
- off topic (weather, recipes, buses …) → a polite decline with a pointer, no lawyer button;
- a report (a broken lamp, pollution, a village official's misconduct → 12388) → the report flow;
- a legal question, by confidence band: answer → the answer card (answer, legal basis, a
  one-line disclaimer, up to three related questions, 有帮助 / 没帮助 / 找律师（免费）, and for a
  dispute 把这件事作为纠纷反映); suggest → "您想问的是不是：" with up to three candidate questions
  and 都不是 (hand-off offer); decline → the hand-off offer.
Hand-off: phone (``RequestContact`` or typed) or anonymous → confirm → a case for the 司法局
法律专家工作室 (backend.services.legal.handoff_to_lawyer), only ever from a logged question or a
typed legal question.

Windows (``LegalSG``): question (ask) → reply (the card of the last message, which keeps taking
questions) ⇄ topics → topic; handoff_question → handoff_contact → handoff_confirm. The card's
content lives in the dialog data (server side): buttons carry only the dialog's intent, a widget
id and an index into that data, so a forged press finds nothing to act on.
The knowledge base is the ``knowledge_base`` package unless a test puts another one in the
dispatcher's workflow data under ``legal_knowledge``.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

from aiogram import F, Router
from aiogram.filters import Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from aiogram_dialog import Dialog, DialogManager, ShowMode, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import (
    Button,
    NextPage,
    PrevPage,
    RequestContact,
    Row,
    Select,
    SwitchTo,
)
from aiogram_dialog.widgets.markup.reply_keyboard import ReplyKeyboardFactory
from aiogram_dialog.widgets.text import Format
from sqlmodel.ext.asyncio.session import AsyncSession

import knowledge_base
from backend.models import Person
from backend.services import legal as legal_service
from backend.untrusted import parse_int
from bot.callbacks import MenuAction
from bot.dialogs.states import LegalSG
from bot.dialogs.widgets import L, Pages, dialog_lang, dialog_menu_button, main_menu
from bot.filters import PRIVATE_CALLBACK
from bot.texts import Raw, keys, t
from knowledge_base import ANSWER, SUGGEST, Consultation, Entry, Hit

log = logging.getLogger(__name__)

SEARCH_CHARS = legal_service.SEARCH_CHARS
ECHO_CHARS = 300  # how much of the resident's question a card repeats
LABEL_CHARS = 40  # button labels are cut to this
RELATED_LIMIT = 3
TOPIC_PAGE_SIZE = 10  # questions per page when browsing a topic
TOPIC_COLUMNS = 2
TOPIC_ROWS = 20  # 40 topics on one page (the county has 29); more get a pager


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


# -- what a message is, as the card to show --------------------------------------------------


def _menu_markup(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t("legal.btn_menu", lang), callback_data=MenuAction(action="menu").pack()
                )
            ]
        ]
    )


def answer_card(
    hit: Hit,
    related: list[Entry],
    *,
    log_id: int,
    question: str,
    typed: bool,
    lang: str,
    offer_report: bool = False,
) -> dict[str, Any]:
    """The answer card as dialog data: answer, basis, disclaimer, related questions, feedback.

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
    report = ""
    if hit.dispute or offer_report:
        report = "legal.btn_report" if hit.dispute else "legal.btn_report_plain"
    return {
        "text": "\n\n".join(parts),
        "log_id": log_id,
        "entry_id": hit.entry_id,
        "question": question if typed else "",
        "feedback": True,
        "lawyer": True,
        "report": report,
        "entries": [[_short(e.question, LABEL_CHARS), e.id] for e in related],
    }


def unanswered_card(
    question: str, *, log_id: int, offer_report: bool, lang: str
) -> dict[str, Any]:
    """No confident answer: offer the legal expert desk (and, for free text, a report)."""
    text = "\n\n".join(
        [
            t("legal.thinking_unanswered", lang),
            t("legal.handoff_offer_question", lang, question=_short(question, ECHO_CHARS)),
        ]
    )
    return {
        "text": text,
        "log_id": log_id,
        "question": question,
        "handoff": True,
        "report": "legal.btn_report" if offer_report else "",
        "ask_again": True,
    }


def suggestions_card(question: str, hits: list[Hit], *, log_id: int, lang: str) -> dict[str, Any]:
    """The middle band: "您想问的是不是：" with the candidates, and 都不是 → the hand-off offer."""
    text = "\n\n".join(
        [
            t("legal.handoff_offer_question", lang, question=_short(question, ECHO_CHARS)),
            t("legal.suggest_heading", lang),
        ]
    )
    return {
        "text": text,
        "log_id": log_id,
        "question": question,
        "none_of_these": True,
        "entries": [[_short(h.question, LABEL_CHARS), h.entry_id] for h in hits[:RELATED_LIMIT]],
    }


def _text_or(key: str, fallback: str, lang: str) -> str:
    """A per-class text (``legal.chitchat_greeting``), or the general one when a county added a
    class to intents.yaml without writing its text."""
    return t(key if key in keys("zh") else fallback, lang)


def chitchat_text(label: str, *, lang: str) -> str:
    """Small talk: a short friendly reply (the main menu goes with it; never an answer)."""
    return _text_or(f"legal.chitchat_{label}", "legal.chitchat_symbols", lang)


def off_topic_card(pointer: str, *, lang: str) -> dict[str, Any]:
    """A question outside the legal desk: a polite decline, where to go instead, no lawyer."""
    parts = [t("legal.offtopic", lang)]
    key = f"legal.offtopic_pointer_{pointer}"
    if pointer and key in keys("zh"):
        parts.append(t(key, lang))
    parts.append(t("legal.offtopic_more", lang))
    return {"text": "\n\n".join(parts), "ask_again": True}


def report_offer_card(pointer: str, text: str, *, lang: str) -> dict[str, Any]:
    """A problem for a department: offer the report flow (and a direct line where there is one)."""
    parts = [t("legal.report_offer", lang)]
    key = f"legal.report_pointer_{pointer}"
    if pointer and key in keys("zh"):
        parts.append(t(key, lang))
    return {
        "text": "\n\n".join(parts),
        "report": "legal.btn_report_plain",
        "report_text": text[: legal_service.MAX_QUESTION_CHARS],
    }


async def consultation_card(
    *,
    question: str,
    consultation: Consultation,
    session: AsyncSession,
    person: Person,
    lang: str,
    kb: Knowledge,
    offer_report: bool,
) -> dict[str, Any]:
    """The card for a message by what it is: off topic, a report, or a legal question by band
    (answer card, "您想问的是不是", or the hand-off offer). Only questions are logged."""
    kind = consultation.kind
    if kind == "offtopic":
        return off_topic_card(consultation.pointer, lang=lang)
    if kind == "report":
        return report_offer_card(consultation.pointer, question, lang=lang)
    hits = consultation.hits
    shown = hits if consultation.band == ANSWER else []
    row = await legal_service.log_question(
        session=session, person=person, question=question, hits=shown
    )
    assert row.id is not None
    # Danger (110/120/12356 and 🚨) was already answered by the risk gate, before this handler.
    if hits and consultation.band == SUGGEST:
        return suggestions_card(question, hits, log_id=row.id, lang=lang)
    if hits:
        related = _related_entries(kb, hits[0], hits[1:])
        return answer_card(
            hits[0],
            related,
            log_id=row.id,
            question=question,
            typed=True,
            lang=lang,
            offer_report=offer_report,
        )
    return unanswered_card(question, log_id=row.id, offer_report=offer_report, lang=lang)


# -- dialog handlers ---------------------------------------------------------------------------


def _data(manager: DialogManager) -> dict[str, Any]:
    return manager.middleware_data


def _knowledge(manager: DialogManager) -> Knowledge:
    return _kb(_data(manager).get("legal_knowledge"))


async def _stale(callback: CallbackQuery, manager: DialogManager) -> None:
    await callback.answer(t("legal.stale_button", dialog_lang(manager)), show_alert=True)


async def _show_card(manager: DialogManager, card: dict[str, Any]) -> None:
    manager.dialog_data["card"] = card
    await manager.switch_to(LegalSG.reply)


async def on_question(message: Message, _widget: Any, manager: DialogManager) -> None:
    """A message in the consultation: answered by what it is (a sticker gets a hint)."""
    lang = dialog_lang(manager)
    question = message.text or ""
    if not question or question.startswith("/"):
        await message.answer(t("legal.text_only", lang))
        manager.show_mode = ShowMode.NO_UPDATE
        return
    kb = _knowledge(manager)
    consultation = _consult(question, kb)
    if consultation.kind == "chitchat":  # a friendly word and the menu; they may still ask
        await message.answer(
            chitchat_text(consultation.label, lang=lang),
            reply_markup=main_menu(lang, _data(manager).get("person")),
        )
        manager.show_mode = ShowMode.NO_UPDATE
        return
    card = await consultation_card(
        question=question,
        consultation=consultation,
        session=_data(manager)["session"],
        person=_data(manager)["person"],
        lang=lang,
        kb=kb,
        offer_report=False,
    )
    await _show_card(manager, card)


async def reply_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    card = dict(dialog_manager.dialog_data.get("card") or {})
    lang = dialog_lang(dialog_manager)
    report = str(card.get("report") or "")
    return {
        "text": Raw(card.get("text") or t("legal.ask", lang)),
        "entries": [
            (label, str(index)) for index, (label, _) in enumerate(card.get("entries", []))
        ],
        "feedback": bool(card.get("feedback")),
        "lawyer": bool(card.get("lawyer")),
        "handoff": bool(card.get("handoff")),
        "none_of_these": bool(card.get("none_of_these")),
        "ask_again": bool(card.get("ask_again")),
        "report": bool(report),
        "report_label": t(report, lang) if report else "",
    }


def _card(manager: DialogManager) -> dict[str, Any]:
    return dict(manager.dialog_data.get("card") or {})


async def on_entry(
    callback: CallbackQuery, _widget: Any, manager: DialogManager, item: str
) -> None:
    """A related or candidate question: its answer card (logged as a browsed entry)."""
    entries = _card(manager).get("entries") or []
    index = parse_int(item, low=0, high=len(entries) - 1) if entries else None
    await _open_entry(callback, manager, entries[index][1] if index is not None else None)


async def _open_entry(
    callback: CallbackQuery, manager: DialogManager, entry_id: str | None
) -> None:
    kb = _knowledge(manager)
    entry = kb.get_entry(entry_id) if entry_id else None
    if entry is None:
        await _stale(callback, manager)
        return
    hit = Hit.from_entry(entry, 1.0)
    row = await legal_service.log_question(
        session=_data(manager)["session"],
        person=_data(manager)["person"],
        question=entry.question,
        hits=[hit],
    )
    assert row.id is not None
    related = _related_entries(kb, hit, [])
    card = answer_card(
        hit,
        related,
        log_id=row.id,
        question=entry.question,
        typed=False,
        lang=dialog_lang(manager),
    )
    await _show_card(manager, card)


async def on_helpful(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    log_id = int(_card(manager).get("log_id") or 0)
    await legal_service.mark_helpful(
        session=_data(manager)["session"],
        log_id=log_id,
        helpful=True,
        person=_data(manager)["person"],
    )
    await callback.answer(t("legal.feedback_thanks", dialog_lang(manager)))
    manager.show_mode = ShowMode.NO_UPDATE


async def on_unhelpful(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    """没帮助: recorded; other answers (not the rejected one) and the lawyer are offered."""
    card = _card(manager)
    row = await legal_service.mark_helpful(
        session=_data(manager)["session"],
        log_id=int(card.get("log_id") or 0),
        helpful=False,
        person=_data(manager)["person"],
    )
    kb = _knowledge(manager)
    others = [h for h in kb.search(row.question[:SEARCH_CHARS]) if h.entry_id != row.entry_id]
    lang = dialog_lang(manager)
    key = "legal.feedback_sorry" if others else "legal.feedback_sorry_no_other"
    await _show_card(
        manager,
        {
            "text": t(key, lang),
            "log_id": row.id,
            "question": card.get("question") or "",
            "lawyer": True,
            "entries": [
                [_short(h.question, LABEL_CHARS), h.entry_id] for h in others[:RELATED_LIMIT]
            ],
        },
    )


async def on_lawyer(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    """找律师 / 转给律师解答 / 都不是: with a typed question, ask for contact; without one (a
    browsed entry), ask what the lawyer should answer."""
    question = str(_card(manager).get("question") or "")
    manager.dialog_data["handoff_question"] = question
    manager.dialog_data["handoff_phone"] = None
    await manager.switch_to(LegalSG.handoff_contact if question else LegalSG.handoff_question)


async def on_report(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    """把这件事作为纠纷反映 / 我要反映这件事: the question (or the kept complaint) is reported."""
    card = _card(manager)
    text = str(card.get("report_text") or card.get("question") or "")
    message = callback.message
    if not text or not isinstance(message, Message):
        await _stale(callback, manager)
        return
    await manager.reset_stack()
    state: FSMContext = _data(manager)["state"]
    await start_report_with_text(message, state, text=text, lang=dialog_lang(manager))


# -- topics ------------------------------------------------------------------------------------


async def topics_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    names = _knowledge(dialog_manager).topics()
    lang = dialog_lang(dialog_manager)
    return {
        "title": t("legal.topics_title" if names else "legal.topics_empty", lang),
        "topics": [(name, str(index)) for index, name in enumerate(names)],
    }


async def on_topic(
    callback: CallbackQuery, _widget: Any, manager: DialogManager, item: str
) -> None:
    names = _knowledge(manager).topics()
    index = parse_int(item, low=0, high=len(names) - 1) if names else None
    if index is None:
        await _stale(callback, manager)
        return
    manager.dialog_data["topic"] = index
    await manager.find("entries").set_page(0)  # type: ignore[union-attr]
    await manager.switch_to(LegalSG.topic)


def _topic(manager: DialogManager) -> tuple[str, list[Entry]]:
    kb = _knowledge(manager)
    names = kb.topics()
    index = int(manager.dialog_data.get("topic") or 0)
    if not 0 <= index < len(names):
        return "", []
    return names[index], kb.entries_for_topic(names[index])


async def topic_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    topic, entries = _topic(dialog_manager)
    lang = dialog_lang(dialog_manager)
    page = await dialog_manager.find("entries").get_page()  # type: ignore[union-attr]
    pages = max(1, -(-len(entries) // TOPIC_PAGE_SIZE))
    key = "legal.topic_title" if entries else "legal.topic_empty"
    return {
        "title": t(key, lang, topic=topic),
        "questions": [(_short(e.question, LABEL_CHARS), str(i)) for i, e in enumerate(entries)],
        "has_prev": page > 0,
        "has_next": page + 1 < pages,
    }


async def on_topic_entry(
    callback: CallbackQuery, _widget: Any, manager: DialogManager, item: str
) -> None:
    _, entries = _topic(manager)
    index = parse_int(item, low=0, high=len(entries) - 1) if entries else None
    await _open_entry(callback, manager, entries[index].id if index is not None else None)


# -- hand-off to the legal expert desk ---------------------------------------------------------


async def on_handoff_question(message: Message, _widget: Any, manager: DialogManager) -> None:
    """The lawyer gets a real question: small talk or an off-topic message is asked again."""
    lang = dialog_lang(manager)
    question = message.text or ""
    manager.show_mode = ShowMode.NO_UPDATE
    if not question or question.startswith("/"):
        await message.answer(t("legal.text_only", lang))
        return
    if _consult(question, _knowledge(manager)).kind in {"chitchat", "offtopic"}:
        await message.answer(t("legal.handoff_needs_question", lang))
        return
    manager.dialog_data["handoff_question"] = question
    manager.show_mode = ShowMode.AUTO
    await manager.switch_to(LegalSG.handoff_contact)


async def _contact_saved(message: Message, manager: DialogManager, phone: str | None) -> None:
    """The contact is known: the phone's keyboard goes, the summary to confirm follows."""
    manager.dialog_data["handoff_phone"] = phone
    await message.answer(
        t("legal.contact_saved", dialog_lang(manager)), reply_markup=ReplyKeyboardRemove()
    )
    await manager.switch_to(LegalSG.handoff_confirm, show_mode=ShowMode.SEND)


async def on_contact_input(message: Message, _widget: Any, manager: DialogManager) -> None:
    """A shared contact (only one's own) or a typed number; anything else gets a hint."""
    lang = dialog_lang(manager)
    manager.show_mode = ShowMode.NO_UPDATE
    if message.contact is not None:
        contact = message.contact
        own = message.from_user is not None and contact.user_id == message.from_user.id
        phone = legal_service.normalize_phone(contact.phone_number) if own else None
        if phone is None:
            key = "legal.handoff_contact_not_own" if not own else "legal.handoff_phone_invalid"
            await message.answer(t(key, lang))
            return
        manager.show_mode = ShowMode.AUTO
        await _contact_saved(message, manager, phone)
        return
    text = (message.text or "").strip()
    phone = legal_service.normalize_phone(text) if text else None
    if phone is not None:
        manager.show_mode = ShowMode.AUTO
        await _contact_saved(message, manager, phone)
        return
    key = (
        "legal.handoff_phone_invalid"
        if re.search(r"\d{5}", text)
        else "legal.handoff_contact_hint"
    )
    await message.answer(t(key, lang))


def _pressed_on(callback: CallbackQuery) -> Message | None:
    """The chat's message for a press: a reply-keyboard button arrives as the text it sent."""
    message = getattr(callback, "original_message", None) or callback.message
    return message if isinstance(message, Message) else None


async def on_anonymous(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    message = _pressed_on(callback)
    if message is not None:
        await _contact_saved(message, manager, None)


async def on_cancel_handoff(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    """取消 (the phone's keyboard or the summary): no case; the dialog closes."""
    await manager.reset_stack()
    message = _pressed_on(callback)
    if message is not None:
        await message.answer(
            t("legal.handoff_cancelled", dialog_lang(manager)), reply_markup=ReplyKeyboardRemove()
        )


async def confirm_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    lang = dialog_lang(dialog_manager)
    phone = dialog_manager.dialog_data.get("handoff_phone")
    question = str(dialog_manager.dialog_data.get("handoff_question") or "")
    contact = phone if phone else t("legal.contact_anonymous", lang)
    text = t("legal.handoff_confirm", lang, question=_short(question, ECHO_CHARS), contact=contact)
    return {"summary": Raw(text)}


async def on_confirm(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    """确认提交: the case for the 法律专家工作室 (a refusal goes to the one refusal handler)."""
    question = str(manager.dialog_data.get("handoff_question") or "")
    phone = manager.dialog_data.get("handoff_phone")
    message = callback.message
    if not question or not isinstance(message, Message):
        await _stale(callback, manager)
        return
    case = await legal_service.handoff_to_lawyer(
        session=_data(manager)["session"],
        person=_data(manager)["person"],
        question=question,
        contact_phone=phone if isinstance(phone, str) else None,
        anonymous=not phone,
    )
    await manager.reset_stack()
    lang = dialog_lang(manager)
    how = t("legal.handoff_how_phone" if phone else "legal.handoff_how_bot", lang)
    text = t(
        "legal.handoff_done",
        lang,
        code=case.code,
        days=legal_service.reply_working_days(_data(manager).get("county")),
        how=how,
    )
    await message.answer(text, reply_markup=_menu_markup(lang))


async def on_confirm_other(message: Message, _widget: Any, manager: DialogManager) -> None:
    await message.answer(t("legal.confirm_hint", dialog_lang(manager)))
    manager.show_mode = ShowMode.NO_UPDATE


async def _on_start(start_data: Any, manager: DialogManager) -> None:
    """Free text answered outside the dialog opens it on its card (start data)."""
    if isinstance(start_data, dict) and isinstance(start_data.get("card"), dict):
        manager.dialog_data["card"] = start_data["card"]


def _entry_select(widget_id: str, items: str, on_click: Any) -> Select[str]:
    return Select(
        Format("{item[0]}"),
        id=widget_id,
        item_id_getter=lambda item: item[1],
        items=items,
        on_click=on_click,
    )


def _pager(flag: str) -> Any:
    """A page button's ``when``: pagers see the getter's data under "data"."""

    def shown(data: dict[str, Any], _widget: Any, _manager: DialogManager) -> bool:
        return bool(data.get("data", {}).get(flag))

    return shown


def legal_dialog() -> Dialog:
    def menu() -> Button:
        return dialog_menu_button("legal.btn_menu")

    return Dialog(
        Window(
            L("legal.ask"),
            SwitchTo(L("legal.btn_topics"), id="topics", state=LegalSG.topics),
            menu(),
            MessageInput(on_question),
            state=LegalSG.question,
        ),
        Window(
            Format("{text}"),
            Row(
                Button(L("legal.btn_helpful"), id="good", on_click=on_helpful),
                Button(L("legal.btn_unhelpful"), id="bad", on_click=on_unhelpful),
                when="feedback",
            ),
            Button(L("legal.btn_lawyer"), id="lawyer", on_click=on_lawyer, when="lawyer"),
            Button(L("legal.btn_handoff_yes"), id="handoff", on_click=on_lawyer, when="handoff"),
            Button(Format("{report_label}"), id="report", on_click=on_report, when="report"),
            _entry_select("entry", "entries", on_entry),
            Button(
                L("legal.btn_none_of_these"), id="none", on_click=on_lawyer, when="none_of_these"
            ),
            SwitchTo(L("legal.btn_ask_again"), id="ask", state=LegalSG.question, when="ask_again"),
            menu(),
            MessageInput(on_question),
            getter=reply_getter,
            state=LegalSG.reply,
        ),
        Window(
            Format("{title}"),
            Pages(
                _entry_select("topic", "topics", on_topic),
                id="topic_pages",
                width=TOPIC_COLUMNS,
                height=TOPIC_ROWS,
                hide_on_single_page=True,
            ),
            SwitchTo(L("report.btn_back"), id="topics_back", state=LegalSG.question),
            menu(),
            MessageInput(on_question),
            getter=topics_getter,
            state=LegalSG.topics,
        ),
        Window(
            Format("{title}"),
            Pages(
                _entry_select("question", "questions", on_topic_entry),
                id="entries",
                width=1,
                height=TOPIC_PAGE_SIZE,
                hide_pager=True,
            ),
            Row(
                PrevPage(scroll="entries", text=L("legal.btn_prev"), when=_pager("has_prev")),
                NextPage(scroll="entries", text=L("legal.btn_next"), when=_pager("has_next")),
            ),
            SwitchTo(L("legal.btn_back_topics"), id="topic_back", state=LegalSG.topics),
            menu(),
            MessageInput(on_question),
            getter=topic_getter,
            state=LegalSG.topic,
        ),
        Window(
            L("legal.handoff_ask_question"),
            Button(L("legal.btn_cancel"), id="cancel_q", on_click=on_cancel_handoff),
            MessageInput(on_handoff_question),
            state=LegalSG.handoff_question,
        ),
        Window(
            L("legal.handoff_ask_contact"),
            RequestContact(L("legal.btn_share_phone")),
            Button(L("legal.btn_anonymous"), id="anonymous", on_click=on_anonymous),
            Button(L("legal.btn_cancel"), id="cancel_c", on_click=on_cancel_handoff),
            MessageInput(on_contact_input),
            markup_factory=ReplyKeyboardFactory(resize_keyboard=True, one_time_keyboard=True),
            state=LegalSG.handoff_contact,
        ),
        Window(
            Format("{summary}"),
            Row(
                Button(L("legal.btn_confirm"), id="confirm", on_click=on_confirm),
                Button(L("legal.btn_cancel"), id="cancel", on_click=on_cancel_handoff),
            ),
            MessageInput(on_confirm_other),
            getter=confirm_getter,
            state=LegalSG.handoff_confirm,
        ),
        on_start=_on_start,
    )


# -- entries (plain routers: the menu button and free text outside any dialog) ---------------


async def on_menu_legal(callback: CallbackQuery, dialog_manager: DialogManager) -> None:
    await callback.answer()
    await dialog_manager.start(LegalSG.question, mode=StartMode.RESET_STACK)


async def on_free_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    consultation: Consultation,
    dialog_manager: DialogManager,
    legal_knowledge: Knowledge | None = None,
) -> None:
    """Text typed outside any flow (lowest priority before the fallback): small talk gets a
    friendly word and the menu; a report starts the report flow; off topic and legal questions
    open the consultation on their card."""
    text = message.text or ""
    if consultation.kind == "report":
        await start_report_from_free_text(message, state, text=text, lang=lang)
        return
    if consultation.kind == "chitchat":
        await dialog_manager.reset_stack()
        await message.answer(
            chitchat_text(consultation.label, lang=lang), reply_markup=main_menu(lang, person)
        )
        return
    card = await consultation_card(
        question=text,
        consultation=consultation,
        session=session,
        person=person,
        lang=lang,
        kb=_kb(legal_knowledge),
        offer_report=True,
    )
    await dialog_manager.start(LegalSG.reply, data={"card": card}, mode=StartMode.RESET_STACK)


def create_router() -> Router:
    """The consultation dialog first (its windows take their own text), then the menu entry and
    free text outside any flow (include just before the fallback router)."""
    router = Router(name="legal")
    router.include_router(legal_dialog())
    entries = Router(name="legal_entries")
    entries.message.filter(F.chat.type == "private")
    entries.callback_query.register(
        on_menu_legal, PRIVATE_CALLBACK, MenuAction.filter(F.action == "legal")
    )
    entries.message.register(on_free_text, StateFilter(None), F.text, FreeText())
    router.include_router(entries)
    return router


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
    """Hand over to the report flow with the question as the description."""
    from bot.dialogs import report

    await report.start_report(message, state, text=text, lang=lang)


__all__ = [
    "FreeText",
    "LegalSG",
    "consultation_card",
    "create_router",
    "legal_dialog",
]
