"""综治通 backend: case records, workflow, deadlines, outbox, web dashboard and CLI."""
