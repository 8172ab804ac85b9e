"""Every Redis key name the bot uses, in one place (FSM keys are aiogram's own)."""

PREFIX = "zzt"


def processed_update(update_id: int) -> str:
    return f"{PREFIX}:update:{update_id}"


def flood(user_id: int, window: int) -> str:
    return f"{PREFIX}:flood:{user_id}:{window}"


def flood_warned(user_id: int, window: int) -> str:
    return f"{PREFIX}:flood:warned:{user_id}:{window}"
