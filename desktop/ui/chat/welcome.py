"""What an empty chat shows: what Folio is, a way to add documents, and the keys.

It is the first thing a person sees after installing, so it says what the app is for in plain
words. What the model is like (the starter model is tiny, where a better one comes from) is the
model notice's part above the chat, not repeated here.
"""

from __future__ import annotations

from desktop.core.formatting import count_text

# Handled by the view, never opened: the same as File ▸ Add documents….
ADD_DOCUMENTS_URL = "folio:add-documents"


def welcome_html(colours: dict[str, str], offer_documents: bool, documents_ready: int = 0) -> str:
    """The welcome for ``colours`` (the theme's); ``offer_documents`` when there is a library,
    of which ``documents_ready`` can be asked about."""
    muted = f'style="color: {colours["muted"]};"'
    if not offer_documents:
        documents = ""
    elif documents_ready:
        documents = (
            f"<p {muted}>Ask about your {count_text(documents_ready, 'document')} too: answers "
            "then cite the pages they come from. "
            f'<a href="{ADD_DOCUMENTS_URL}"><b>Add more…</b></a></p>'
        )
    else:
        documents = (
            f'<p {muted}><a href="{ADD_DOCUMENTS_URL}"><b>Add documents…</b></a> to ask about '
            "your own PDFs and notes; answers then cite the pages they come from.</p>"
        )
    return (
        '<div align="center"><br><br><br>'
        f'<p style="font-size: x-large; color: {colours["secondary"]};">Ask anything.</p>'
        f"<p {muted}>Folio answers with a language model running on this computer; nothing "
        "you type or add leaves it.</p>"
        f"{documents}"
        # Set apart from the two lines above: the keys are a hint, not part of the welcome.
        f'<p style="color: {colours["faint"]}; font-size: small; margin-top: 12px;">'
        "Enter sends · Shift+Enter adds a line · Esc stops an answer</p></div>"
    )
