"""The center's web dashboard, 研判 reports and the Open311 API (FastAPI + Jinja2)."""

from backend.web.app import create_app, serve

__all__ = ["create_app", "serve"]
