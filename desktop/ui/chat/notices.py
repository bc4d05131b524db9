"""What the window says about the model it chats with, in the notice above the conversation."""

from __future__ import annotations

from desktop.core.llm.engine import ModelInfo
from desktop.core.models.starter import STARTER_DISPLAY_NAME, is_starter_model

# Set once the starter model's notice was dismissed (window state, not a setting).
STARTER_DISMISSED = "notices/starter_dismissed"

STARTER_NOTICE = (
    f"<b>You are chatting with {STARTER_DISPLAY_NAME}</b>, a tiny starter model (135 million "
    "parameters) that runs anywhere but often gets facts wrong. For better answers, get a "
    "larger instruct model in <b>File ▸ Models…</b> (Download), or open a GGUF file you "
    "already have with <b>Open model file…</b>."
)

NO_MODEL_NOTICE = (
    "<b>No model yet.</b> The starter model is not installed. Open a GGUF model file to start "
    "chatting."
)


def templateless_notice(name: str) -> str:
    return (
        f"<b>{name} has no chat template</b>: it is a base model, not tuned for conversation. "
        "Folio prompts it with a plain “User: / Assistant:” transcript and ends each answer at "
        "the end of its first line; expect it to continue text rather than follow instructions. An "
        "<i>instruct</i> model chats far better."
    )


def model_notice(info: ModelInfo, starter_dismissed: bool) -> tuple[str, str] | None:
    """(html, kind) of the notice a model gets, or None: a base model is always announced,
    the starter model until its notice was dismissed once."""
    if not info.has_chat_template:
        return templateless_notice(info.name), "warning"
    if is_starter_model(info.path) and not starter_dismissed:
        return STARTER_NOTICE, "info"
    return None
