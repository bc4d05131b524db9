"""Where a chat's answers come from, as its settings store it."""

from __future__ import annotations

from typing import Any

import pytest

from desktop.core.chat.scope import DOCUMENTS_KEY, DocumentScope, ScopeMode, scope_of_chat


@pytest.mark.parametrize(
    "scope",
    [
        DocumentScope.off(),
        DocumentScope.automatic(),
        DocumentScope.whole_library(),
        DocumentScope.only(("a" * 64, "b" * 64)),
    ],
)
def test_every_scope_survives_its_setting(scope: DocumentScope) -> None:
    assert DocumentScope.from_setting(scope.to_setting()) == scope
    assert scope_of_chat({DOCUMENTS_KEY: scope.to_setting()}) == scope


def test_a_chat_that_never_chose_is_automatic() -> None:
    assert scope_of_chat({}) == DocumentScope.automatic()
    assert scope_of_chat({"temperature": 0.2}).mode is ScopeMode.AUTO


def test_a_chat_switched_off_by_an_earlier_version_stays_off() -> None:
    # Versions before the automatic mode stored null for "no documents".
    assert scope_of_chat({DOCUMENTS_KEY: None}) == DocumentScope.off()


@pytest.mark.parametrize("value", [42, "everything", {"ids": []}, ["a", 3]])
def test_a_setting_edited_into_nonsense_falls_back_to_automatic(value: Any) -> None:
    assert scope_of_chat({DOCUMENTS_KEY: value}) == DocumentScope.automatic()


def test_an_empty_choice_of_documents_is_no_documents() -> None:
    assert DocumentScope.only(()) == DocumentScope.off()


def test_what_each_mode_searches_and_promises() -> None:
    chosen = DocumentScope.only(("a" * 64,))

    assert chosen.searched == ("a" * 64,) and chosen.documents_only and chosen.enabled
    assert DocumentScope.whole_library().searched is None
    assert DocumentScope.whole_library().documents_only
    assert DocumentScope.automatic().enabled and not DocumentScope.automatic().documents_only
    assert not DocumentScope.off().enabled
