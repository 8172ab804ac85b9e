"""A Telegram Bot API stand-in for end-to-end tests: a small aiohttp server.

The bot talks to it exactly as to api.telegram.org (``TELEGRAM_API_URL=http://127.0.0.1:<port>``):
``/bot<token>/<method>`` for the Bot API methods the bot calls, ``/file/bot<token>/<path>`` for
downloads. Unlike the npm ``telegram-test-api`` it answers ``getMe`` with ``is_bot``, puts a
``chat_instance`` on callback queries, honours ``getUpdates`` offset *and* timeout (real long
polling), and uses Unix seconds for dates.

A side door under ``/_test/`` lets a test act as users and read what the bot did (JSON bodies):

- ``POST /_test/message`` {user_id, text, chat_id?, chat_title?, first_name?}: a user message
  (``chat_id`` < 0 makes it a group message);
- ``POST /_test/press`` {user_id, label, chat_id?}: press the newest button whose label contains
  ``label`` (inline → callback query with chat_instance; reply keyboard → its text);
- ``POST /_test/callback`` {user_id, data, message_id, chat_id?}: a raw (even forged) callback;
- ``POST /_test/photo`` {user_id, caption?} · ``/_test/document`` {user_id, file_name?} ·
  ``/_test/voice`` · ``/_test/sticker`` · ``/_test/location`` {user_id, latitude, longitude} ·
  ``/_test/contact`` {user_id, phone_number};
- ``GET /_test/sent?chat_id=`` every message the bot has in that chat now (after edits) and
  ``GET /_test/calls?method=`` the raw call log; ``POST /_test/wait`` {chat_id, contains?,
  after?, timeout?} blocks until the bot sends (or edits) a message containing the text;
- ``POST /_test/fault`` {method, times?, error_code?, retry_after?, description?, hang?}: the
  next ``times`` calls of ``method`` fail with that HTTP error (429 with ``retry_after``, 403,
  500 …) or hang; ``POST /_test/reset`` forgets everything.

After ``setWebhook`` the stand-in posts each update to the webhook URL instead of keeping it for
``getUpdates``, as Telegram does: with the ``X-Telegram-Bot-Api-Secret-Token`` header, one chat's
updates one at a time and in order, and an update that gets no 2xx answer is posted again (with
back-off) until it does; ``deleteWebhook`` goes back to polling. ``webhook_deliveries`` logs
every attempt (update id, HTTP status or error, time, seconds taken).

In-process tests can call the same things as coroutines on :class:`TelegramStub`.
Run standalone: ``python -m tests.telegram_stub --port 8081``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JsonDict = dict[str, Any]

_JSON_FIELDS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "media",
    "commands",
    "scope",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
    "menu_button",
}
_INT_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "from_chat_id",
    "reply_to_message_id",
    "cache_time",
}


@dataclass
class _Fault:
    error_code: int
    description: str
    retry_after: float | None
    hang: bool


@dataclass
class StubState:
    updates: list[JsonDict] = field(default_factory=list)
    # chat_id → message_id → the message as it looks now
    messages: dict[int, dict[int, JsonDict]] = field(default_factory=lambda: defaultdict(dict))
    # chat_id → the reply keyboard shown now (or None)
    reply_keyboards: dict[int, JsonDict | None] = field(default_factory=dict)
    calls: list[JsonDict] = field(default_factory=list)
    callback_answers: list[JsonDict] = field(default_factory=list)
    commands: list[JsonDict] = field(default_factory=list)
    files: dict[str, JsonDict] = field(default_factory=dict)
    faults: dict[str, deque[_Fault]] = field(default_factory=lambda: defaultdict(deque))
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_deliveries: list[JsonDict] = field(default_factory=list)


class TelegramStub:
    """The Bot API stand-in; see the module docstring."""

    def __init__(self, *, bot_username: str = "zongzhitong_bot") -> None:
        self.bot_username = bot_username
        self.state = StubState()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._webhook_queues: dict[int, asyncio.Queue[JsonDict]] = {}
        self._webhook_tasks: set[asyncio.Task[None]] = set()
        self.url = ""
        self.bot_id = 123  # taken from the token of the first call
        self.latency = 0.0  # seconds every Bot API call takes (benchmarks: Telegram's ~0.2 s)

    # -- lifecycle --------------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        app.router.add_post("/_test/message", self._door(self.user_message))
        app.router.add_post("/_test/press", self._door(self.press))
        app.router.add_post("/_test/callback", self._door(self.callback))
        app.router.add_post("/_test/photo", self._door(self.photo))
        app.router.add_post("/_test/document", self._door(self.document))
        app.router.add_post("/_test/voice", self._door(self.voice))
        app.router.add_post("/_test/sticker", self._door(self.sticker))
        app.router.add_post("/_test/location", self._door(self.location))
        app.router.add_post("/_test/contact", self._door(self.contact))
        app.router.add_post("/_test/fault", self._door(self.inject_fault))
        app.router.add_post("/_test/reset", self._door(self.reset))
        app.router.add_post("/_test/wait", self._door(self.wait_for_message))
        app.router.add_get("/_test/sent", self._sent)
        app.router.add_get("/_test/calls", self._calls)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = a free port); returns the base URL for TELEGRAM_API_URL."""
        # A short shutdown_timeout: calls hanging on an injected fault must not delay stop().
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        real_port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://{host}:{real_port}"
        return self.url

    async def stop(self) -> None:
        for task in self._webhook_tasks:
            task.cancel()
        await asyncio.gather(*self._webhook_tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramStub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- users' side ------------------------------------------------------------------------------
    def _user(self, user_id: int, first_name: str = "张三") -> JsonDict:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "zh-hans",
        }

    def _chat(
        self, chat_id: int, *, first_name: str = "张三", title: str | None = None
    ) -> JsonDict:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": first_name}
        return {"id": chat_id, "type": "supergroup", "title": title or f"group {chat_id}"}

    def _bot_user(self) -> JsonDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "综治通",
            "username": self.bot_username,
        }

    async def _push(self, kind: str, payload: JsonDict) -> JsonDict:
        update = {"update_id": next(self._update_ids), kind: payload}
        if self.state.webhook_url:
            self._post_to_webhook(update, payload)
            return update
        async with self._changed:
            self.state.updates.append(update)
            self._changed.notify_all()
        return update

    async def _user_message_update(
        self,
        user_id: int,
        content: JsonDict,
        *,
        chat_id: int | None = None,
        chat_title: str | None = None,
        first_name: str = "张三",
    ) -> JsonDict:
        chat = chat_id if chat_id is not None else user_id
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat, first_name=first_name, title=chat_title),
            "from": self._user(user_id, first_name),
            **content,
        }
        update = await self._push("message", message)
        return {"update_id": update["update_id"], "message_id": message["message_id"]}

    async def user_message(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        chat_title: str | None = None,
        first_name: str = "张三",
    ) -> JsonDict:
        content: JsonDict = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._user_message_update(
            user_id, content, chat_id=chat_id, chat_title=chat_title, first_name=first_name
        )

    async def callback(
        self, user_id: int, data: str, message_id: int, chat_id: int | None = None
    ) -> JsonDict:
        chat = chat_id if chat_id is not None else user_id
        shown = self.state.messages.get(chat, {}).get(message_id) or {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat),
            "from": self._bot_user(),
            "text": "…",
        }
        query = {
            "id": str(next(self._callback_ids)),
            "from": self._user(user_id),
            "chat_instance": f"ci{chat}",
            "data": data,
            "message": shown,
        }
        update = await self._push("callback_query", query)
        return {"update_id": update["update_id"], "callback_id": query["id"]}

    async def press(self, user_id: int, label: str, chat_id: int | None = None) -> JsonDict:
        """Press the newest visible button whose label contains ``label``."""
        chat = chat_id if chat_id is not None else user_id
        best: tuple[int, str, Any] | None = None
        for message in self.state.messages.get(chat, {}).values():
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    usable = label in button.get("text", "") and "callback_data" in button
                    if usable and (best is None or message["_seq"] > best[0]):
                        best = (message["_seq"], "inline", (message["message_id"], button))
        keyboard = self.state.reply_keyboards.get(chat)
        if keyboard:
            for row in keyboard.get("keyboard", []):
                for button in row:
                    text = button if isinstance(button, str) else button.get("text", "")
                    if label in text and (best is None or keyboard["_seq"] > best[0]):
                        best = (keyboard["_seq"], "reply", text)
        if best is None:
            raise LookupError(f"no visible button containing {label!r} in chat {chat}")
        if best[1] == "reply":
            return await self.user_message(user_id, best[2], chat_id=chat_id)
        message_id, button = best[2]
        return await self.callback(user_id, button["callback_data"], message_id, chat_id=chat_id)

    def _new_file(self, prefix: str, **extra: Any) -> JsonDict:
        number = next(self._file_ids)
        file = {"file_id": f"{prefix}-{number}", "file_unique_id": f"{prefix}u{number}", **extra}
        self.state.files[file["file_id"]] = {**file, "file_path": f"{prefix}/{number}.bin"}
        return file

    async def photo(self, user_id: int, caption: str | None = None) -> JsonDict:
        content: JsonDict = {"photo": [self._new_file("photo", width=1280, height=960)]}
        if caption:
            content["caption"] = caption
        return await self._user_message_update(user_id, content)

    async def document(self, user_id: int, file_name: str = "材料.pdf") -> JsonDict:
        return await self._user_message_update(
            user_id, {"document": self._new_file("doc", file_name=file_name)}
        )

    async def voice(self, user_id: int) -> JsonDict:
        return await self._user_message_update(
            user_id, {"voice": self._new_file("voice", duration=5)}
        )

    async def sticker(self, user_id: int) -> JsonDict:
        sticker = self._new_file(
            "sticker", type="regular", width=512, height=512, is_animated=False, is_video=False
        )
        return await self._user_message_update(user_id, {"sticker": sticker})

    async def location(self, user_id: int, latitude: float, longitude: float) -> JsonDict:
        return await self._user_message_update(
            user_id, {"location": {"latitude": latitude, "longitude": longitude}}
        )

    async def contact(self, user_id: int, phone_number: str) -> JsonDict:
        contact = {"phone_number": phone_number, "first_name": "张三", "user_id": user_id}
        return await self._user_message_update(user_id, {"contact": contact})

    async def inject_fault(
        self,
        method: str,
        times: int = 1,
        error_code: int = 429,
        retry_after: float | None = None,
        description: str | None = None,
        hang: bool = False,
    ) -> JsonDict:
        if error_code == 429 and retry_after is None:
            retry_after = 1
        text = description or {
            429: "Too Many Requests: retry after",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request",
            500: "Internal Server Error",
        }.get(error_code, "error")
        for _ in range(times):
            self.state.faults[method].append(_Fault(error_code, text, retry_after, hang))
        return {"ok": True}

    async def reset(self) -> JsonDict:
        self.state = StubState()
        return {"ok": True}

    # -- reading what the bot did -----------------------------------------------------------------
    def sent(self, chat_id: int) -> list[JsonDict]:
        """Messages the bot has in a chat now (edits applied), oldest first."""
        messages = sorted(self.state.messages.get(chat_id, {}).values(), key=lambda m: m["_seq"])
        return [{k: v for k, v in m.items() if not k.startswith("_")} for m in messages]

    def texts(self, chat_id: int) -> list[str]:
        return [m.get("text") or m.get("caption") or "" for m in self.sent(chat_id)]

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str = "",
        after: int = 0,
        timeout: float = 10,  # noqa: ASYNC109 (also a side-door JSON field)
    ) -> JsonDict:
        """The first bot message (sent or edited after call number ``after``) with the text."""
        deadline = asyncio.get_running_loop().time() + timeout
        async with self._changed:
            while True:
                for message in sorted(
                    self.state.messages.get(chat_id, {}).values(), key=lambda m: m["_seq"]
                ):
                    text = message.get("text") or message.get("caption") or ""
                    if message["_seq"] > after and contains in text:
                        return {k: v for k, v in message.items() if not k.startswith("_")} | {
                            "seq": message["_seq"]
                        }
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise TimeoutError(
                        f"the bot sent nothing containing {contains!r} to {chat_id}; "
                        f"it has: {self.texts(chat_id)[-3:]}"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    @property
    def seq(self) -> int:
        """The sequence number of the last change (pass as ``after`` to wait for a newer one)."""
        return max(
            (m["_seq"] for chat in self.state.messages.values() for m in chat.values()), default=0
        )

    # -- Bot API ----------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> JsonDict:
        params: JsonDict = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = {"_upload": value.filename or "file"}
                else:
                    params[key] = value
        for key in list(params):
            value = params[key]
            if key in _JSON_FIELDS and isinstance(value, str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
            elif key in _INT_FIELDS and isinstance(value, str):
                with contextlib.suppress(ValueError):
                    params[key] = int(value)
            elif key in {"timeout", "latitude", "longitude"} and isinstance(value, str):
                params[key] = float(value)
            elif isinstance(value, str) and value in {"true", "false"}:
                params[key] = value == "true"
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token = request.match_info["token"]
        if ":" in token and token.split(":", 1)[0].isdigit():
            self.bot_id = int(token.split(":", 1)[0])
        params = await self._params(request)
        if self.latency and method != "getUpdates":
            await asyncio.sleep(self.latency)
        if method != "getUpdates":
            self.state.calls.append({"method": method, "params": params, "time": time.time()})
        faults = self.state.faults.get(method)
        if faults:
            fault = faults.popleft()
            if fault.hang:
                await asyncio.sleep(3600)
            body: JsonDict = {
                "ok": False,
                "error_code": fault.error_code,
                "description": fault.description,
            }
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            return web.json_response(body, status=fault.error_code)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                status=404,
            )
        try:
            result = await handler(params)
        except _ApiError as exc:
            return web.json_response(
                {"ok": False, "error_code": exc.code, "description": exc.description},
                status=exc.code,
            )
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=b"stub file content " + request.match_info["path"].encode())

    async def api_getMe(self, params: JsonDict) -> JsonDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def api_getUpdates(self, params: JsonDict) -> list[JsonDict]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = asyncio.get_running_loop().time() + timeout
        async with self._changed:
            if offset:
                self.state.updates = [u for u in self.state.updates if u["update_id"] >= offset]
            while not self.state.updates:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    return []
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
            return self.state.updates[:limit]

    async def api_deleteWebhook(self, params: JsonDict) -> bool:
        self.state.webhook_url = ""
        return True

    async def api_setWebhook(self, params: JsonDict) -> bool:
        self.state.webhook_url = str(params.get("url") or "")
        self.state.webhook_secret = str(params.get("secret_token") or "")
        return True

    async def api_getWebhookInfo(self, params: JsonDict) -> JsonDict:
        pending = sum(queue.qsize() for queue in self._webhook_queues.values())
        return {
            "url": self.state.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }

    # -- webhook delivery -------------------------------------------------------------------------
    def _post_to_webhook(self, update: JsonDict, payload: JsonDict) -> None:
        chat = (payload.get("chat") or (payload.get("message") or {}).get("chat") or {}).get("id")
        key = int(chat if chat is not None else (payload.get("from") or {}).get("id", 0))
        queue = self._webhook_queues.get(key)
        if queue is None:
            queue = self._webhook_queues[key] = asyncio.Queue()
            task = asyncio.create_task(self._deliver_webhook(queue), name=f"webhook-{key}")
            self._webhook_tasks.add(task)
            task.add_done_callback(self._webhook_tasks.discard)
        queue.put_nowait(update)

    async def _deliver_webhook(self, queue: asyncio.Queue[JsonDict]) -> None:
        """One chat's updates, in order; each is posted again until it gets a 2xx answer."""
        import aiohttp

        async with aiohttp.ClientSession() as http:
            while True:
                update = await queue.get()
                delay = 0.25
                while True:
                    started = time.time()
                    headers = {}
                    if self.state.webhook_secret:
                        headers["X-Telegram-Bot-Api-Secret-Token"] = self.state.webhook_secret
                    try:
                        async with http.post(
                            self.state.webhook_url,
                            json=update,
                            headers=headers,
                            timeout=aiohttp.ClientTimeout(total=60),
                        ) as response:
                            outcome: Any = response.status
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        outcome = type(exc).__name__
                    self.state.webhook_deliveries.append(
                        {
                            "update_id": update["update_id"],
                            "outcome": outcome,
                            "time": time.time(),
                            "seconds": time.time() - started,
                        }
                    )
                    if isinstance(outcome, int) and 200 <= outcome < 300:
                        break
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 4.0)

    async def api_setMyCommands(self, params: JsonDict) -> bool:
        self.state.commands.append(params)
        return True

    async def api_getMyCommands(self, params: JsonDict) -> list[JsonDict]:
        return list(self.state.commands[-1]["commands"]) if self.state.commands else []

    async def api_deleteMyCommands(self, params: JsonDict) -> bool:
        return True

    async def api_setChatMenuButton(self, params: JsonDict) -> bool:
        return True

    async def api_sendChatAction(self, params: JsonDict) -> bool:
        return True

    async def api_answerCallbackQuery(self, params: JsonDict) -> bool:
        self.state.callback_answers.append(params)
        return True

    def _chat_id(self, params: JsonDict) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise _ApiError(400, "Bad Request: chat not found")
        return chat_id

    async def _store(self, chat_id: int, message: JsonDict, markup: Any) -> JsonDict:
        seq = next(self._seq)
        stored = {**message, "_seq": seq}
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            stored["reply_markup"] = markup
        else:
            stored.pop("reply_markup", None)
        if isinstance(markup, dict) and ("keyboard" in markup or markup.get("remove_keyboard")):
            self.state.reply_keyboards[chat_id] = (
                {**markup, "_seq": seq} if "keyboard" in markup else None
            )
        async with self._changed:
            self.state.messages[chat_id][message["message_id"]] = stored
            self._changed.notify_all()
        return {k: v for k, v in stored.items() if not k.startswith("_")}

    async def _send(self, params: JsonDict, content: JsonDict) -> JsonDict:
        chat_id = self._chat_id(params)
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            **content,
        }
        return await self._store(chat_id, message, params.get("reply_markup"))

    async def api_sendMessage(self, params: JsonDict) -> JsonDict:
        text = str(params.get("text") or "")
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return await self._send(params, {"text": text})

    def _file_param(self, value: Any, prefix: str, **extra: Any) -> JsonDict:
        if isinstance(value, str) and value in self.state.files:
            known = self.state.files[value]
            return {k: v for k, v in known.items() if k != "file_path"}
        return self._new_file(prefix, **extra)

    async def api_sendPhoto(self, params: JsonDict) -> JsonDict:
        content: JsonDict = {
            "photo": [self._file_param(params.get("photo"), "sent-photo", width=1, height=1)]
        }
        if params.get("caption"):
            content["caption"] = params["caption"]
        return await self._send(params, content)

    async def api_sendDocument(self, params: JsonDict) -> JsonDict:
        content: JsonDict = {"document": self._file_param(params.get("document"), "sent-doc")}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return await self._send(params, content)

    async def api_sendLocation(self, params: JsonDict) -> JsonDict:
        location = {"latitude": params.get("latitude"), "longitude": params.get("longitude")}
        return await self._send(params, {"location": location})

    async def api_sendMediaGroup(self, params: JsonDict) -> list[JsonDict]:
        results = []
        for item in params.get("media") or []:
            content: JsonDict = {}
            if item.get("type") == "document":
                content["document"] = self._file_param(item.get("media"), "sent-doc")
            else:
                content["photo"] = [
                    self._file_param(item.get("media"), "sent-photo", width=1, height=1)
                ]
            if item.get("caption"):
                content["caption"] = item["caption"]
            results.append(await self._send({**params, "reply_markup": None}, content))
        return results

    async def api_copyMessage(self, params: JsonDict) -> JsonDict:
        sent = await self._send(params, {"text": "(copy)"})
        return {"message_id": sent["message_id"]}

    async def api_forwardMessage(self, params: JsonDict) -> JsonDict:
        return await self._send(params, {"text": "(forwarded)"})

    def _existing(self, params: JsonDict) -> tuple[int, JsonDict]:
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        message = self.state.messages.get(chat_id, {}).get(message_id)  # type: ignore[arg-type]
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return chat_id, message

    async def api_editMessageText(self, params: JsonDict) -> JsonDict:
        chat_id, message = self._existing(params)
        text = str(params.get("text") or "")
        markup = params.get("reply_markup")
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise _ApiError(400, "Bad Request: message is not modified")
        edited = {**message, "text": text, "edit_date": int(time.time())}
        return await self._store(chat_id, edited, markup)

    async def api_editMessageCaption(self, params: JsonDict) -> JsonDict:
        chat_id, message = self._existing(params)
        edited = {**message, "caption": params.get("caption"), "edit_date": int(time.time())}
        return await self._store(chat_id, edited, params.get("reply_markup"))

    async def api_editMessageReplyMarkup(self, params: JsonDict) -> JsonDict:
        chat_id, message = self._existing(params)
        markup = params.get("reply_markup")
        if markup == message.get("reply_markup"):
            raise _ApiError(400, "Bad Request: message is not modified")
        edited = {**message, "edit_date": int(time.time())}
        return await self._store(chat_id, edited, markup)

    async def api_deleteMessage(self, params: JsonDict) -> bool:
        chat_id, message = self._existing(params)
        self.state.messages[chat_id].pop(message["message_id"], None)
        return True

    async def api_pinChatMessage(self, params: JsonDict) -> bool:
        return True

    async def api_getChat(self, params: JsonDict) -> JsonDict:
        return {
            **self._chat(self._chat_id(params)),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }

    async def api_getFile(self, params: JsonDict) -> JsonDict:
        file_id = str(params.get("file_id"))
        known = self.state.files.get(file_id)
        if known is None:
            known = {
                "file_id": file_id,
                "file_unique_id": file_id[:32],
                "file_path": f"x/{file_id}",
            }
        return known

    async def api_close(self, params: JsonDict) -> bool:
        return True

    async def api_logOut(self, params: JsonDict) -> bool:
        return True

    # -- side door over HTTP ----------------------------------------------------------------------
    def _door(self, action: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            body = await request.json() if request.can_read_body else {}
            try:
                result = await action(**body)
            except LookupError as exc:
                return web.json_response({"ok": False, "error": str(exc)}, status=404)
            except TimeoutError as exc:
                return web.json_response({"ok": False, "error": str(exc)}, status=408)
            except TypeError as exc:
                return web.json_response({"ok": False, "error": str(exc)}, status=400)
            return web.json_response(result)

        return handler

    async def _sent(self, request: web.Request) -> web.Response:
        chat_id = int(request.query["chat_id"])
        return web.json_response(
            {
                "messages": self.sent(chat_id),
                "reply_keyboard": self.state.reply_keyboards.get(chat_id),
                "callback_answers": self.state.callback_answers,
            }
        )

    async def _calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        calls = [c for c in self.state.calls if method is None or c["method"] == method]
        return web.json_response(calls)


class _ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


async def _serve(host: str, port: int) -> None:
    stub = TelegramStub()
    url = await stub.start(host, port)
    print(f"Telegram Bot API stub on {url} (TELEGRAM_API_URL={url})", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await stub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Telegram Bot API stand-in for tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
