"""The residents' front door on the web (/r report, /t track, /ask legal questions).

Plain HTML forms that work without JavaScript (a cheap Android browser, WeChat's built-in
browser); a small script adds the location button, the 乡镇 → 村 filter and the proof-of-work
solver. Handlers parse, call a service, render: intake, workflow and legal do the work.
"""

from __future__ import annotations

import asyncio
import functools
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from backend.models import Case, Person, RiskLevel
from backend.services import cases, intake, legal, workflow
from backend.services import resident_web as rw
from backend.services.errors import DomainError, NotFound, ValidationFailed
from backend.services.web_guard import Guard, Verdict
from backend.web.deps import SessionDep, State
from backend.web.render import RATING_LABELS, STATUS_LABELS, render
from backend.web.resident_texts import LANG_COOKIE, TEXTS, pick_language

BROWSER_COOKIE = "zzt_rb"
MAX_TEXT = 5000
MAX_FORM_BYTES = 6 * 8 * 1024 * 1024 + 256 * 1024  # six photos and the text fields


class Refusal(Exception):
    """A request the page turns down with a plain message (text key) and an HTTP status."""

    def __init__(self, key: str, status: int = 400) -> None:
        self.key = key
        self.status = status


def _guard(request: Request) -> Guard:
    guard: Guard = request.app.state.resident_guard
    return guard


def _browser_id(request: Request) -> str:
    existing = request.cookies.get(BROWSER_COOKIE, "")
    if 16 <= len(existing) <= 64 and existing.replace("-", "").replace("_", "").isalnum():
        return existing
    cached: str | None = getattr(request.state, "browser_id", None)
    if cached is None:
        cached = secrets.token_urlsafe(24)
        request.state.browser_id = cached
    return cached


def _client_ip(request: Request) -> str:
    """The resident's address: nginx's (last) X-Forwarded-For entry when nginx on this machine
    passed the request on, else the peer (a header from anyone else is not believed)."""
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded and peer in ("127.0.0.1", "::1"):
        return forwarded.split(",")[-1].strip()[:64]
    return peer


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    lang = pick_language(request)
    browser = _browser_id(request)
    texts = TEXTS[lang]
    full = {
        "t": texts,
        "lang": lang,
        "csrf": _guard(request).csrf_for(browser),
        "status_labels": STATUS_LABELS,
        "rating_labels": RATING_LABELS,
        "status_code": status,
    } | context
    response = render(request, f"resident/{name}", full | _lang_links(request), status)
    if request.cookies.get(BROWSER_COOKIE) != browser:
        response.set_cookie(BROWSER_COOKIE, browser, httponly=True, samesite="lax", max_age=86400)
    if request.query_params.get("lang") in TEXTS:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 86400)
    return response


GET_PAGES = ("/r", "/t", "/ask")


def _lang_links(request: Request) -> dict[str, str]:
    """Where the language switch goes: the same page when it can be fetched again, else /r."""
    path = request.url.path
    if request.method != "GET" and path not in GET_PAGES:
        path = "/r"
    return {"lang_path": path}


def refused(request: Request, message: str, status: int) -> Response:
    return page(request, "message.html", {"message": message}, status)


async def _form(request: Request) -> FormData:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise Refusal("err_too_big", 413)
    form = await request.form(max_files=rw.MAX_PHOTOS + 1, max_fields=50)
    if not _guard(request).csrf_valid(
        request.cookies.get(BROWSER_COOKIE), _str(form, "csrf_token")
    ):
        raise Refusal("err_csrf", 403)
    return form


def _str(form: FormData, name: str, limit: int = 256) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _float(form: FormData, name: str) -> float | None:
    try:
        value = float(_str(form, name, 32))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


async def _limit(request: Request, form: FormData, checks: list[tuple[str, str | None]]) -> None:
    """Count the request against each (kind, key); challenge or refuse past the limits."""
    guard = _guard(request)
    solved = await guard.solved(_str(form, "pow_challenge"), _str(form, "pow_answer"))
    verdict = await guard.check(checks, solved=solved)
    if verdict == Verdict.refused:
        raise Refusal("err_rate", 429)
    if verdict == Verdict.challenge:
        raise ChallengeNeeded(form)


class ChallengeNeeded(Exception):
    """Past the soft limit: the page re-posts the form once the browser solved a challenge."""

    def __init__(self, form: FormData) -> None:
        self.form = form


Endpoint = Callable[..., Awaitable[Response]]


