"""What this machine lacks for Qt's window is named, with the package to install."""

from __future__ import annotations

import ctypes

import pytest

from desktop.core import platform


def test_nothing_is_missing_where_the_tests_open_windows() -> None:
    # The tests open their windows offscreen, which needs Qt's base libraries, not xcb's.
    assert platform.missing_window_libraries({"QT_QPA_PLATFORM": "offscreen"}) == {}


def test_a_missing_library_is_named_with_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every other library is there, whatever this machine has installed.
    def without_xcb_cursor(name: str, *args: object, **kwargs: object) -> object:
        if name == "libxcb-cursor.so.0":
            raise OSError(f"{name}: cannot open shared object file")
        return object()

    monkeypatch.setattr(ctypes, "CDLL", without_xcb_cursor)
    missing = platform.missing_window_libraries({"DISPLAY": ":0"})
    assert missing == {"libxcb-cursor.so.0": "libxcb-cursor0"}
    message = platform.missing_libraries_message(missing)
    assert "sudo apt install libxcb-cursor0" in message
    # On Wayland the xcb plugin is not loaded, so its libraries are not needed.
    assert platform.missing_window_libraries({"WAYLAND_DISPLAY": "wayland-0"}) == {}


def test_the_window_does_not_start_without_them_and_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    from desktop import app

    monkeypatch.setenv("FOLIO_HOME", str(tmp_path))
    monkeypatch.setattr(
        app, "missing_window_libraries", lambda: {"libxcb-cursor.so.0": "libxcb-cursor0"}
    )
    assert app.main([]) == 1
    err = capsys.readouterr().err
    assert "sudo apt install libxcb-cursor0" in err
    assert "Traceback" not in err
