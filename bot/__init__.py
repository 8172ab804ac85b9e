"""综治通 Telegram bot (aiogram 3): the only package that imports aiogram."""
