"""Every Redis key name the bot uses, in one place (FSM keys are aiogram's own)."""

PREFIX = "zzt"


def processed_update(update_id: int) -> str:
    return f"{PREFIX}:update:{update_id}"


def flood(user_id: int) -> str:
    """Sorted set of the user's recent update times (sliding window)."""
    return f"{PREFIX}:flood:{user_id}"


def flood_warned(user_id: int) -> str:
    return f"{PREFIX}:flood:warned:{user_id}"
