"""Every conversation state of the resident side, in one place (the whole state map)."""

from aiogram.fsm.state import State, StatesGroup


class ReportSG(StatesGroup):
    """反映问题: describe → where → contact → (duplicates) → summary → 提交."""

    text = State()  # free text, follow-ups appended; photos/documents/voice attached
    place = State()  # location button, pick 乡镇/村, or type an address
    township = State()  # picking a 乡镇
    village = State()  # picking a 村 of that 乡镇
    contact = State()  # share phone (request_contact) or stay anonymous
    duplicates = State()  # similar open cases: 关注此案 or 仍要提交
    confirm = State()  # summary card: 提交 / 不对？换一个 / back
    category = State()  # picking another category


class GridSG(StatesGroup):
    """网格员上报: the report steps plus task code, villager, risk, 就地化解 vs 上报."""

    task_group = State()  # 矛盾纠纷 / 治安安全隐患 / 服务民生
    task = State()  # the task item
    villager = State()  # 本人发现 or 代村民反映
    villager_name = State()
    villager_phone = State()
    risk = State()  # 红/橙/黄/蓝 or 按系统评估
    resolution = State()  # 就地化解 (record only) or 上报
    action_text = State()  # what was done on the spot


class MyCasesSG(StatesGroup):
    """查询办理进度 (bot/dialogs/my_cases.py): the list of one's cases → a case card (+ rating)."""

    list = State()  # the cases, a page at a time
    card = State()  # one case: status, unit, deadline, result; the rating once 办结


class RateSG(StatesGroup):
    """不满意 (bot/dialogs/rating.py): an optional reason before the case is reopened."""

    reason = State()


class LegalSG(StatesGroup):
    """法律咨询 (bot/dialogs/legal.py): a question in the resident's own words, its card, topic
    browsing, and the 找律师 hand-off."""

    question = State()  # waiting for a question in the resident's own words
    reply = State()  # the card of the last message (answer, suggestions, hand-off offer …)
    topics = State()  # browsing: the topics
    topic = State()  # browsing: one topic's questions, a page at a time
    handoff_question = State()  # 找律师 from a browsed entry: what should the lawyer answer?
    handoff_contact = State()  # phone (shared contact or typed) or anonymous
    handoff_confirm = State()  # summary shown; 确认提交 / 取消
