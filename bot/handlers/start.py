"""/start (menu, invite registration, case deep link), /help, /cancel, /lang, and menu buttons."""

from __future__ import annotations

import logging
import re

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart, Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from aiogram_dialog import DialogManager
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import County
from backend.models import Invite, Person, Role, Unit
from backend.services import cases, directory
from backend.services.errors import DomainError
from bot.callbacks import InviteChoice, MenuAction, SetLanguage
from bot.dialogs.widgets import main_menu
from bot.filters import PRIVATE_CALLBACK, PRIVATE_MESSAGE
from bot.handlers.desk import refusal_text
from bot.texts import LANGUAGES, t

log = logging.getLogger(__name__)

STAFF_ROLES = frozenset({Role.staff, Role.unit_head, Role.dispatcher, Role.supervisor, Role.admin})
CASE_LINK_PREFIX = "case_"
INVITE_LIKE = re.compile(r"[A-Za-z0-9-]{6,20}")  # invite codes: letters and digits


# -- commands shown in Telegram's menu, per role ----------------------------------------------
def commands_for(role: Role, lang: str) -> list[BotCommand]:
    names = ["start", "report", "mycases", "help", "cancel", "lang"]
    if role == Role.grid_worker:
        names.insert(1, "grid")
    elif role in STAFF_ROLES:
        names.insert(2, "web")
    return [BotCommand(command=name, description=t(f"common.cmd_{name}", lang)) for name in names]


async def set_default_commands(bot: Bot) -> None:
    """Resident commands for everyone (Chinese by default, English for English clients)."""
    await bot.set_my_commands(commands_for(Role.resident, "zh"), scope=BotCommandScopeDefault())
    await bot.set_my_commands(
        commands_for(Role.resident, "en"), scope=BotCommandScopeDefault(), language_code="en"
    )


async def set_person_commands(bot: Bot, person: Person, lang: str) -> None:
    """Registered grid workers and staff get their own command list in their private chat."""
    if person.telegram_id is None or person.role == Role.resident:
        return
    await bot.set_my_commands(
        commands_for(person.role, lang), scope=BotCommandScopeChat(chat_id=person.telegram_id)
    )


def _name_suffix(message_or_query: Message | CallbackQuery, lang: str) -> str:
    user = message_or_query.from_user
    if user is None or not user.first_name:
        return ""
    return ("，" if lang == "zh" else ", ") + user.first_name


async def _unit_name(session: AsyncSession, person: Person, lang: str) -> str:
    if person.unit_id is None:
        return t("common.role_" + person.role.value, lang)
    unit = await session.get(Unit, person.unit_id)
    if unit is None:
        return ""
    return unit.name_en if lang == "en" and unit.name_en else unit.name


async def send_menu(
    message: Message,
    *,
    person: Person | None,
    lang: str,
    session: AsyncSession,
    greet: bool,
    note: str | None = None,
) -> None:
    """The greeting (or the menu title, after a ``note`` such as "nothing to cancel") with the
    main menu buttons: the one menu of this turn."""
    markup = main_menu(lang, person)
    if person is not None and person.role in STAFF_ROLES:  # staff-menu hook (staff-policy)
        from bot.handlers.desk import staff_menu

        markup = staff_menu(lang)
    if not greet:
        text = t("common.menu_title", lang)
        if note is not None:
            text = note + "\n" + text
        await message.answer(text, reply_markup=markup)
        return
    name = _name_suffix(message, lang)
    if person is not None and person.role in STAFF_ROLES:
        text = t(
            "common.greeting_staff",
            lang,
            name=name,
            role=t("common.role_" + person.role.value, lang),
            unit=await _unit_name(session, person, lang),
        )
    else:
        text = t("common.greeting", lang, name=name)
    await message.answer(text, reply_markup=markup)


# -- handlers ---------------------------------------------------------------------------------
class TypedCaseCode(Filter):
    """A resident's text that asks about a case code, at the menu or in any resident dialog
    (a staff step, such as typing a return reason, keeps its text)."""

    async def __call__(self, message: Message, state: FSMContext) -> bool | dict[str, str]:
        from bot.middlewares.risk_gate import resident_states

        text = message.text or ""
        if text.startswith("/"):
            return False
        code = cases.typed_case_code(text)
        if code is None:
            return False
        current = await state.get_state()
        if current is not None and current not in resident_states():
            return False
        return {"case_code": code}


async def on_typed_case_code(
    message: Message,
    case_code: str,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
    dialog_manager: DialogManager,
) -> None:
    """A case code typed anywhere opens its card (for whoever may see it); a report step in
    progress is kept and its prompt shown again."""
    from bot.dialogs import steps
    from bot.dialogs.flow import step_of
    from bot.dialogs.my_cases import send_case_card_by_code

    current = await state.get_state()
    await send_case_card_by_code(
        message,
        code=case_code,
        session=session,
        person=person,
        lang=lang,
        dialog_manager=dialog_manager,
        menu=current is None,
    )
    step = step_of(current)
    if step is not None:
        await steps.enter(
            step, message, state, lang=lang, county=county, session=session, person=person
        )


