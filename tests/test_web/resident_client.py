"""Helpers for the residents' web page tests: a client with its own upload folder, photos."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.config import Settings
from backend.web import create_app
from tests.test_web.conftest import World

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
DRAFT_RE = re.compile(r'name="draft" value="([^"]+)"')
STREETLIGHT = "村口的路灯坏了一个月了，晚上很黑，老人走路摔了好几次"


def resident_settings(world: World, upload_dir: Path, **extra: Any) -> Settings:
    return world.settings.model_copy(update={"upload_dir": upload_dir, **extra})


@asynccontextmanager
async def resident_client(
    settings: Settings, engine: AsyncEngine, *, ip: str = "10.0.0.1"
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine=engine)
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", follow_redirects=False
    ) as client:
        yield client


def photo_bytes(
    fmt: str = "JPEG", *, exif_gps: bool = False, size: tuple[int, int] = (64, 48)
) -> bytes:
    image = Image.new("RGB", size, "orange")
    out = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x8825] = {1: "N", 2: (25.0, 20.0, 0.0), 3: "E", 4: (100.0, 29.0, 0.0)}  # GPS
        image.save(out, fmt, exif=exif)
    else:
        image.save(out, fmt)
    return out.getvalue()


async def csrf(client: httpx.AsyncClient, path: str = "/r") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    match = CSRF_RE.search(page.text)
    assert match
    return match.group(1)


async def review(
    client: httpx.AsyncClient,
    token: str,
    *,
    text: str = STREETLIGHT,
    photos: list[tuple[str, bytes, str]] | None = None,
    **fields: str,
) -> httpx.Response:
    data = {"csrf_token": token, "text": text, **fields}
    files = [("photos", p) for p in photos or []]
    return await client.post("/r", data=data, files=files or None)


async def report(
    client: httpx.AsyncClient, *, text: str = STREETLIGHT, **fields: Any
) -> httpx.Response:
    """Fill in, review and submit: the final response (a redirect to the tracking page)."""
    token = await csrf(client)
    page = await review(client, token, text=text, **fields)
    assert page.status_code == 200, page.text[:500]
    draft = DRAFT_RE.search(page.text)
    assert draft
    return await client.post("/r/submit", data={"csrf_token": token, "draft": draft.group(1)})
