"""Admin pages: units and chats, townships, invites, time profiles, rules and knowledge base."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backend.models import Role
from backend.services import dashboard, directory, legal
from backend.services.errors import DomainError, ValidationFailed
from backend.web.deps import AdminUser, CenterUser, CsrfUser, SessionDep, State
from backend.web.render import redirect_with_flash, render

INVITE_ROLES = (
    Role.staff,
    Role.unit_head,
    Role.grid_worker,
    Role.dispatcher,
    Role.supervisor,
    Role.admin,
)
RULE_SUFFIXES = {".yaml", ".yml", ".toml", ".txt", ".csv", ".json"}
MAX_RULE_CHARS = 60_000


def _rule_files() -> list[tuple[str, str]]:
    """The classifier's data files (read-only view)."""
    import classifier

    folder = Path(classifier.__file__).parent / "data"
    files = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in RULE_SUFFIXES:
            text = path.read_text(encoding="utf-8", errors="replace")
            if len(text) > MAX_RULE_CHARS:
                text = text[:MAX_RULE_CHARS] + "\n…（过长，已截断）"
            files.append((str(path.relative_to(folder)), text))
    return files


def create_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/admin")
    async def admin_units(
        request: Request, user: AdminUser, session: SessionDep, state: State
    ) -> Response:
        rows = await dashboard.unit_rows(session=session)
        return render(request, "admin/units.html", {"user": user, "rows": rows, "tab": "units"})

    @router.get("/admin/townships")
    async def admin_townships(request: Request, user: AdminUser, state: State) -> Response:
        return render(
            request,
            "admin/townships.html",
            {"user": user, "townships": state.county.townships, "tab": "townships"},
        )

    @router.get("/admin/profiles")
    async def admin_profiles(request: Request, user: AdminUser, state: State) -> Response:
        county = state.county
        categories = sorted(county.categories.values(), key=lambda c: c.code)
        return render(
            request,
            "admin/profiles.html",
            {
                "user": user,
                "profiles": county.time_profiles,
                "categories": categories,
                "tab": "profiles",
            },
        )

    @router.get("/admin/invites")
    async def admin_invites(
        request: Request, user: AdminUser, session: SessionDep, state: State
    ) -> Response:
        invites = await dashboard.recent_invites(session=session)
        units = await dashboard.units_by_id(session=session)
        return render(
            request,
            "admin/invites.html",
            {
                "user": user,
                "invites": invites,
                "units": units,
                "roles": INVITE_ROLES,
                "tab": "invites",
                "bot_username": state.settings.bot_username,
            },
        )

    @router.post("/admin/invites")
    async def create_invite(request: Request, user: CsrfUser, session: SessionDep) -> Response:
        if not user.is_admin:
            from backend.services.errors import NotAllowed

            raise NotAllowed("此页面仅供系统管理员使用。")
        form = await request.form()
        role = str(form.get("role") or "")
        unit_code = str(form.get("unit_code") or "") or None
        try:
            days = int(str(form.get("ttl_days") or "7"))
            if not 1 <= days <= 30:
                raise ValueError
        except ValueError:
            return redirect_with_flash(request, "/admin/invites", "有效期应为 1–30 天。", "error")
        try:
            invite = await directory.create_invite(
                session=session,
                role=role,
                unit_code=unit_code,
                created_by=user.person,
                ttl_days=days,
            )
        except (DomainError, ValidationFailed) as exc:
            await session.rollback()
            return redirect_with_flash(request, "/admin/invites", exc.message, "error")
        return redirect_with_flash(request, "/admin/invites", f"已生成邀请码 {invite.code}。")

    @router.post("/admin/invites/{code}/revoke")
    async def revoke_invite(
        request: Request, code: str, user: CsrfUser, session: SessionDep
    ) -> Response:
        if not user.is_admin:
            from backend.services.errors import NotAllowed

            raise NotAllowed("此页面仅供系统管理员使用。")
        try:
            await directory.revoke_invite(session=session, code=code, actor=user.person)
        except DomainError as exc:
            await session.rollback()
            return redirect_with_flash(request, "/admin/invites", exc.message, "error")
        return redirect_with_flash(request, "/admin/invites", f"邀请码 {code} 已撤销。")

    @router.get("/admin/rules")
    async def admin_rules(request: Request, user: CenterUser, state: State) -> Response:
        import classifier

        text = (request.query_params.get("text") or "").strip()[:2000]
        decision = classifier.classify(text) if text else None
        return render(
            request,
            "admin/rules.html",
            {
                "user": user,
                "files": _rule_files(),
                "text": text,
                "decision": decision,
                "tab": "rules",
            },
        )

    @router.get("/admin/kb")
    async def admin_kb(request: Request, user: CenterUser, session: SessionDep) -> Response:
        import knowledge_base

        topic = request.query_params.get("topic") or ""
        topics = knowledge_base.topics()
        entries = knowledge_base.entries_for_topic(topic) if topic in topics else []
        question = (request.query_params.get("q") or "").strip()[:500]
        hits = knowledge_base.search(question) if question else []
        worklist = await legal.unanswered_questions(session=session, limit=50)
        return render(
            request,
            "admin/kb.html",
            {
                "user": user,
                "topics": topics,
                "topic": topic,
                "entries": entries,
                "question": question,
                "hits": hits,
                "worklist": worklist,
                "tab": "kb",
            },
        )

    return router