async def on_start_case_link(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    dialog_manager: DialogManager,
) -> None:
    """``/start case_<code>``: open the case card if this person may see it."""
    from bot.dialogs.my_cases import send_case_card_by_code

    await state.clear()
    code = (command.args or "").removeprefix(CASE_LINK_PREFIX)
    await send_case_card_by_code(
        message,
        code=code,
        session=session,
        person=person,
        lang=lang,
        dialog_manager=dialog_manager,
    )


async def on_start_invite(
    message: Message,
    command: CommandObject,
    bot: Bot,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    dialog_manager: DialogManager,
) -> None:
    """``/start <invite>``: register a grid worker, staff member or dispatcher.

    Other start parameters (a poster's tracking tag, say) just open the greeting.
    """
    args = command.args or ""
    code = cases.typed_case_code(args)
    if code is not None:  # a case code (without the case_ prefix) is not an invite
        from bot.dialogs.my_cases import send_case_card_by_code

        await _leave_current_step(message, state, lang)
        await send_case_card_by_code(
            message,
            code=code,
            session=session,
            person=person,
            lang=lang,
            dialog_manager=dialog_manager,
        )
        return
    if not INVITE_LIKE.fullmatch(args):
        await on_start(message, bot, state, session, person, lang, dialog_manager)
        return
    await state.clear()
    try:
        redemption = await directory.redeem_invite(session=session, person=person, code=args)
    except DomainError as exc:
        note = t("common.invite_failed", lang, reason=refusal_text(exc, lang))
        await send_menu(message, person=person, lang=lang, session=session, greet=False, note=note)
        return
    if redemption.pending:
        await _ask_role_change(message, session, person, redemption.invite, lang)
        return
    await _registered(message, bot, session, redemption.person, lang)


async def _registered(
    message: Message, bot: Bot, session: AsyncSession, person: Person, lang: str
) -> None:
    log.info("person %s registered with role %s", person.id, person.role)
    await message.answer(
        t(
            "common.invite_ok",
            lang,
            role=t("common.role_" + person.role.value, lang),
            unit=await _unit_name(session, person, lang),
        ),
        reply_markup=ReplyKeyboardRemove(),
    )
    await set_person_commands(bot, person, lang)
    await send_menu(message, person=person, lang=lang, session=session, greet=False)


async def _ask_role_change(
    message: Message, session: AsyncSession, person: Person, invite: Invite, lang: str
) -> None:
    """The invite would change a registered person's role or unit: ask before using it."""
    assert invite.id is not None
    offered = Person(role=invite.role, unit_id=invite.unit_id)
    await message.answer(
        t(
            "common.invite_confirm",
            lang,
            old_role=t("common.role_" + person.role.value, lang),
            old_unit=await _unit_name(session, person, lang),
            role=t("common.role_" + invite.role.value, lang),
            unit=await _unit_name(session, offered, lang),
            minutes=int(directory.RESERVATION.total_seconds() // 60),
        ),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=t(f"common.btn_invite_{key}", lang),
                        callback_data=InviteChoice(action=action, invite_id=invite.id).pack(),
                    )
                    for key, action in (("confirm", "yes"), ("cancel", "no"))
                ]
            ]
        ),
    )


async def on_invite_choice(
    query: CallbackQuery,
    callback_data: InviteChoice,
    bot: Bot,
    session: AsyncSession,
    person: Person,
    lang: str,
) -> None:
    """确认变更 / 不变更 on a pending role change (only the person it is reserved for)."""
    try:
        if callback_data.action == "yes":
            person = await directory.confirm_invite(
                session=session, person=person, invite_id=callback_data.invite_id
            )
        else:
            await directory.cancel_invite(
                session=session, person=person, invite_id=callback_data.invite_id
            )
    except DomainError as exc:
        await query.answer(refusal_text(exc, lang)[:190], show_alert=True)
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if callback_data.action == "yes":
        await query.message.edit_reply_markup(reply_markup=None)
        await _registered(query.message, bot, session, person, lang)
    else:
        await query.message.edit_text(t("common.invite_kept", lang))


async def on_start(
    message: Message,
    bot: Bot,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    dialog_manager: DialogManager,
) -> None:
    await dialog_manager.reset_stack()  # an open dialog's message loses its buttons
    await _leave_current_step(message, state, lang)
    await send_menu(message, person=person, lang=lang, session=session, greet=True)
    await set_person_commands(bot, person, lang)