def answers_refusals(domain_status: int = 400) -> Callable[[Endpoint], Endpoint]:
    """The one answer of every resident page to a turned-down request: a plain message page
    (Refusal: a text key; DomainError: the service's reason, with ``domain_status``), or the
    proof-of-work page past the soft limit. Nothing half-done is kept (the session rolls back)."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def answered(*args: Any, **kwargs: Any) -> Response:
            request: Request = kwargs["request"]
            try:
                return await endpoint(*args, **kwargs)
            except Refusal as exc:
                return refused(request, TEXTS[pick_language(request)][exc.key], exc.status)
            except ChallengeNeeded as exc:
                return _challenge(request, exc.form)
            except DomainError as exc:
                session = kwargs.get("session")
                if session is not None:
                    await session.rollback()
                return refused(request, exc.message, domain_status)

        return answered

    return decorate


def _challenge(request: Request, form: FormData) -> Response:
    fields = [
        (key, value)
        for key, value in form.multi_items()
        if isinstance(value, str) and key not in ("pow_challenge", "pow_answer", "csrf_token")
    ]
    has_files = request.url.path == "/r"  # the photos cannot be carried over: picked again
    return page(
        request,
        "challenge.html",
        {
            "action": request.url.path,
            "fields": fields,
            "challenge": _guard(request).new_challenge(),
            "has_files": has_files,
        },
        status=429,
    )


def _track_url(request: Request, case: Case, person: Person) -> str:
    assert case.id is not None and person.id is not None
    token = rw.tracking_token(request.app.state.web.settings, case_id=case.id, person_id=person.id)
    return f"/t/{token}"


def _categories(lang: str = "zh") -> list[tuple[str, str]]:
    try:
        import classifier

        items = classifier.categories().items()
        return [(code, c.name_en if lang == "en" else c.name_zh) for code, c in items]
    except (ImportError, AttributeError):
        return []


def create_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/r")
    async def report_form(request: Request, state: State) -> Response:
        """The report form; ``?text=`` carries a problem typed on the legal page over."""
        prefill = request.query_params.get("text", "")[:MAX_TEXT]
        return page(
            request, "report.html", {"townships": state.county.townships, "prefill": prefill}
        )

    @router.post("/r")
    @answers_refusals()
    async def report_review(request: Request, state: State, session: SessionDep) -> Response:
        """Step 1 → review: photos checked and stored, the draft signed into the review form."""
        form = await _form(request)
        draft = await _read_report(request, form, state)
        await _limit(
            request,
            form,
            [("report_ip", _client_ip(request)), ("report_phone", draft["phone"])],
        )
        photos = [p for p in form.getlist("photos") if isinstance(p, UploadFile) and p.filename]
        if len(photos) > rw.MAX_PHOTOS:
            raise Refusal("err_too_many_photos")
        keep = bool(form.get("share_location"))
        encoded = [
            await asyncio.to_thread(rw.reencode_photo, await p.read(), keep_exif=keep)
            for p in photos
        ]
        draft["photos"] = rw.store_pending_photos(state.settings.upload_dir, encoded)
        draft["photo_count"] = len(encoded)
        return await _review(request, state, session, draft, category=None)

    @router.post("/r/review")
    @answers_refusals()
    async def report_recheck(request: Request, state: State, session: SessionDep) -> Response:
        """类别不对？: show the unit for another category."""
        form = await _form(request)
        draft = rw.read_draft_token(state.settings, _str(form, "draft", rw.MAX_DRAFT_TOKEN))
        category = _str(form, "category", 16) or None
        return await _review(request, state, session, draft, category=category)

    async def _review(
        request: Request,
        state: State,
        session: SessionDep,
        draft: dict[str, Any],
        *,
        category: str | None,
    ) -> Response:
        known = dict(_categories(pick_language(request)))
        if category not in known:
            category = None
        preview = intake.preview_routing(
            text=draft["text"], township=draft.get("township"), category_override=category
        )
        similar = await intake.find_similar_open_cases(
            session=session,
            text=draft["text"],
            category=preview.category,
            township=draft.get("township"),
            village=draft.get("village"),
            latitude=draft.get("lat"),
            longitude=draft.get("lon"),
        )
        return page(
            request,
            "review.html",
            {
                "draft": draft,
                "token": rw.draft_token(state.settings, draft),
                "preview": preview,
                "reason": rw.plain_reason(preview, state.county, pick_language(request)),
                "category_label": state.county.category_name(
                    preview.category, pick_language(request)
                ),
                "unit_label": state.county.department_name(
                    preview.unit_code, pick_language(request)
                ),
                "safety": rw.safety_alert(draft["text"]),
                "similar": similar,
                "categories": list(known.items()),
                "chosen": category or preview.category,
                "override": category,
            },
        )

    @router.post("/r/submit")
    @answers_refusals()
    async def report_submit(request: Request, state: State, session: SessionDep) -> Response:
        form = await _form(request)
        draft = rw.read_draft_token(state.settings, _str(form, "draft", rw.MAX_DRAFT_TOKEN))
        await _limit(request, form, [("submit_ip", _client_ip(request))])
        category = _str(form, "category", 16) or None
        if await _guard(request).first_use(f"draft/{draft['n']}", rw.DRAFT_MAX_AGE):
            case, reporter = await rw.submit_web_report(
                session=session,
                upload_dir=state.settings.upload_dir,
                draft=draft,
                category=category if category in dict(_categories()) else None,
                lang=pick_language(request),
            )
        else:
            case, reporter = await _earlier_submission(session, draft)
        return RedirectResponse(_track_url(request, case, reporter) + "?new=1", status_code=303)

    @router.post("/r/follow")
    @answers_refusals()
    async def report_follow(request: Request, state: State, session: SessionDep) -> Response:
        form = await _form(request)
        draft = rw.read_draft_token(state.settings, _str(form, "draft", rw.MAX_DRAFT_TOKEN))
        await _limit(request, form, [("submit_ip", _client_ip(request))])
        if not await _guard(request).first_use(f"draft/{draft['n']}", rw.DRAFT_MAX_AGE):
            raise ValidationFailed("这份反映已经提交或关注过了。", code="draft_used")
        person = await rw.web_person(
            session=session,
            phone=None if draft.get("anonymous") else draft.get("phone"),
            lang=pick_language(request),
        )
        case = await intake.follow_case(
            session=session, person=person, case_code=_str(form, "code", 32)
        )
        return RedirectResponse(_track_url(request, case, person) + "?followed=1", status_code=303)

    @router.get("/t")
    async def lookup_form(request: Request) -> Response:
        return page(request, "lookup.html", {})

    @router.post("/t")
    @answers_refusals(domain_status=404)
    async def lookup(request: Request, session: SessionDep) -> Response:
        form = await _form(request)
        phone = _str(form, "phone", 32)
        await _limit(request, form, [("lookup_ip", _client_ip(request)), ("lookup_phone", phone)])
        case, reporter = await rw.lookup_by_phone(
            session=session, code=_str(form, "code", 32), phone=phone
        )
        return RedirectResponse(_track_url(request, case, reporter), status_code=303)

    @router.get("/t/{token}")
    @answers_refusals(domain_status=404)
    async def track(request: Request, token: str, state: State, session: SessionDep) -> Response:
        case, person = await _tracked(state, session, token)
        view = await cases.case_view(session=session, person=person, case=case)
        assert case.id is not None
        timeline = await rw.public_timeline(session=session, case_id=case.id)
        new = request.query_params.get("new") == "1"
        return page(
            request,
            "track.html",
            {
                "case": case,
                "view": view,
                "timeline": timeline,
                "link": f"{state.settings.web_base_url.rstrip('/')}/t/{token}",
                "token": token,
                "new": new,
                "followed": request.query_params.get("followed") == "1",
                "rated": request.query_params.get("rated", ""),
                "safety": not workflow.has_outcome(case)
                and (case.risk_level == RiskLevel.red or (new and rw.safety_alert(case.text))),
                "may_rate": view.may_rate,
            },
        )

    @router.post("/t/{token}/rate")
    @answers_refusals(domain_status=409)
    async def rate(request: Request, token: str, state: State, session: SessionDep) -> Response:
        form = await _form(request)
        await _limit(request, form, [("rate_ip", _client_ip(request))])
        case, person = await _tracked(state, session, token)
        assert case.id is not None
        done = await workflow.rate(
            session=session,
            actor=person,
            case_id=case.id,
            score=_str(form, "score", 32),
            reason=_str(form, "reason", 500) or None,
        )
        outcome = "reopened" if workflow.awaits_claim(done) else "closed"
        return RedirectResponse(f"/t/{quote(token)}?rated={outcome}", status_code=303)

    @router.get("/ask")
    async def ask_form(request: Request) -> Response:
        return page(request, "ask.html", {"question": "", "hits": None})

    @router.post("/ask")
    @answers_refusals()
    async def ask(request: Request, session: SessionDep) -> Response:
        form = await _form(request)
        question = _str(form, "question", legal.MAX_QUESTION_CHARS)
        if not question:
            raise Refusal("err_question_required")
        await _limit(request, form, [("ask_ip", _client_ip(request))])
        # The bot's legal desk decides here too: small talk, off-topic, a report, or a question
        # answered, offered as "您想问的是不是", or declined with the lawyer's help.
        consultation = legal.consult(text=question)
        hits = consultation.hits if consultation.kind == "question" else []
        answered = hits if consultation.band == "answer" else []
        context: dict[str, Any] = {
            "question": question,
            "kind": consultation.kind,
            "band": consultation.band,
            "pointer": consultation.pointer,
            "hits": hits,
            "safety": rw.safety_alert(question),
        }
        if consultation.kind == "question":
            row = await legal.log_question(
                session=session, person=None, question=question, hits=answered
            )
            assert row.id is not None
            context["log_token"] = rw.question_token(request.app.state.web.settings, row.id)
        return page(request, "ask.html", context)

    @router.post("/ask/feedback")
    @answers_refusals()
    async def ask_feedback(request: Request, state: State, session: SessionDep) -> Response:
        """有帮助/没帮助 on an answer: the admin's list of answers to improve."""
        form = await _form(request)
        await _limit(request, form, [("ask_ip", _client_ip(request))])
        log_id = rw.read_question_token(state.settings, _str(form, "log"))
        await legal.mark_helpful(
            session=session, log_id=log_id, helpful=_str(form, "helpful") == "1"
        )
        return page(
            request, "message.html", {"message": TEXTS[pick_language(request)]["ask_thanks"]}
        )

    @router.post("/ask/lawyer")
    @answers_refusals()
    async def ask_lawyer(request: Request, session: SessionDep) -> Response:
        form = await _form(request)
        anonymous = bool(form.get("anonymous"))
        phone = None if anonymous else rw.clean_phone(_str(form, "phone", 32))
        await _limit(request, form, [("submit_ip", _client_ip(request)), ("report_phone", phone)])
        person = await rw.web_person(session=session, phone=phone, lang=pick_language(request))
        case = await legal.handoff_to_lawyer(
            session=session,
            person=person,
            question=_str(form, "question", legal.MAX_QUESTION_CHARS),
            contact_phone=phone,
            anonymous=anonymous or phone is None,
            channel="web",
        )
        return RedirectResponse(_track_url(request, case, person) + "?new=1", status_code=303)

    return router


