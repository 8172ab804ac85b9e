"""The center's web dashboard, 研判 reports and the open API (FastAPI + Jinja2, server-rendered).

Run: ``python -m backend serve --host 127.0.0.1 --port 8080`` (same database as the bot).

Pages (Chinese, printable; every page checks role and unit on the server):
    /login                      how to sign in (send /web to the bot); anonymous visitors land here
    /auth/<token>               consumes a one-time login link, starts a session (cookie)
    /                           the center's board (dispatcher, supervisor, admin); staff → /queue
    /queue                      a unit's queue with filters (status, category, township, risk,
                                deadline); staff and unit heads only see their own unit
    /cases/<code>               the case: text, reasons, deadlines, tasks, attachments, ratings,
                                timeline; POST /cases/<code>/<action> acts via services.workflow
    /search?q=                  case code, words, phone (phone: center roles only)
    /stats                      研判 statistics; /stats/export.xlsx, /stats/export.csv?table=
    /admin, /admin/townships, /admin/invites, /admin/profiles   admin only
    /admin/rules, /admin/kb     classifier rules and knowledge base, read-only (center roles)
Open API (JSON, documented at /openapi.json):
    /open311/v2/services.json, /open311/v2/services/<code>.json,
    /open311/v2/requests.json (GET; POST with an API key from OPEN311_API_KEYS),
    /open311/v2/requests/<id>.json
"""

from backend.web.app import create_app, serve

__all__ = ["create_app", "serve"]