async def _leave_current_step(message: Message, state: FSMContext, lang: str) -> None:
    """Back to the menu: an unfinished report is parked (offered again later), not thrown away."""
    from bot.dialogs.flow import drop_buttons
    from bot.dialogs.report import park_draft

    if await state.get_state() is None:
        return
    await drop_buttons(message, state)  # a parked draft's step is shown again when resumed
    if await park_draft(state):
        await message.answer(t("report.parked", lang), reply_markup=ReplyKeyboardRemove())
    else:
        await state.clear()
        await message.answer(t("common.cancelled", lang), reply_markup=ReplyKeyboardRemove())


async def on_mycases(
    message: Message,
    session: AsyncSession,
    person: Person,
    lang: str,
    dialog_manager: DialogManager,
) -> None:
    """/mycases works from any step (the draft in progress is kept)."""
    from bot.dialogs.my_cases import show_my_cases

    await show_my_cases(
        message, session=session, person=person, lang=lang, dialog_manager=dialog_manager
    )


async def on_help(message: Message, person: Person, lang: str) -> None:
    text = t("common.help", lang)
    if person.role in STAFF_ROLES:
        text += "\n\n" + t("common.help_staff", lang)
    await message.answer(text, reply_markup=main_menu(lang, person))


async def on_help_button(query: CallbackQuery, person: Person, lang: str) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await on_help(query.message, person, lang)


async def on_cancel(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    dialog_manager: DialogManager,
) -> None:
    """/cancel: leave the step (its reply keyboard goes), or offer a parked draft; one menu."""
    from bot.dialogs.flow import drop_buttons
    from bot.dialogs.report import offer_kept_draft

    if dialog_manager.has_context():  # an open dialog closes; its message loses its buttons
        await dialog_manager.reset_stack()
        await message.answer(t("common.cancelled", lang), reply_markup=ReplyKeyboardRemove())
        await send_menu(message, person=person, lang=lang, session=session, greet=False)
        return
    if await offer_kept_draft(message, state, lang):
        return
    if await state.get_state() is None:  # nothing to leave: the answer carries the menu itself
        await send_menu(
            message,
            person=person,
            lang=lang,
            session=session,
            greet=False,
            note=t("common.nothing_to_cancel", lang),
        )
        return
    await drop_buttons(message, state, alerts=True)
    await state.clear()
    await message.answer(t("common.cancelled", lang), reply_markup=ReplyKeyboardRemove())
    await send_menu(message, person=person, lang=lang, session=session, greet=False)


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(f"common.lang_{code}", code),
                    callback_data=SetLanguage(language=code).pack(),
                )
                for code in LANGUAGES
            ]
        ]
    )


async def on_lang(message: Message, lang: str) -> None:
    await message.answer(t("common.choose_language", lang), reply_markup=language_keyboard())


async def on_lang_button(query: CallbackQuery, lang: str) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await on_lang(query.message, lang)


async def on_set_language(
    query: CallbackQuery,
    callback_data: SetLanguage,
    bot: Bot,
    session: AsyncSession,
    person: Person,
) -> None:
    if callback_data.language not in LANGUAGES:
        await query.answer(t("common.button_expired", person.language), show_alert=True)
        return
    person = await directory.set_language(
        session=session, person=person, language=callback_data.language
    )
    lang = person.language
    await query.answer(t("common.language_set", lang))
    if isinstance(query.message, Message):
        await query.message.edit_text(t("common.language_set", lang))
        await send_menu(query.message, person=person, lang=lang, session=session, greet=False)
    await set_person_commands(bot, person, lang)


async def on_menu_button(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, person: Person, lang: str
) -> None:
    """🏠 回到主菜单 from anywhere: leaves the current step (nothing is submitted)."""
    await query.answer()
    if isinstance(query.message, Message):
        await _leave_current_step(query.message, state, lang)
        await send_menu(query.message, person=person, lang=lang, session=session, greet=False)


def create_router() -> Router:
    router = Router(name="start")
    router.message.filter(PRIVATE_MESSAGE)
    router.callback_query.filter(PRIVATE_CALLBACK)
    router.message.register(
        on_start_case_link,
        CommandStart(deep_link=True, magic=F.args.startswith(CASE_LINK_PREFIX)),
    )
    router.message.register(on_start_invite, CommandStart(deep_link=True))
    router.message.register(on_start, CommandStart())
    router.message.register(on_typed_case_code, TypedCaseCode())
    router.message.register(on_help, Command("help"))
    router.message.register(on_cancel, Command("cancel"))
    router.message.register(on_lang, Command("lang"))
    router.message.register(on_mycases, Command("mycases"))
    router.callback_query.register(on_help_button, MenuAction.filter(F.action == "help"))
    router.callback_query.register(on_lang_button, MenuAction.filter(F.action == "lang"))
    router.callback_query.register(on_menu_button, MenuAction.filter(F.action == "menu"))
    router.callback_query.register(on_set_language, SetLanguage.filter())
    router.callback_query.register(
        on_invite_choice, InviteChoice.filter(F.action.in_({"yes", "no"}))
    )
    return router
