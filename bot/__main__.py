"""``python -m bot``: run the bot.

- ``python -m bot`` — with ``BOT_TOKEN``: long polling against ``TELEGRAM_API_URL`` with the
  notifier in the same process; without a token: one line saying so, then the console.
- ``python -m bot console`` — the same dispatcher and handlers in this terminal.
- ``python -m bot notifier`` — only deliver notifications (for a separate process).
- ``python -m bot webhook --url https://HOST/tg --port 8081`` — receive updates by webhook; run
  several of these behind a load balancer with ``REDIS_URL`` set (shared FSM state, per-user
  locks and duplicate guard) and one ``python -m bot notifier``. It refuses to start without
  ``BOT_WEBHOOK_SECRET`` (or ``--secret``): the secret is registered with setWebhook and every
  POST without it is refused, so reaching the port is not enough to act as a user.

An empty database (the embedded SQLite under ./data/ on a fresh machine) is initialised first,
exactly as ``python -m backend init`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import sys
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.config import Settings
from backend.db import create_engine, create_session_factory

log = logging.getLogger("bot")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
NEEDS_TOKEN = "此模式需要 BOT_TOKEN。 This mode needs BOT_TOKEN."

# setWebhook's secret_token: A-Z a-z 0-9 _ and - (Telegram allows 1-256 characters; at least 16
# here, so it cannot be guessed).
WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{16,256}")
WEBHOOK_NEEDS_SECRET = (
    "webhook 模式必须设置 BOT_WEBHOOK_SECRET（16–256 个字母、数字、_ 或 -），"
    "否则任何能访问该端口的人都能冒充用户。可用以下命令生成：\n"
    '  python -c "import secrets; print(secrets.token_urlsafe(32))"\n'
    "Webhook mode needs BOT_WEBHOOK_SECRET (16-256 characters: letters, digits, _ or -); "
    "without it anyone who reaches the port could act as any user."
)

OFFLINE_NOTICE = (
    "未设置 BOT_TOKEN，现在以离线控制台模式运行（可在 Telegram 里找 @BotFather 创建机器人、"
    "把令牌写入 .env 的 BOT_TOKEN 后即可上线）。"
    " No BOT_TOKEN: running offline in the console (get a token from @BotFather)."
)


async def ensure_database(settings: Settings, engine: AsyncEngine) -> None:
    """Create the schema and load the county data when the database is still empty."""
    from backend import migrate

    if await migrate.current_revision(engine) is not None:
        return
    from backend.cli import cmd_init

    log.info("empty database: initialising it (python -m backend init)")
    await cmd_init(settings)


async def run_polling(settings: Settings) -> None:
    from aiogram import Bot

    from bot.factory import concurrency_limit, create_bot, create_dispatcher
    from bot.handlers.start import set_default_commands
    from bot.inbox import poll

    engine = create_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    await ensure_database(settings, engine)
    bot = create_bot(settings)
    dp = create_dispatcher(settings, session_factory=session_factory)
    tasks: list[asyncio.Task[Any]] = []

    async def on_startup(bot: Bot) -> None:
        await set_default_commands(bot)
        task = _start_notifier(bot, session_factory, settings)
        if task is not None:
            tasks.append(task)

    async def on_shutdown() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        await poll(
            dp,
            bot,
            session_factory,
            concurrency=concurrency_limit(settings),
            allowed_updates=dp.resolve_used_update_types(),
        )
    finally:
        await bot.session.close()
        await engine.dispose()


def _start_notifier(
    bot: Any, session_factory: Any, settings: Settings
) -> asyncio.Task[Any] | None:
    try:
        from bot.notifications.worker import start_notifier
    except ImportError:
        log.warning("bot.notifications.worker is not available: notifications are not sent")
        return None
    return start_notifier(bot, session_factory, settings)


def webhook_secret(option: str, settings: Settings) -> str:
    """``--secret``, else BOT_WEBHOOK_SECRET from the environment or .env ("" when neither)."""
    if option:
        return option
    configured = settings.bot_webhook_secret
    return configured.get_secret_value() if configured is not None else ""


def valid_webhook_secret(secret: str | None) -> bool:
    return bool(secret) and WEBHOOK_SECRET_RE.fullmatch(secret or "") is not None


def build_webhook_app(
    dp: Any, bot: Any, *, path: str, secret: str, session_factory: Any, concurrency: int
) -> Any:
    """The aiohttp application that stores each webhook update in the inbox, then handles it.

    Only POSTs carrying ``secret`` in ``X-Telegram-Bot-Api-Secret-Token`` reach the dispatcher
    (others get 401); an app without a valid secret is never built.
    """
    from aiogram.webhook.aiohttp_server import setup_application
    from aiohttp import web

    from bot.inbox import InboxRequestHandler

    if not valid_webhook_secret(secret):
        raise ValueError(WEBHOOK_NEEDS_SECRET)

    app = web.Application()
    handler = InboxRequestHandler(
        dp, bot, session_factory, concurrency=concurrency, secret_token=secret
    )
    handler.register(app, path=path)
    setup_application(app, dp, bot=bot)

    async def start_sweeper(_: web.Application) -> None:
        handler.start_sweeper()

    app.on_startup.append(start_sweeper)
    return app


async def register_webhook(bot: Any, dp: Any, *, url: str, secret: str) -> None:
    """setWebhook with the secret: Telegram then sends it back with every update."""
    await bot.set_webhook(
        url,
        secret_token=secret,
        allowed_updates=dp.resolve_used_update_types(),
        drop_pending_updates=False,
    )


async def run_webhook(settings: Settings, args: argparse.Namespace) -> None:
    from aiogram import Bot
    from aiohttp import web

    from bot.factory import concurrency_limit, create_bot, create_dispatcher
    from bot.handlers.start import set_default_commands

    engine = create_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    await ensure_database(settings, engine)
    bot = create_bot(settings)
    dp = create_dispatcher(settings, session_factory=session_factory)
    path = "/" + args.url.split("://", 1)[-1].partition("/")[2].strip("/")
    secret = args.secret

    async def on_startup(bot: Bot) -> None:
        await register_webhook(bot, dp, url=args.url, secret=secret)
        await set_default_commands(bot)

    dp.startup.register(on_startup)
    app = build_webhook_app(
        dp,
        bot,
        path=path,
        secret=secret,
        session_factory=session_factory,
        concurrency=concurrency_limit(settings),
    )
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    log.info("webhook listening on %s:%s%s", args.host, args.port, path)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await engine.dispose()


async def run_notifier(settings: Settings) -> None:
    from bot.factory import create_bot
    from bot.notifications.worker import run_loops

    engine = create_engine(settings.database_url)
    await ensure_database(settings, engine)
    bot = create_bot(settings)
    try:
        await run_loops(bot, create_session_factory(engine), settings)
    finally:
        await bot.session.close()
        await engine.dispose()


async def run_console_main(settings: Settings) -> None:
    from bot.console import run_console

    engine = create_engine(settings.database_url)
    try:
        await ensure_database(settings, engine)
        await run_console(settings, create_session_factory(engine))
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="综治通 Telegram bot")
    parser.add_argument(
        "mode",
        nargs="?",
        choices=["run", "console", "notifier", "webhook"],
        default="run",
        help="run (default: Telegram when BOT_TOKEN is set, else the console), console, "
        "notifier, webhook",
    )
    parser.add_argument("--url", help="webhook: the public HTTPS URL Telegram posts to")
    parser.add_argument("--host", default="127.0.0.1", help="webhook: listen address")
    parser.add_argument("--port", type=int, default=8081, help="webhook: listen port")
    parser.add_argument(
        "--secret",
        default="",
        help="webhook: secret token Telegram sends back, required (default: BOT_WEBHOOK_SECRET)",
    )
    args = parser.parse_args(argv)
    if args.mode == "webhook" and not args.url:
        parser.error("webhook needs --url https://your.host/path")
    settings = Settings()
    if args.mode == "webhook":
        args.secret = webhook_secret(args.secret, settings)
        if not valid_webhook_secret(args.secret):
            print(WEBHOOK_NEEDS_SECRET, file=sys.stderr)
            return 2
    mode = args.mode
    if mode == "run" and settings.bot_token is None:
        print(OFFLINE_NOTICE, flush=True)
        mode = "console"
    if mode == "console":
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        runner = run_console_main(settings)
    else:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        from bot.tuning import tune_gc

        tune_gc()
        if settings.bot_token is None:
            print(
                "python -m bot notifier 需要 BOT_TOKEN。 The notifier needs BOT_TOKEN.",
                file=sys.stderr,
            )
            return 2
        if mode == "webhook":
            runner = run_webhook(settings, args)
        elif mode == "notifier":
            runner = run_notifier(settings)
        else:
            runner = run_polling(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
