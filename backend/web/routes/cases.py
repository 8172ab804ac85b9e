"""The case page and its actions; every action goes through backend/services/workflow.

The page shows exactly the forms the workflow policy allows the signed-in person now
(``workflow.actions_for``); a refused post shows the refusal as a flash message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from sqlmodel import select

from backend.models import Attachment, Unit
from backend.services import dashboard, resident_web, workflow
from backend.services.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from backend.services.reasons import plain_reasons
from backend.services.workflow import MAX_EXTENSION_DAYS, Action
from backend.web.deps import CsrfUser, CurrentUser, SessionDep
from backend.web.render import redirect_with_flash, render

Form = dict[str, str]


def _text(form: Form, name: str = "text", *, required: str | None = None) -> str:
    value = form.get(name, "").strip()
    if required and not value:
        raise ValidationFailed(required)
    return value[:2000]


def _days(form: Form) -> int:
    message = f"请填写延期的工作日天数（1–{MAX_EXTENSION_DAYS}）。"
    try:
        days = int(form.get("days", ""))
    except ValueError as exc:
        raise ValidationFailed(message, code=ErrorCode.days_invalid) from exc
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ValidationFailed(message, code=ErrorCode.days_invalid)
    return days


# action name in the URL → (workflow function name, keyword arguments from the form, done text)
ACTIONS: dict[str, tuple[str, Callable[[Form], dict[str, Any]], str]] = {
    "accept": ("accept", lambda f: {}, "已签收。"),
    "return": (
        "return_case",
        lambda f: {
            "reason_code": f.get("reason_code") or "其他",
            "text": _text(f, required="退单需要写明理由。"),
        },
        "已提交退单申请，等待中心审批。",
    ),
    "resolve": (
        "resolve",
        lambda f: {"result_text": _text(f, required="办结需要填写办理结果。")},
        "已办结，系统将请群众评价。",
    ),
    "extension": (
        "request_extension",
        lambda f: {"days": _days(f), "reason": _text(f, required="申请延期需要写明理由。")},
        "已提交延期申请，等待中心审批。",
    ),
    "note": (
        "add_note",
        lambda f: {"text": _text(f, required="备注内容不能为空。")},
        "备注已保存。",
    ),
    "dispatch": (
        "dispatch",
        lambda f: {"unit_code": _text(f, "unit_code", required="请选择承办单位。")},
        "已派单。",
    ),
    "transfer": (
        "transfer",
        lambda f: {
            "unit_code": _text(f, "unit_code", required="请选择新的承办单位。"),
            "reason": _text(f, required="改派需要写明理由。"),
        },
        "已改派，新单位将收到案件卡片。",
    ),
    "approve_return": (
        "approve_return",
        lambda f: {"unit_code": _text(f, "unit_code") or None},
        "已同意退单。",
    ),
    "overrule_return": (
        "overrule_return",
        lambda f: {"note": _text(f, required="驳回退单需要写明意见。")},
        "已驳回退单，事项退回原单位。",
    ),
    "decide_extension": (
        "decide_extension",
        lambda f: {"approve": f.get("decision") == "approve", "note": _text(f) or None},
        "延期申请已审批。",
    ),
    "supervise": (
        "supervise",
        lambda f: {"note": _text(f, required="督办意见不能为空。")},
        "督办已发出。",
    ),
}


def create_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/cases/{code}")
    async def case_view(
        request: Request, code: str, user: CurrentUser, session: SessionDep
    ) -> Response:
        page = await dashboard.case_page(session=session, user=user, code=code)
        units = (await session.exec(select(Unit).order_by(Unit.code))).all()
        allowed = await workflow.actions_for(session, page.case, user.person)
        return render(
            request,
            "case.html",
            {
                "user": user,
                "page": page,
                "case": page.case,
                "units": units,
                "can": {action.name: action in allowed for action in Action},
                "reasons": plain_reasons(page.case.classification, request.app.state.web.county),
                "max_extension_days": MAX_EXTENSION_DAYS,
            },
        )

    @router.get("/cases/{code}/files/{attachment_id}")
    async def case_file(
        request: Request, code: str, attachment_id: int, user: CurrentUser, session: SessionDep
    ) -> Response:
        """A resident's web photo, only to signed-in staff who may see the case."""
        case = await dashboard.load_case(session=session, user=user, code=code)
        attachment = await session.get(Attachment, attachment_id)
        settings = request.app.state.web.settings
        path = None
        if attachment is not None and attachment.case_id == case.id:
            path = resident_web.photo_path(settings.upload_dir, attachment)
        if path is None:
            raise NotFound("没有找到该附件。")
        response = FileResponse(path, media_type="image/jpeg")
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @router.post("/cases/{code}/{action}")
    async def case_action(
        request: Request, code: str, action: str, user: CsrfUser, session: SessionDep
    ) -> Response:
        from backend.services import workflow

        if action not in ACTIONS:
            raise NotFound("没有这个操作。")
        case = await dashboard.load_case(session=session, user=user, code=code)
        function_name, arguments, done = ACTIONS[action]
        target = f"/cases/{quote(case.code)}"
        form = {key: str(value) for key, value in (await request.form()).items()}
        try:
            kwargs = arguments(form)
            function = getattr(workflow, function_name)
            await function(session=session, actor=user.person, case_id=case.id, **kwargs)
        except DomainError as exc:
            await session.rollback()
            return redirect_with_flash(request, target, exc.message, "error")
        return redirect_with_flash(request, target, done)

    return router
