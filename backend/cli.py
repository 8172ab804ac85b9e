"""Management CLI: ``python -m backend <command>``. Settings come from the environment / ``.env``.

Commands (a contract: other tools call them): ``init``, ``invite``, ``revoke-invite``, ``units``,
``cases``, ``scan``, ``serve``, ``poster``, ``makemigration``. ``invite`` prints the code on its
last line.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from backend.config import Settings
from backend.db import create_engine, create_session_factory
from backend.models import CaseStatus, Role

ROLES = [r.value for r in Role if r != Role.resident]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backend",
        description="综治通 management: database, county data, invites, cases, deadlines, web.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    commands.add_parser(
        "init",
        help="create or upgrade the database and load units from county data (safe to repeat)",
        description="Run the Alembic migrations up to head, then create or refresh the units "
        "(departments and township centers) from the county data file. Idempotent.",
    )

    invite = commands.add_parser(
        "invite",
        help="create a one-time invite code (printed on the last line)",
        description="Create a one-time registration code. The person sends /start <code> to the "
        "bot (or /bind <code> in a group to make it the unit's desk).",
    )
    invite.add_argument("--role", required=True, choices=ROLES, help="role the code gives")
    invite.add_argument(
        "--unit",
        help="unit code: a department code (police, justice, …) or township:<乡镇名> "
        "(e.g. township:弥城镇); required for staff and unit_head, dispatcher defaults to center",
    )
    invite.add_argument(
        "--ttl-days", type=int, default=7, help="days before it expires (0: never)"
    )

    revoke = commands.add_parser(
        "revoke-invite", help="withdraw an unused invite code", description="Withdraw an invite."
    )
    revoke.add_argument("code", help="the invite code")

    commands.add_parser(
        "units", help="list units and their bound groups", description="List every unit."
    )

    cases = commands.add_parser(
        "cases", help="list cases, newest first", description="List cases, newest first."
    )
    cases.add_argument(
        "--status",
        action="append",
        choices=[s.value for s in CaseStatus],
        help="only this status (repeatable)",
    )
    cases.add_argument("--unit", help="only cases led by this unit code")
    cases.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")

    commands.add_parser(
        "scan",
        help="run the deadline scanner once and print the counts",
        description="Mark cases near (yellow) or past (red) their deadlines; queue 督办 notices.",
    )

    serve = commands.add_parser(
        "serve", help="run the web dashboard and API", description="Run the web dashboard and API."
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on")

    poster = commands.add_parser(
        "poster",
        help="write a PNG poster with a QR code of the residents' web page",
        description="A printable poster (PNG) with the county's name and a QR code of the "
        "residents' report page (WEB_BASE_URL + /r), for notice boards and WeChat posts.",
    )
    poster.add_argument("--out", default="poster.png", help="PNG file to write (poster.png)")
    poster.add_argument("--url", help="link to encode (default: WEB_BASE_URL/r)")
    poster.add_argument(
        "--font", help="a font file with Chinese glyphs (default: the first installed CJK font)"
    )

    make = commands.add_parser(
        "makemigration",
        help="(developers) autogenerate an Alembic revision after changing the models",
        description="Autogenerate a new revision in backend/migrations/versions from the "
        "difference between the current head and SQLModel.metadata (uses a scratch SQLite DB).",
    )
    make.add_argument("-m", "--message", required=True, help="short description of the change")
    return parser


async def _with_session(settings: Settings, work: Callable[..., Awaitable[int]]) -> int:
    from backend import migrate
    from backend.services import runtime

    runtime.configure(settings)
    engine = create_engine(settings.database_url)
    try:
        if await migrate.current_revision(engine) is None:
            print(
                "数据库尚未初始化，请先运行：python -m backend init"
                f"（DATABASE_URL={_safe_url(settings.database_url)}）",
                file=sys.stderr,
            )
            return 1
        async with create_session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def cmd_init(settings: Settings) -> int:
    from backend import migrate
    from backend.county import load_county
    from backend.services import directory, runtime

    county = load_county(settings.county_data)
    runtime.configure(settings)
    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        async with create_session_factory(engine)() as session:
            created, updated = await directory.sync_units(session=session, county=county)
        revision = await migrate.current_revision(engine)
    finally:
        await engine.dispose()
    print(f"数据库已是最新版本（{revision}）。")
    print(f"单位：新建 {created} 个，更新 {updated} 个（共 {len(county.units())} 个）。")
    return 0


async def cmd_invite(settings: Settings, args: argparse.Namespace) -> int:
    from backend.services import directory

    async def work(session: object) -> int:
        invite = await directory.create_invite(
            session=session,  # type: ignore[arg-type]
            role=args.role,
            unit_code=args.unit,
            ttl_days=args.ttl_days,
        )
        expires = (
            invite.expires_at.astimezone(ZoneInfo(settings.tz)).strftime("%Y-%m-%d %H:%M")
            if invite.expires_at
            else "不过期"
        )
        print(f"角色 {args.role}，单位 {args.unit or '-'}，有效期至 {expires}。")
        print("在机器人私聊发送 /start <邀请码>，或在单位工作群发送 /bind <邀请码>。")
        print(invite.code)
        return 0

    return await _with_session(settings, work)


async def cmd_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from backend.services import directory

    async def work(session: object) -> int:
        invite = await directory.revoke_invite(session=session, code=args.code)  # type: ignore[arg-type]
        print(f"已撤销邀请码 {invite.code}。")
        return 0

    return await _with_session(settings, work)


async def cmd_units(settings: Settings) -> int:
    from backend.services import directory

    async def work(session: object) -> int:
        for unit in await directory.list_units(session=session):  # type: ignore[arg-type]
            chat = f"群 {unit.chat_title} ({unit.chat_id})" if unit.chat_id else "未绑定工作群"
            print(f"{unit.code:<24} {unit.name:<24} {chat}")
        return 0

    return await _with_session(settings, work)


async def cmd_cases(settings: Settings, args: argparse.Namespace) -> int:
    from backend.services import cases, directory

    zone = ZoneInfo(settings.tz)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%m-%d %H:%M") if moment else "-"

    async def work(session: object) -> int:
        unit_id = None
        if args.unit:
            unit = await directory.get_unit(session=session, code=args.unit)  # type: ignore[arg-type]
            unit_id = unit.id
        statuses = [CaseStatus(s) for s in args.status] if args.status else None
        rows = await cases.list_cases(
            session=session,  # type: ignore[arg-type]
            statuses=statuses,
            unit_id=unit_id,
            limit=args.limit,
        )
        units = {u.id: u.code for u in await directory.list_units(session=session)}  # type: ignore[arg-type]
        for case in rows:
            deadline = case.handle_deadline or case.accept_deadline
            print(
                f"{case.code}  {case.status:<13} {units.get(case.lead_unit_id, '-'):<20} "
                f"{case.category or '-':<4} {case.risk_level:<6} 创建 {local(case.created_at)}  "
                f"时限 {local(deadline)}"
            )
        print(f"共 {len(rows)} 件。")
        return 0

    return await _with_session(settings, work)


async def cmd_scan(settings: Settings) -> int:
    from backend.services import deadlines, runtime

    async def work(session: object) -> int:
        result = await deadlines.scan_deadlines(
            session=session,  # type: ignore[arg-type]
            county=runtime.county(),
            tz=settings.tz,
        )
        print(
            f"黄色预警 {result.yellow} 件，红色超期 {result.red} 件，"
            f"超期重复督办 {result.repeated} 件。"
        )
        return 0

    return await _with_session(settings, work)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    try:
        app_module = importlib.import_module("backend.web.app")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("backend.web"):
            print("网页端尚未安装（backend.web.app 不存在）。", file=sys.stderr)
            return 2
        raise
    serve = getattr(app_module, "serve", None)
    if serve is None:
        print("网页端尚未完成（backend.web.app 中没有 serve）。", file=sys.stderr)
        return 2
    from backend.services import runtime

    runtime.configure(settings)
    result = serve(settings, args.host, args.port)
    if asyncio.iscoroutine(result):
        asyncio.run(result)
    return 0


def cmd_poster(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.county import load_county
    from backend.web import poster

    county = load_county(settings.county_data)
    url = args.url or f"{settings.web_base_url.rstrip('/')}/r"
    font = poster.chinese_font(Path(args.font) if args.font else None)
    if font is None:
        print(
            "未找到中文字体，海报上用英文县名；请安装 fonts-noto-cjk 或用 --font 指定字体文件。",
            file=sys.stderr,
        )
    text = poster.poster_text(county.name_zh, county.name_en, chinese=font is not None)
    poster.make_poster(url, text, font).save(args.out, "PNG", optimize=True)
    print(f"海报已保存：{args.out}（{url}）")
    return 0


async def cmd_makemigration(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from backend import migrate

    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'scratch.db'}")
        try:
            await migrate.make_revision(engine, args.message)
        finally:
            await engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from backend.county import CountyDataError
    from backend.services.errors import DomainError

    try:
        settings = Settings()
        match args.command:
            case "init":
                return asyncio.run(cmd_init(settings))
            case "invite":
                return asyncio.run(cmd_invite(settings, args))
            case "revoke-invite":
                return asyncio.run(cmd_revoke(settings, args))
            case "units":
                return asyncio.run(cmd_units(settings))
            case "cases":
                return asyncio.run(cmd_cases(settings, args))
            case "scan":
                return asyncio.run(cmd_scan(settings))
            case "serve":
                return cmd_serve(settings, args)
            case "poster":
                return cmd_poster(settings, args)
            case "makemigration":
                return asyncio.run(cmd_makemigration(args))
    except DomainError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 1
    except CountyDataError as exc:
        print(f"县域数据有误：{exc}", file=sys.stderr)
        return 1
    return 2
