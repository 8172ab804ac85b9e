"""Benchmark (not a test): the residents' report page.

    python bench/bench_web_report.py                  # SQLite file in a temp folder
    python bench/bench_web_report.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_web_report

Prints the page weight of /r (HTML + CSS + JS, the bytes a phone downloads on its first visit,
uncompressed and gzip-compressed as nginx would send them), then submits N reports with one
photo (a 1600x1200 JPEG of about 0.5 MB) in-process through the ASGI app (httpx): the three
requests a resident makes (GET /r, POST /r with the photo, POST /r/submit), and prints the median
and p95 of that whole submission. The database given is wiped first.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from PIL import Image
from sqlmodel import SQLModel

import backend.models  # noqa: F401
from backend.config import Settings
from backend.county import load_county
from backend.db import create_engine, create_session_factory
from backend.services import directory
from backend.web import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
DRAFT = re.compile(r'name="draft" value="([^"]+)"')
ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')
TEXTS = [
    "村口的路灯坏了一个月了，晚上很黑，老人走路摔了好几次",
    "村里有几个人天天晚上聚众赌博，吵得睡不着",
    "隔壁养猪场的污水直接排到河里，臭得很",
    "老板拖欠我们工钱三个月了，一直不给",
]


def photo() -> bytes:
    image = Image.effect_noise((1600, 1200), 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


async def main(database_url: str | None, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp())
    url = database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
        await conn.run_sync(SQLModel.metadata.create_all)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        web_secret_key="bench",  # type: ignore[arg-type]
        upload_dir=folder / "uploads",
    )
    async with create_session_factory(engine)() as session:
        await directory.sync_units(session=session, county=load_county(settings.county_data))
    app = create_app(settings, engine=engine)
    picture = photo()
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        page = await client.get("/r")
        parts = {"/r": page.content}
        for asset in ASSET.findall(page.text):
            parts[asset] = (await client.get(asset)).content
        raw = sum(len(b) for b in parts.values())
        packed = sum(len(gzip.compress(b)) for b in parts.values())
        detail = ", ".join(f"{name} {len(b) / 1024:.1f}" for name, b in parts.items())
        print(f"page weight /r: {raw / 1024:.1f} KB ({packed / 1024:.1f} KB gzip) — {detail}")

        timings = []
        for number in range(rounds + 3):
            # every submission from its own address, as residents are (no rate limit hit)
            client.headers["x-forwarded-for"] = f"10.1.{number // 250}.{number % 250}"
            started = time.perf_counter()
            form = await client.get("/r")
            token = CSRF.search(form.text)
            assert token
            review = await client.post(
                "/r",
                data={
                    "csrf_token": token.group(1),
                    "text": TEXTS[number % len(TEXTS)],
                    "township": "弥城镇",
                },
                files=[("photos", ("p.jpg", picture, "image/jpeg"))],
            )
            draft = DRAFT.search(review.text)
            assert draft, review.text[:300]
            done = await client.post(
                "/r/submit", data={"csrf_token": token.group(1), "draft": draft.group(1)}
            )
            assert done.status_code == 303, done.text[:300]
            if number >= 3:  # warm-up
                timings.append(time.perf_counter() - started)
    await engine.dispose()
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    print(
        f"submit a report with one photo ({len(picture) / 1024:.0f} KB), {len(timings)} rounds, "
        f"{url.split(':')[0]}: median {statistics.median(timings) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="wiped first; default: SQLite in a temp folder")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.rounds))
