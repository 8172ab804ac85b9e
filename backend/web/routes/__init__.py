"""One module per page group; each exposes ``create_router()``."""
