"""The vector store in a process of its own (the window's): the same answers as in this
process, a child that dies is started again, and it dies with its parent."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from desktop.core.documents.library import Library
from desktop.core.documents.records import DocumentStatus
from desktop.core.documents.vector_process import VectorProcess
from desktop.core.embedding.embedder import Embedder
from tests.support.documents import make_pdf
from tests.support.hostile import GOOD_TEXT


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    make_pdf(folder / "harbour.pdf", [GOOD_TEXT, "The ferry timetable changes in May."])
    make_pdf(folder / "garden.pdf", ["Roses need pruning in early spring, before new growth."])
    return folder


def _index(folder: Path, docs: Path, embedder: Embedder, apart: bool) -> Library:
    library = Library(folder, embedder, vectors_apart=apart)
    library.add([docs])
    library.index_queued()
    return library


def test_a_library_with_its_vectors_apart_answers_as_one_in_process(
    tmp_path: Path, docs: Path, embedder: Embedder
) -> None:
    here = _index(tmp_path / "here", docs, embedder, apart=False)
    apart = _index(tmp_path / "apart", docs, embedder, apart=True)
    try:
        assert {d.status for d in apart.documents()} == {DocumentStatus.READY}
        assert apart.vectors.count() == here.vectors.count() > 0
        assert sorted(apart.vectors.ids()) == sorted(here.vectors.ids())
        for question in ("When does the ferry timetable change?", "pruning roses"):
            near = [chunk for chunk, _ in here.vectors.search(question, 3)]
            assert [chunk for chunk, _ in apart.vectors.search(question, 3)] == near
        [best] = apart.search("pruning roses", k=1)
        assert best.document.name == "garden.pdf"
    finally:
        here.close()
        apart.close()


def test_a_vector_process_that_dies_is_started_again(tmp_path: Path) -> None:
    store = VectorProcess(tmp_path / "vectors")
    try:
        first = store.pid()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert store.count() == 0, "the call after the death is served by a new process"
        assert store.pid() not in (None, first)
    finally:
        store.close()
    assert store.pid() is None
