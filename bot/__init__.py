"""Telegram faces: the contributor conversation and the moderators' group."""

from bot.app import build_application, run

__all__ = ["build_application", "run"]
