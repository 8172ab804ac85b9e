"""The residents' mobile web page (/r, /t, /ask): glue between the forms and the services.

Residents have no account: a report creates a ``Person`` without a Telegram id, and the private
tracking link carries a signed (case, person) pair, so the tracking page sees the case exactly as
that reporter (or follower) would in the bot. Photos are re-encoded with Pillow (EXIF, including
the location, dropped unless the resident shares it) and kept under ``settings.upload_dir``.
"""

from __future__ import annotations

import io
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import col, select

from backend.config import Settings
from backend.county import County
from backend.models import Attachment, Case, CaseEvent, Person, Role
from backend.models.base import utcnow
from backend.services import intake
from backend.services.errors import NotFound, ValidationFailed
from backend.services.legal import normalize_phone

TRACK_MAX_AGE = 3 * 365 * 24 * 3600  # a tracking link works for three years
DRAFT_MAX_AGE = 2 * 3600  # the review step must be confirmed within two hours
MAX_DRAFT_TOKEN = 64_000  # 5,000 characters of any Chinese text sign to about 15,000
MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTO_SIDE = 2048
MAX_PHOTO_PIXELS = 40_000_000  # larger pictures are refused before they are decoded
PHOTO_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP"})
BAD_LINK = "查询链接无效，请核对链接或用事项编号和手机号查询。"
WEB_FILE_PREFIX = "web:"  # Attachment.telegram_file_id of a file stored by the web page
# Timeline entries a resident may see: what happened, never who or the internal notes.
PUBLIC_ACTIONS = frozenset(
    {
        "submit",
        "dispatch",
        "accept",
        "transfer",
        "approve_return",
        "overrule_return",
        "approve_joint",
        "decide_extension",
        "resolve",
        "rate",
        "close",
        "grid_resolved",
    }
)


def safety_alert(text: str) -> bool:
    """Red risk: the page shows 110/120/12356 at once. The one place the web asks for it."""
    import classifier

    return classifier.assess_risk(text[:2000]).level == "red"


_MATCHED = re.compile(r"^matched (.+?) →")


def plain_reason(preview: intake.RoutingPreview, county: County, lang: str = "zh") -> str:
    """Why this unit, in one plain sentence built from the classifier's reasons."""
    words: list[str] = []
    for reason in preview.reasons:
        found = _MATCHED.match(reason)
        if found:
            words += [w for w in re.split(r"[,，、\s]+", found.group(1)) if w]
    if lang == "en":
        category_en = county.category_name(preview.category, "en")
        if preview.needs_triage:
            return f"The county center assigns it to a unit (it looks like: {category_en})."
        said = ", ".join(dict.fromkeys(words[:3]))
        unit = county.department_name(preview.unit_code, "en")
        because = f"You mentioned {said}: " if said else ""
        return f"{because}this is “{category_en}”, handled by {unit}."
    category = preview.category_name or "其他事项"
    if preview.needs_triage:
        return f"暂时不能确定由哪个单位办理，由县综治中心人工分拨（初步判断为“{category}”）。"
    said = "、".join(f"“{w}”" for w in dict.fromkeys(words[:3]))
    start = f"您提到了{said}，" if said else "根据您描述的内容，"
    return f"{start}这类事项属于“{category}”，由{preview.department_name}负责办理。"


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.web_secret_key.get_secret_value(), salt=salt)


def tracking_token(settings: Settings, *, case_id: int, person_id: int) -> str:
    """An unguessable private link for one reporter's view of one case (signed, not stored)."""
    return _serializer(settings, "zongzhitong.track").dumps({"c": case_id, "p": person_id})


@dataclass(frozen=True)
class TrackKey:
    case_id: int
    person_id: int


def read_tracking_token(settings: Settings, token: str) -> TrackKey:
    try:
        data = _serializer(settings, "zongzhitong.track").loads(token[:200], max_age=TRACK_MAX_AGE)
    except SignatureExpired as exc:
        raise NotFound(
            "这个查询链接已过期，请用事项编号和手机号查询。", code="track_expired"
        ) from exc
    except BadSignature as exc:
        raise NotFound(BAD_LINK, code="track_bad") from exc
    return TrackKey(case_id=int(data["c"]), person_id=int(data["p"]))


