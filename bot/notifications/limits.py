"""Telegram's send limits as token buckets: ≈30 messages/s per bot, 20/min per group, 1/s per chat.

The notifier asks :class:`SendLimiter` how long a send to a chat must wait; it never sleeps while
holding a database lease for longer than it can afford, so slow chats do not stall fast ones.
The buckets are per process: when several notifiers run, give each a share of the bot-wide rate
(``NotifierConfig.bot_rate``); Telegram's 429 ``retry_after`` is honoured in any case.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` stored; starts full."""

    rate: float
    capacity: float
    clock: Clock = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.updated = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def delay(self) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self._refill()
        if self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / self.rate

    def take(self) -> None:
        """Spend one token (may go negative: the debt is paid by later waits)."""
        self._refill()
        self.tokens -= 1

    def penalise(self, seconds: float) -> None:
        """After a 429: no tokens for ``seconds``."""
        self._refill()
        self.tokens = min(self.tokens, 0.0) - seconds * self.rate


@dataclass(frozen=True)
class Limits:
    bot_rate: float = 30.0  # messages per second, whole bot
    chat_rate: float = 1.0  # per chat per second
    group_per_minute: float = 20.0  # per group chat per minute
    group_burst: float = 3.0  # of which at most this many back to back

    @classmethod
    def unlimited(cls) -> Limits:
        return cls(bot_rate=1e9, chat_rate=1e9, group_per_minute=1e12, group_burst=1e9)


def is_group_chat(chat_id: int) -> bool:
    """Groups and supergroups have negative ids in the Bot API."""
    return chat_id < 0


class SendLimiter:
    """Per-bot, per-chat and per-group buckets; idle chat buckets are forgotten."""

    def __init__(self, limits: Limits | None = None, *, clock: Clock = time.monotonic) -> None:
        self.limits = limits or Limits()
        self.clock = clock
        self.bot = TokenBucket(self.limits.bot_rate, max(1.0, self.limits.bot_rate), clock)
        # A process that has just taken over delivery (bot.notifications.leader) may follow a
        # leader that spent its burst a moment ago: start the bot-wide bucket empty, so the two
        # together stay within the rate. The first message waits 1/bot_rate seconds at most.
        self.bot.tokens = 0.0
        self._chat: dict[int, TokenBucket] = {}
        self._group: dict[int, TokenBucket] = {}

    def _buckets(self, chat_id: int) -> list[TokenBucket]:
        chat = self._chat.get(chat_id)
        if chat is None:
            chat = self._chat[chat_id] = TokenBucket(self.limits.chat_rate, 1.0, self.clock)
        buckets = [self.bot, chat]
        if is_group_chat(chat_id):
            group = self._group.get(chat_id)
            if group is None:
                # burst + rate * 60 s never exceeds the per-minute limit in any 60 s window
                burst = min(self.limits.group_burst, self.limits.group_per_minute)
                rate = max(self.limits.group_per_minute - burst, 1.0) / 60.0
                group = self._group[chat_id] = TokenBucket(rate, burst, self.clock)
            buckets.append(group)
        return buckets

    def room(self, chat_id: int, horizon: float = 0.0) -> int:
        """How many messages this chat can take within ``horizon`` seconds (bot-wide ignored)."""
        buckets = self._buckets(chat_id)[1:]
        for bucket in buckets:
            bucket.delay()  # refill
        return max(0, int(min(b.tokens + horizon * b.rate for b in buckets)))

    def chat_delay(self, chat_id: int) -> float:
        """How long this chat must wait, ignoring the bot-wide bucket."""
        return max(bucket.delay() for bucket in self._buckets(chat_id)[1:])

    def delay(self, chat_id: int) -> float:
        return max(bucket.delay() for bucket in self._buckets(chat_id))

    def take(self, chat_id: int) -> None:
        for bucket in self._buckets(chat_id):
            bucket.take()

    def penalise(self, chat_id: int, seconds: float, *, whole_bot: bool = False) -> None:
        for bucket in self._buckets(chat_id)[0 if whole_bot else 1 :]:
            bucket.penalise(seconds)

    def forget_idle(self) -> None:
        """Drop buckets that are full again (keeps memory bounded over days)."""
        for table in (self._chat, self._group):
            for chat_id in [
                c for c, b in table.items() if b.delay() == 0 and b.tokens >= b.capacity
            ]:
                del table[chat_id]
