"""The frame under the installed models: the selected model's facts, what it needs, and the
buttons that act on it (the Installed tab runs what they do)."""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.core.formatting import parameters_text, size_text
from desktop.ui.appearance import colors
from desktop.ui.models.controls import button, fact_label
from desktop.ui.models.folder_scan import InstalledModel
from desktop.ui.models.words import FIT_ADVICE, FIT_COLOURS, describe_memory, use_text


@dataclass(frozen=True)
class InUse:
    """What a model is in use for right now."""

    chat: bool = False
    documents: bool = False

    @property
    def purposes(self) -> tuple[str, ...]:
        return tuple(
            purpose
            for purpose, used in (("chat", self.chat), ("documents", self.documents))
            if used
        )

    @property
    def text(self) -> str:
        return use_text(self.purposes)


def delete_refusal(model: InstalledModel, in_use: InUse) -> str:
    """Why the model may not be deleted, or "" when it may."""
    entry = model.entry
    if in_use.purposes:
        purpose = in_use.purposes[0]
        return (
            f"“{entry.name}” is in use for {purpose}. Choose another model for {purpose} "
            "first, then delete this one."
        )
    if model.starter:
        return (
            "This is the starter model that comes with Folio; it stays, so that Folio always "
            "has a model to run."
        )
    if not model.in_folder:
        return (
            f"“{entry.path.name}” is not in the models folder, so Folio leaves it alone. It "
            f"is in {entry.path.parent}."
        )
    return ""


class ModelDetails(QFrame):
    """The selected model's facts and the buttons for it, enabled as far as they apply."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelDetails")
        self.detail_title = QLabel()
        self.detail_title.setObjectName("detailTitle")
        self.detail_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_use = QLabel()
        self.detail_use.setObjectName("quietNote")
        title_row = QHBoxLayout()
        title_row.addWidget(self.detail_title)
        title_row.addSpacing(6)
        title_row.addWidget(self.detail_use)
        title_row.addStretch(1)
        self.memory_label = QLabel()
        self.memory_label.setObjectName("memoryLine")
        self.memory_label.setWordWrap(True)
        self.memory_label.setTextFormat(Qt.TextFormat.RichText)
        self.memory_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.architecture_value = fact_label()
        self.parameters_value = fact_label()
        self.quantization_value = fact_label()
        self.context_value = fact_label()
        self.template_value = fact_label()
        self.licence_value = fact_label()
        self.size_value = fact_label()
        self.path_value = fact_label()
        self.path_value.setWordWrap(True)
        facts = QGridLayout()
        facts.setHorizontalSpacing(12)
        facts.setVerticalSpacing(3)
        for row, ((left, left_value), (right, right_value)) in enumerate(
            (
                (("Architecture", self.architecture_value), ("Parameters", self.parameters_value)),
                (("Quantization", self.quantization_value), ("Context length", self.context_value)),
                (("Chat template", self.template_value), ("Licence", self.licence_value)),
                (("Size", self.size_value), ("File", self.path_value)),
            )
        ):
            facts.addWidget(fact_label(left, "factName"), row, 0, Qt.AlignmentFlag.AlignTop)
            facts.addWidget(left_value, row, 1, Qt.AlignmentFlag.AlignTop)
            facts.addWidget(fact_label(right, "factName"), row, 2, Qt.AlignmentFlag.AlignTop)
            facts.addWidget(right_value, row, 3, Qt.AlignmentFlag.AlignTop)
        facts.setColumnMinimumWidth(1, 150)
        facts.setColumnStretch(3, 1)
        self.template_note = QLabel()
        self.template_note.setObjectName("templateNote")
        self.template_note.setWordWrap(True)

        self.use_chat_button = button("Use for chat", name="primaryButton")
        self.use_documents_button = button("Use for documents")
        self.reveal_button = button("Show in folder", "Open the folder that holds this file")
        self.delete_button = button("Delete…")
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_chat_button)
        buttons.addWidget(self.use_documents_button)
        buttons.addStretch(1)
        buttons.addWidget(self.reveal_button)
        buttons.addWidget(self.delete_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addLayout(title_row)
        layout.addWidget(self.memory_label)
        layout.addLayout(facts)
        layout.addWidget(self.template_note)
        layout.addLayout(buttons)

    def show_model(self, model: InstalledModel, in_use: InUse) -> None:
        entry = model.entry
        self.detail_title.setText(entry.name)
        self.detail_use.setText(in_use.text)
        self._show_memory(model)
        self.architecture_value.setText(entry.architecture)
        self.parameters_value.setText(f"{parameters_text(entry.parameters)} ({entry.parameters:,})")
        self.quantization_value.setText(entry.quantization)
        self.context_value.setText(
            f"{entry.context_length:,} tokens" if entry.context_length else "Not stated in the file"
        )
        if entry.is_embedding_model:
            self.template_value.setText("Not needed (embedding model)")
            note = (
                "An embedding model turns passages of your documents into vectors for searching "
                "them; it cannot chat. Use it for documents."
            )
        elif entry.has_chat_template:
            self.template_value.setText("Yes")
            note = ""
        else:
            self.template_value.setText("No (a base model)")
            note = (
                "No chat template: this model was not tuned for conversation. Folio prompts it "
                "with a plain “User: / Assistant:” transcript and ends each answer at its first "
                "line; expect it to continue text rather than follow instructions."
            )
        self.template_note.setText(note)
        self.template_note.setVisible(bool(note))
        self.licence_value.setText(entry.licence or "Not stated in the file")
        self.size_value.setText(size_text(entry.size_bytes))
        location = str(entry.path)
        if model.link_target is not None:
            location += f"  (a link to {model.link_target})"
        self.path_value.setText(location)
        self._enable_buttons(model, in_use)

    def _show_memory(self, model: InstalledModel) -> None:
        fit = model.entry.fit
        advice = FIT_ADVICE[fit]
        line, _, verdict = describe_memory(model.entry).rpartition("→ ")
        verdict_colour, muted = colors()[FIT_COLOURS[fit]], colors()["muted"]
        self.memory_label.setText(
            f"{html.escape(line)}→ <span style='color: {verdict_colour}; font-weight: 600;'>"
            f"{html.escape(verdict)}</span>"
            + (f"<br><span style='color: {muted};'>{html.escape(advice)}</span>" if advice else "")
        )

    def _enable_buttons(self, model: InstalledModel, in_use: InUse) -> None:
        embedding = model.entry.is_embedding_model
        self.use_chat_button.setEnabled(not embedding and not in_use.chat)
        self.use_chat_button.setToolTip(
            "An embedding model cannot chat"
            if embedding
            else ("Already in use for chat" if in_use.chat else "Chat with this model from now on")
        )
        self.use_documents_button.setEnabled(embedding and not in_use.documents)
        self.use_documents_button.setToolTip(
            "Only an embedding model can index documents"
            if not embedding
            else (
                "Already in use for documents"
                if in_use.documents
                else "Index and search documents with this model (documents are indexed again)"
            )
        )
        refusal = delete_refusal(model, in_use)
        self.delete_button.setEnabled(not refusal)
        self.delete_button.setToolTip(refusal or "Delete this file from the models folder (Delete)")
