"""The Telegram part of `pesisir check`: the bot's token, and the bot in the moderators' group.

It talks to the Bot API the way `pesisir run` does (python-telegram-bot's `Bot` with the base
URLs from settings). python-telegram-bot's messages can quote the token (InvalidToken does), so
none of them is shown: only Telegram's own descriptions of group errors.
"""

from __future__ import annotations

from telegram import Bot, ChatMember, ChatMemberAdministrator, User
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError

from bot.app import TOKEN_SHAPE, webhook_problem
from core.config import Settings
from publishers.channel_health import Check

BOT = "telegram bot"
GROUP = "moderators' group"
BOTFATHER_HINT = (
    "copy the token again from @BotFather (/mybots → your bot → API Token) into "
    "PESISIR_TELEGRAM_TOKEN; after /revoke only the new token works"
)


async def check_telegram(settings: Settings) -> list[Check]:
    """getMe with the token; with PESISIR_MODERATOR_CHAT_ID, the bot's place in that group."""
    if settings.telegram_token is None:
        return [
            Check(
                BOT,
                None,
                "PESISIR_TELEGRAM_TOKEN is not set (pesisir demo needs none; pesisir run does)",
                "create a bot with @BotFather (/newbot) and put its token in "
                "PESISIR_TELEGRAM_TOKEN (README, 'Telegram bot: setup')",
            )
        ]
    token = settings.telegram_token.get_secret_value()
    if not TOKEN_SHAPE.fullmatch(token):
        # pesisir run refuses it too: a placeholder copied from .env.example, or a cut paste.
        return [
            Check(BOT, False, "PESISIR_TELEGRAM_TOKEN does not look like a token", BOTFATHER_HINT)
        ]
    bot = Bot(
        token, base_url=settings.telegram_base_url, base_file_url=settings.telegram_base_file_url
    )
    try:
        async with bot:
            me = await bot.get_me()
            checks = [Check(BOT, True, _describe_bot(me))]
            if settings.moderator_chat_id is not None:
                checks.append(await _check_group(bot, me, settings.moderator_chat_id))
            else:
                checks.append(
                    Check(
                        GROUP,
                        None,
                        "PESISIR_MODERATOR_CHAT_ID is not set: stories wait for the command line",
                        "add the bot to the moderators' group and set PESISIR_MODERATOR_CHAT_ID "
                        "to the group's id (-100…)",
                    )
                )
            return checks
    except InvalidToken:
        return [Check(BOT, False, "Telegram refused PESISIR_TELEGRAM_TOKEN", BOTFATHER_HINT)]
    except NetworkError as exc:
        return [
            Check(
                BOT,
                False,
                f"no answer from {settings.telegram_base_url} ({type(exc).__name__})",
                "check the network, and PESISIR_TELEGRAM_BASE_URL when you use your own Bot API "
                "server",
            )
        ]
    except TelegramError as exc:
        return [Check(BOT, False, f"the Bot API answered {type(exc).__name__}", BOTFATHER_HINT)]


def check_webhook(settings: Settings) -> list[Check]:
    """Webhook mode has its secret (nothing when the bot polls)."""
    if not settings.webhook_url:
        return []
    problem = webhook_problem(settings)
    if problem is not None:
        detail, _, hint = problem.partition(". Set ")
        return [Check("webhook", False, detail, "set " + hint)]
    return [Check("webhook", True, f"{settings.webhook_url} with a secret token")]


async def token_refused(settings: Settings) -> bool:
    """True when Telegram refuses the token (network trouble is not a refusal: the bot
    retries)."""
    assert settings.telegram_token is not None
    bot = Bot(
        settings.telegram_token.get_secret_value(),
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_base_file_url,
    )
    try:
        async with bot:
            return False
    except InvalidToken:
        return True
    except TelegramError:
        return False


def _describe_bot(me: User) -> str:
    if me.can_read_all_group_messages:
        reading = "privacy mode off: it reads every message in its groups"
    else:
        reading = (
            "privacy mode on: in groups it reads commands, mentions and replies to its own "
            "messages (as an administrator, every message)"
        )
    return f"@{me.username}; {reading}"


async def _check_group(bot: Bot, me: User, chat_id: int) -> Check:
    """getChat on the group and getChatMember of the bot itself."""
    join = (
        f"add @{me.username} to the moderators' group (group → Add members) and make it an "
        "administrator; check that PESISIR_MODERATOR_CHAT_ID is the group's id (-100…)"
    )
    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, me.id)
    except (BadRequest, Forbidden) as exc:
        # Telegram's description ("bot is not a member of the supergroup chat"), no token in it.
        return Check(GROUP, False, f"the bot is not in the group: {exc.message}", join)
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return Check(
            GROUP,
            False,
            f"PESISIR_MODERATOR_CHAT_ID is a {chat.type} chat, not a group",
            "set PESISIR_MODERATOR_CHAT_ID to the moderators' group id (-100…)",
        )
    title = repr(chat.title or "")
    if member.status in (ChatMember.LEFT, ChatMember.BANNED):
        return Check(GROUP, False, f"the bot is not a member of {title}", join)
    if member.status == ChatMember.OWNER:
        return Check(GROUP, True, f"{title}: the bot owns the group")
    promote = (
        "in the group: Administrators → Add Admin → the bot, with 'Delete messages' "
        "(README, 'Telegram bot: setup')"
    )
    if not isinstance(member, ChatMemberAdministrator):
        return Check(
            GROUP,
            True,
            f"{title}: warning: the bot is a member but not an administrator, so it cannot "
            "delete the photos of withdrawn stories there and is not told when moderators "
            "join or leave (chat_member updates)",
            promote,
        )
    if not member.can_delete_messages:
        return Check(
            GROUP,
            True,
            f"{title}: warning: the bot is an administrator without 'Delete messages', so it "
            "cannot delete the photos of withdrawn stories there",
            promote,
        )
    return Check(GROUP, True, f"{title}: the bot is an administrator")
