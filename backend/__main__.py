"""``python -m backend``: the management CLI (see ``backend.cli``)."""

from backend.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
