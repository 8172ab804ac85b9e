"""Abuse guards for the residents' web page: rate limits, a proof-of-work challenge, CSRF.

Counters live in Redis when ``REDIS_URL`` is set (shared by every web worker), in memory
otherwise, through the ``limits`` library. Past the soft limit a request must carry a solved
proof-of-work challenge (a few hundred milliseconds of hashing in the browser); past the hard
limit it is refused outright until the window ends.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from backend.config import Settings

POW_BITS = 16  # leading zero bits of sha256(challenge + answer): ~65,000 tries
POW_MAX_AGE = 600
HARD_FACTOR = 3  # hard limit = soft limit x 3 (with challenges solved)

# What each kind of request may do from one IP address or one phone number.
LIMITS: dict[str, str] = {
    "report_ip": "10/hour",
    "report_phone": "5/day",
    "submit_ip": "10/hour",
    "lookup_ip": "20/hour",
    "lookup_phone": "10/hour",
    "ask_ip": "60/hour",
    "rate_ip": "30/hour",
}


class Verdict(StrEnum):
    ok = "ok"
    challenge = "challenge"
    refused = "refused"


@dataclass(frozen=True)
class Limits:
    soft: RateLimitItem
    hard: RateLimitItem


def _limits(kind: str) -> Limits:
    soft = parse(LIMITS[kind])
    hard = type(soft)(soft.amount * HARD_FACTOR, soft.multiples, soft.namespace)
    return Limits(soft, hard)


class Guard:
    """One per web app: rate limits, proof-of-work challenges and the residents' CSRF tokens."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        if storage is None and settings.redis_url:
            uri = "async+" + settings.redis_url
            storage = RedisStorage(uri, implementation="redispy", key_prefix="zzt-web")
        self.storage: Storage = storage or MemoryStorage()
        self.limiter = FixedWindowRateLimiter(self.storage)
        self._secret = settings.web_secret_key.get_secret_value().encode()
        self._pow = URLSafeTimedSerializer(self._secret.decode(), salt="zongzhitong.pow")

    async def check(self, checks: list[tuple[str, str | None]], *, solved: bool) -> Verdict:
        """One request, counted against each (kind, key) — an IP or a phone; a None key counts
        nothing. Refused past any hard limit; challenged (and not counted) past a soft limit
        unless ``solved``."""
        keyed = [
            (kind, _limits(kind), hashlib.sha256(self._secret + key.encode()).hexdigest()[:24])
            for kind, key in checks
            if key
        ]
        for kind, limits, digest in keyed:
            if not await self.limiter.test(limits.hard, kind, digest):
                return Verdict.refused
        within = [await self.limiter.test(limits.soft, kind, d) for kind, limits, d in keyed]
        if not all(within) and not solved:
            return Verdict.challenge
        for (kind, limits, digest), soft_ok in zip(keyed, within, strict=True):
            if soft_ok:
                await self.limiter.hit(limits.soft, kind, digest)
            await self.limiter.hit(limits.hard, kind, digest)
        return Verdict.ok

    async def first_use(self, key: str, seconds: int) -> bool:
        """True the first time ``key`` is seen within ``seconds`` (a draft submitted twice)."""
        return await self.storage.incr(f"once/{key}", seconds) == 1

    async def reset(self) -> None:
        await self.storage.reset()

    # --- proof of work ---

    def new_challenge(self) -> str:
        return self._pow.dumps(secrets.token_hex(8))

    async def solved(self, challenge: str | None, answer: str | None) -> bool:
        """Whether ``answer`` solves a fresh challenge issued by this server (each used once)."""
        if not challenge or not answer or len(answer) > 32:
            return False
        try:
            nonce = self._pow.loads(challenge[:200], max_age=POW_MAX_AGE)
        except BadSignature:
            return False
        if not pow_ok(challenge, answer):
            return False
        uses = await self.storage.incr(f"pow/{nonce}", POW_MAX_AGE)
        return uses == 1

    # --- CSRF for people without an account (double submit, keyed) ---

    def csrf_for(self, browser_id: str) -> str:
        return hmac.new(self._secret, b"csrf:" + browser_id.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, browser_id: str | None, submitted: str | None) -> bool:
        if not browser_id or not submitted:
            return False
        return hmac.compare_digest(self.csrf_for(browser_id), submitted)


def pow_ok(challenge: str, answer: str) -> bool:
    digest = hashlib.sha256(f"{challenge}:{answer}".encode()).digest()
    value = int.from_bytes(digest[:4], "big")
    return value >> (32 - POW_BITS) == 0


def solve_pow(challenge: str) -> str:
    """What the browser's script does (tests and scripts use it)."""
    answer = 0
    while not pow_ok(challenge, str(answer)):
        answer += 1
    return str(answer)
