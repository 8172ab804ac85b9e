"""``python -m bot webhook``: updates posted by Telegram reach the same dispatcher, and only those.

Webhook mode refuses to start without a secret (BOT_WEBHOOK_SECRET or --secret): without one,
anyone who reaches the port could post updates and act as any user, a dispatcher included.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiogram import Dispatcher
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from bot.__main__ import build_webhook_app, main, register_webhook, webhook_secret
from tests.mocked_bot import MockedBot
from tests.tg import make_message_update

SECRET = "s3cret-token_0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def _wait_for_reply(bot: MockedBot, chat_id: int) -> None:
    for _ in range(200):
        if bot.calls("sendMessage", chat_id=chat_id):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no reply from the webhook dispatcher")


async def test_a_webhook_update_is_answered_once_and_forged_posts_are_refused(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    app = build_webhook_app(
        dp, bot, path="/tg", secret=SECRET, session_factory=bot_session_factory, concurrency=4
    )
    update = make_message_update(6001, "/start").model_dump(mode="json", exclude_none=True)
    async with TestClient(TestServer(app)) as client:
        forged = await client.post("/tg", json=update)
        assert forged.status == 401
        wrong = await client.post("/tg", json=update, headers={SECRET_HEADER: SECRET + "x"})
        assert wrong.status == 401
        headers = {SECRET_HEADER: SECRET}
        assert (await client.post("/tg", json=update, headers=headers)).status == 200
        await _wait_for_reply(bot, 6001)
        assert (await client.post("/tg", json=update, headers=headers)).status == 200
        await asyncio.sleep(0.3)
    replies = bot.calls("sendMessage", chat_id=6001)
    assert len(replies) == 1
    assert "综治中心" in replies[0].text


@pytest.mark.parametrize(
    "secret", ["", "short", "has space in it 0123456789", "中文密钥中文密钥中文密钥中文密钥"]
)
def test_no_webhook_app_is_built_without_a_valid_secret(
    dp: Dispatcher,
    bot: MockedBot,
    bot_session_factory: async_sessionmaker[AsyncSession],
    secret: str,
) -> None:
    with pytest.raises(ValueError, match="BOT_WEBHOOK_SECRET"):
        build_webhook_app(
            dp, bot, path="/tg", secret=secret, session_factory=bot_session_factory, concurrency=4
        )


@pytest.mark.parametrize("env_secret", [None, "", "too-short"])
def test_webhook_mode_refuses_to_start_without_a_secret(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    env_secret: str | None,
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("BOT_TOKEN", "123:TEST")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'never.db'}")
    if env_secret is None:
        monkeypatch.delenv("BOT_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("BOT_WEBHOOK_SECRET", env_secret)
    assert main(["webhook", "--url", "https://example.org/tg"]) == 2
    assert "BOT_WEBHOOK_SECRET" in capsys.readouterr().err
    assert not (tmp_path / "never.db").exists()  # it stopped before touching anything


def test_the_secret_can_come_from_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """BOT_WEBHOOK_SECRET in .env counts (as .env.example says), and --secret wins over it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"BOT_WEBHOOK_SECRET={SECRET}\n")
    monkeypatch.delenv("BOT_WEBHOOK_SECRET", raising=False)
    settings = Settings()
    assert webhook_secret("", settings) == SECRET
    assert webhook_secret("from-the-command-line-0123", settings) == "from-the-command-line-0123"
    (tmp_path / ".env").write_text("")
    assert webhook_secret("", Settings()) == ""


async def test_set_webhook_registers_the_secret(dp: Dispatcher, bot: MockedBot) -> None:
    await register_webhook(bot, dp, url="https://example.org/tg", secret=SECRET)
    (call,) = bot.calls("setWebhook")
    assert call.secret_token == SECRET
    assert call.url == "https://example.org/tg"


async def test_webhook_updates_are_handled_at_most_concurrency_at_once(
    bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from bot.inbox import InboxFeeder

    running: list[int] = []
    most = 0
    release = asyncio.Event()

    class SlowDispatcher:
        async def feed_update(self, _bot: object, update: object, **_: object) -> None:
            nonlocal most
            running.append(1)
            most = max(most, len(running))
            await release.wait()
            running.pop()

    feeder = InboxFeeder(SlowDispatcher(), bot, bot_session_factory, 1)  # type: ignore[arg-type]
    updates = [make_message_update(6100 + n, "/help") for n in range(3)]
    handling = [asyncio.create_task(feeder.handle_in_turn(u)) for u in updates]
    await asyncio.sleep(0.2)
    assert most == 1  # the other two wait for the slot
    release.set()
    await asyncio.gather(*handling)
    assert most == 1 and not running
