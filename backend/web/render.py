"""Templates, display labels and one-shot flash messages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer

from backend.config import Settings
from backend.models import CaseStatus, RiskLevel
from backend.models.base import aware
from backend.services import workflow
from backend.services.dashboard import ROLE_LABELS
from backend.services.errors import DomainError, NotAllowed, NotFound, ValidationFailed
from backend.services.privacy import mask_phone, mask_text
from backend.services.workflow import RETURN_REASONS

TEMPLATE_DIR = Path(__file__).parent / "templates"
FLASH_COOKIE = "zzt_flash"

STATUS_LABELS = {
    CaseStatus.submitted: "已提交",
    CaseStatus.triage: "待分拨",
    CaseStatus.dispatched: "待签收",
    CaseStatus.accepted: "办理中",
    CaseStatus.returned: "退单待审",
    CaseStatus.resolved: "已办结待评价",
    CaseStatus.reopened: "重办（不满意）",
    CaseStatus.closed: "已结案",
    CaseStatus.grid_resolved: "就地化解",
}
RISK_LABELS = {
    RiskLevel.red: "红色",
    RiskLevel.orange: "橙色",
    RiskLevel.yellow: "黄色",
    RiskLevel.blue: "蓝色",
}
ACTION_LABELS = {
    "submit": "提交",
    "submitted": "提交",
    "triage": "转中心分拨",
    "dispatch": "派单",
    "accept": "签收",
    "accept_task": "签收协办任务",
    "return": "退单",
    "approve_return": "同意退单",
    "overrule_return": "驳回退单",
    "transfer": "转派",
    "request_joint": "申请联办",
    "approve_joint": "批准联办",
    "complete_task": "协办完成",
    "request_extension": "申请延期",
    "decide_extension": "审批延期",
    "note": "备注",
    "attachment": "补充材料",
    "add_attachment": "补充材料",
    "resolve": "办结",
    "rate": "评价",
    "reopen": "重办",
    "close": "结案",
    "supervise": "督办",
    "deadline_warning": "期限预警",
    "red_alert": "高风险提醒",
    "follow": "关注",
    "grid_resolved": "就地化解",
}
RATING_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}


def make_templates(settings: Settings) -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATE_DIR)
    zone = ZoneInfo(settings.tz)

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return "—"
        moment = aware(value)
        assert moment is not None
        return moment.astimezone(zone).strftime(fmt)

    env = templates.env
    env.filters["local"] = local
    env.filters["status_label"] = lambda s: STATUS_LABELS.get(s, s)
    env.filters["risk_label"] = lambda s: RISK_LABELS.get(s, s)
    env.filters["role_label"] = lambda s: ROLE_LABELS.get(s, s)
    env.filters["action_label"] = lambda s: ACTION_LABELS.get(s, s)
    env.filters["rating_label"] = lambda s: RATING_LABELS.get(s, s)
    env.filters["mask_phone"] = mask_phone
    env.filters["mask_text"] = mask_text
    env.globals["return_reasons"] = RETURN_REASONS
    env.globals["status_labels"] = STATUS_LABELS
    env.globals["risk_labels"] = RISK_LABELS
    env.globals["role_labels"] = ROLE_LABELS
    env.globals["is_overdue"] = lambda case, now: _overdue(case, now)
    return templates


def _overdue(case: Any, now: datetime) -> bool:
    if workflow.awaits_claim(case):
        deadline = aware(case.accept_deadline)
    elif workflow.is_in_hand(case):
        deadline = aware(case.handle_deadline)
    else:
        return False
    return deadline is not None and deadline < now


def _flash_serializer(request: Request) -> URLSafeSerializer:
    secret = request.app.state.web.settings.web_secret_key.get_secret_value()
    return URLSafeSerializer(secret, salt="zongzhitong.flash")


def redirect_with_flash(request: Request, url: str, message: str, kind: str = "ok") -> Response:
    response = RedirectResponse(url, status_code=303)
    value = _flash_serializer(request).dumps({"m": message, "k": kind})
    response.set_cookie(FLASH_COOKIE, value, httponly=True, samesite="lax", max_age=60)
    return response


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """Render a page; the flash message of the previous redirect is shown once."""
    flash = None
    raw = request.cookies.get(FLASH_COOKIE)
    if raw:
        try:
            flash = _flash_serializer(request).loads(raw)
        except BadSignature:
            flash = None
    state = request.app.state.web
    full = {
        "flash": flash,
        "now": datetime.now(UTC),
        "settings": state.settings,
        "county": state.county,
        "user": None,
    } | context
    response = state.templates.TemplateResponse(request, name, full, status_code=status_code)
    if raw:
        response.delete_cookie(FLASH_COOKIE)
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, NotAllowed):
        status = 403
    elif isinstance(exc, NotFound):
        status = 404
    else:
        status = 409
    if request.url.path.startswith("/open311/"):
        from fastapi.responses import JSONResponse

        if isinstance(exc, ValidationFailed):
            status = 400

        return JSONResponse([{"code": status, "description": exc.message}], status_code=status)
    return render(
        request,
        "error.html",
        {"message": exc.message, "status": status, "user": getattr(request.state, "user", None)},
        status_code=status,
    )
