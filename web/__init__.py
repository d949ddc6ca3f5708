"""The web dashboard for moderators and the campaign team, and the public media URLs.

A sibling face of `bot/`: it never imports the bot; both use `moderation/` and `publishers/`.
`create_app(settings, engine)` is its public face.
"""

from web.app import create_app

__all__ = ["create_app"]