def draft_token(settings: Settings, draft: dict[str, Any]) -> str:
    """The first step's answers, signed into the review form (no server-side session)."""
    return _serializer(settings, "zongzhitong.draft").dumps(draft)


def read_draft_token(settings: Settings, token: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = _serializer(settings, "zongzhitong.draft").loads(
            token[:MAX_DRAFT_TOKEN], max_age=DRAFT_MAX_AGE
        )
    except SignatureExpired as exc:
        raise ValidationFailed("填写时间过长，请重新填写。", code="draft_expired") from exc
    except BadSignature as exc:
        raise ValidationFailed("表单已失效，请重新填写。", code="draft_bad") from exc
    return data


def question_token(settings: Settings, log_id: int) -> str:
    """Signs a logged legal question's id for its 有帮助/没帮助 buttons (ids are never trusted)."""
    return _serializer(settings, "zongzhitong.ask").dumps(log_id)


def read_question_token(settings: Settings, token: str) -> int:
    try:
        return int(_serializer(settings, "zongzhitong.ask").loads(token[:200], max_age=86400))
    except BadSignature as exc:
        raise ValidationFailed("页面已过期，请重新提问。", code="ask_token_bad") from exc


def clean_phone(raw: str | None) -> str | None:
    """A contact number, normalised; ValidationFailed when something was typed but is no number."""
    if not (raw or "").strip():
        return None
    phone = normalize_phone(raw or "")
    if phone is None:
        raise ValidationFailed("手机号格式不对，请重新输入。", code="phone_invalid")
    return phone


# --- photos ---------------------------------------------------------------------------------


def reencode_photo(data: bytes, *, keep_exif: bool) -> bytes:
    """A JPEG of the picture (turned upright, at most 2048 px); EXIF kept only when asked."""
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationFailed("照片太大了（每张不超过 8 MB）。", code="photo_too_big")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in PHOTO_FORMATS:
                raise ValidationFailed("只能上传照片（JPG、PNG 等图片）。", code="photo_type")
            if probe.size[0] * probe.size[1] > MAX_PHOTO_PIXELS:
                raise ValidationFailed("照片太大了（每张不超过 8 MB）。", code="photo_too_big")
            probe.verify()
        opened = Image.open(io.BytesIO(data))
        exif = opened.info.get("exif") if keep_exif else None
        image = (ImageOps.exif_transpose(opened) or opened).convert("RGB")
        image.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE))
        out = io.BytesIO()
        if exif:
            image.save(out, "JPEG", quality=85, optimize=True, exif=exif)
        else:
            image.save(out, "JPEG", quality=85, optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationFailed("只能上传照片（JPG、PNG 等图片）。", code="photo_type") from exc
    return out.getvalue()


def store_pending_photos(upload_dir: Path, photos: list[bytes]) -> str | None:
    """Keep re-encoded photos until the report is confirmed; returns the batch id."""
    if not photos:
        return None
    _drop_stale_batches(upload_dir / "pending")
    batch = secrets.token_hex(12)
    folder = upload_dir / "pending" / batch
    folder.mkdir(parents=True, exist_ok=True)
    for number, photo in enumerate(photos[:MAX_PHOTOS], start=1):
        (folder / f"{number}.jpg").write_bytes(photo)
    return batch


def _drop_stale_batches(pending: Path) -> None:
    """Photos of reports never confirmed are deleted once their draft has expired."""
    if not pending.is_dir():
        return
    cutoff = time.time() - DRAFT_MAX_AGE - 60
    for folder in pending.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def claim_pending_photos(upload_dir: Path, batch: str | None, case_code: str) -> list[str]:
    """Move a batch to the case's folder; returns the stored names (``<code>/<n>.jpg``)."""
    if not batch or not batch.isalnum():
        return []
    source = upload_dir / "pending" / batch
    if not source.is_dir():
        return []
    target = upload_dir / case_code
    target.mkdir(parents=True, exist_ok=True)
    names = []
    for path in sorted(source.glob("*.jpg")):
        shutil.move(str(path), target / path.name)
        names.append(f"{case_code}/{path.name}")
    shutil.rmtree(source, ignore_errors=True)
    return names


def photo_path(upload_dir: Path, attachment: Attachment) -> Path | None:
    """Where a web-stored attachment lives on disk (None for a Telegram file or a bad name)."""
    if not attachment.telegram_file_id.startswith(WEB_FILE_PREFIX):
        return None
    name = attachment.telegram_file_id.removeprefix(WEB_FILE_PREFIX)
    root = upload_dir.resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


# --- reporting and tracking -------------------------------------------------------------------


async def web_person(*, session: Any, phone: str | None, lang: str) -> Person:
    """A resident without Telegram: one Person per web report or follow."""
    person = Person(role=Role.resident, phone=phone, language=lang)
    session.add(person)
    await session.commit()
    await session.refresh(person)
    return person


async def submit_web_report(
    *, session: Any, upload_dir: Path, draft: dict[str, Any], category: str | None, lang: str
) -> tuple[Case, Person]:
    """The confirmed report → intake.submit_report (channel ``web``), photos moved to the case."""
    anonymous = bool(draft.get("anonymous"))
    phone = None if anonymous else draft.get("phone")
    reporter = await web_person(session=session, phone=phone, lang=lang)
    report = intake.ReportDraft(
        text=draft["text"],
        township=draft.get("township"),
        village=draft.get("village"),
        address=draft.get("address"),
        latitude=draft.get("lat"),
        longitude=draft.get("lon"),
        anonymous=anonymous,
        contact_phone=phone,
        phone_visible=phone is not None,
        category_override=category or None,
        channel="web",
    )
    case = await intake.submit_report(session=session, reporter=reporter, draft=report)
    assert case.id is not None
    names = claim_pending_photos(upload_dir, draft.get("photos"), case.code)
    for name in names:
        session.add(
            Attachment(
                case_id=case.id,
                kind="photo",
                purpose="report",
                telegram_file_id=f"{WEB_FILE_PREFIX}{name}",
                file_name=Path(name).name,
                uploaded_by_id=reporter.id,
            )
        )
    if names:
        await session.commit()
    return case, reporter


async def find_submitted(*, session: Any, draft: dict[str, Any]) -> tuple[Case, Person] | None:
    """The case an earlier submission of this very draft created (a double click), if any."""
    since = utcnow() - timedelta(seconds=DRAFT_MAX_AGE)
    query = (
        select(Case)
        .where(Case.channel == "web", Case.text == draft["text"], col(Case.created_at) >= since)
        .order_by(col(Case.id).desc())
    )
    phone = None if draft.get("anonymous") else draft.get("phone")
    for case in (await session.exec(query.limit(20))).all():
        if case.contact_phone == phone and case.anonymous == bool(draft.get("anonymous")):
            reporter = await session.get(Person, case.reporter_id) if case.reporter_id else None
            if reporter is not None:
                return case, reporter
    return None


async def lookup_by_phone(*, session: Any, code: str, phone: str) -> tuple[Case, Person]:
    """Case code + the phone the resident gave → the case and its reporter (else NotFound)."""
    wanted = normalize_phone(phone)
    case = (await session.exec(select(Case).where(Case.code == code.strip().upper()))).first()
    if case is None or wanted is None or case.reporter_id is None:
        raise NotFound("编号或手机号不对，请核对后再试。", code="track_lookup")
    reporter = await session.get(Person, case.reporter_id)
    given = normalize_phone(case.contact_phone or "") if case.contact_phone else None
    if reporter is None or given != wanted:
        raise NotFound("编号或手机号不对，请核对后再试。", code="track_lookup")
    return case, reporter


@dataclass(frozen=True)
class TimelineEntry:
    action: str
    at: datetime
    to_status: str | None


async def public_timeline(*, session: Any, case_id: int) -> list[TimelineEntry]:
    """What happened to a case, for the resident: actions and times only."""
    rows = await session.exec(
        select(CaseEvent)
        .where(CaseEvent.case_id == case_id)
        .where(col(CaseEvent.action).in_(PUBLIC_ACTIONS))
        .order_by(col(CaseEvent.created_at), col(CaseEvent.id))
    )
    return [TimelineEntry(e.action, e.created_at, e.to_status) for e in rows.all()]