async def _earlier_submission(session: SessionDep, draft: dict[str, Any]) -> tuple[Case, Person]:
    """A draft sent twice (double click, reload): wait for the first to finish, show its case."""
    for _ in range(20):
        found = await rw.find_submitted(session=session, draft=draft)
        if found is not None:
            return found
        await asyncio.sleep(0.25)
    raise ValidationFailed(
        "这份反映已经提交过了，请用事项编号和手机号查询进度。", code="draft_used"
    )


async def _tracked(state: State, session: SessionDep, token: str) -> tuple[Case, Person]:
    key = rw.read_tracking_token(state.settings, token)
    case = await session.get(Case, key.case_id)
    person = await session.get(Person, key.person_id)
    if case is None or person is None:
        raise NotFound(rw.BAD_LINK, code="track_bad")
    return case, person


async def _read_report(request: Request, form: FormData, state: State) -> dict[str, Any]:
    """The first step's fields, checked: text, place, contact."""
    county = state.county
    text = _str(form, "text", MAX_TEXT + 1)
    if not text:
        raise Refusal("err_text_required")
    if len(text) > MAX_TEXT:
        raise Refusal("err_too_big", 413)
    township = _str(form, "township", 32) or None
    village = _str(form, "village", 64) or None
    if township and township not in county.township_data:
        raise ValidationFailed("请选择本县的乡镇。", code="township_unknown")
    if village:
        home = county.township_of_village(village)
        if home is None or (township and home != township):
            raise Refusal("err_village")
        township = township or home
    lat, lon = _float(form, "lat"), _float(form, "lon")
    if (lat is None) != (lon is None):
        lat = lon = None
    if lat is not None and lon is not None and not county.point_in_county(lat, lon):
        raise Refusal("err_location")
    anonymous = bool(form.get("anonymous"))
    phone = None if anonymous else rw.clean_phone(_str(form, "phone", 32))
    return {
        "n": secrets.token_hex(8),  # this draft's identity: a second submission is the first
        "text": text,
        "township": township,
        "village": village,
        "address": _str(form, "address", 256) or None,
        "lat": lat,
        "lon": lon,
        "anonymous": anonymous,
        "phone": phone,
    }
