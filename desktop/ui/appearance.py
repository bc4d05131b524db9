"""Theme and text size: one style sheet, written once with named colours, for light and dark.

Widgets and the chat's HTML take their colours from ``colors()``, so a theme change reaches
everything the window draws; nothing else in the UI writes a colour of its own for surfaces or
text.
"""

from __future__ import annotations

from string import Template

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from desktop.core.settings.schema import AppearanceSettings

LIGHT: dict[str, str] = {
    "base": "#ffffff",
    "text": "#111827",
    "secondary": "#374151",
    "muted": "#6b7280",
    "faint": "#9ca3af",
    "sidebar": "#f7f7f8",
    "pane": "#fbfbfc",
    "subtle": "#f9fafb",
    "header": "#f3f4f6",
    "selected": "#e4e7ee",
    "hover": "#eeeff2",
    "border": "#e5e7eb",
    "border_strong": "#d1d5db",
    "accent": "#4f46e5",
    "accent_focus": "#6366f1",
    "accent_soft": "#e0e7ff",
    "accent_hover": "#eef2ff",
    "accent_border": "#a5b4fc",
    "link": "#2563eb",
    "disabled": "#c7c9d1",
    "danger": "#b91c1c",
    "success": "#15803d",
    "warning_text": "#92400e",
    "warning_bg": "#fffbeb",
    "warning_border": "#fde68a",
    "warning_strong": "#78350f",
    "info_bg": "#eff6ff",
    "info_text": "#1e3a8a",
    "error_bg": "#fef2f2",
    "error_text": "#7f1d1d",
    "user_bubble": "#eef2ff",
    "code": "#f3f4f6",
}

DARK: dict[str, str] = {
    "base": "#1f2125",
    "text": "#e5e7eb",
    "secondary": "#c9ccd3",
    "muted": "#9ca3af",
    "faint": "#6b7280",
    "sidebar": "#18191c",
    "pane": "#1b1c20",
    "subtle": "#26282d",
    "header": "#2a2c31",
    "selected": "#33363d",
    "hover": "#2a2d33",
    "border": "#33363c",
    "border_strong": "#464a52",
    "accent": "#6366f1",
    "accent_focus": "#818cf8",
    "accent_soft": "#312e81",
    "accent_hover": "#2e3050",
    "accent_border": "#6366f1",
    "link": "#93b4fd",
    "disabled": "#4b4f58",
    "danger": "#dc2626",
    "success": "#4ade80",
    "warning_text": "#fbbf24",
    "warning_bg": "#3a2f12",
    "warning_border": "#7c5e10",
    "warning_strong": "#fde68a",
    "info_bg": "#1e293b",
    "info_text": "#bfdbfe",
    "error_bg": "#3b1a1a",
    "error_text": "#fecaca",
    "user_bubble": "#2b2d45",
    "code": "#2a2c31",
}

STYLE_TEMPLATE = Template(
    """
#sidebar { background: $sidebar; }
#sidebar QListView { background: transparent; border: none; font-size: ${base_pt}pt; }
#sidebar QListView::item { padding: 7px 6px; border-radius: 6px; }
#sidebar QListView::item:selected { background: $selected; color: $text; }
#sidebar QListView::item:hover:!selected { background: $hover; }
#searchBox { padding: 5px 8px; border: 1px solid $border_strong; border-radius: 6px;
             background: $base; }
#newChatButton { padding: 6px; }
#emptyLabel { color: $muted; padding: 8px 4px; }
#chatHeader { border-bottom: 1px solid $border; background: $base; }
#chatTitle { font-size: ${title_pt}pt; font-weight: 600; color: $text; }
#modelLabel { color: $secondary; padding-right: 8px; }
#chatView { border: none; background: $base; }
#composerBox { background: $base; border-top: 1px solid $border; }
#composer { border: 1px solid $border_strong; border-radius: 8px; padding: 4px 6px;
            background: $base; }
#composer:focus { border-color: $accent_focus; }
#sendButton { min-width: 72px; padding: 7px 12px; border-radius: 8px; background: $accent;
              color: white; border: none; font-weight: 600; }
#sendButton:disabled { background: $disabled; }
#sendButton[stop="true"] { background: $danger; }
#editNotice { color: $warning_text; padding-bottom: 4px; }
#libraryButton:checked { background: $accent_soft; border: 1px solid $accent_border;
                         border-radius: 4px; }
#scopeButton { border: 1px solid $border_strong; border-radius: 10px; padding: 2px 10px;
               color: $secondary; background: $subtle; }
#scopeButton:hover { background: $accent_hover; }
#scopeButton::menu-indicator { image: none; width: 0px; }
#libraryPane { background: $pane; border-left: 1px solid $border; }
#paneTitle { font-size: ${title_pt}pt; font-weight: 600; color: $text; }
#paneSummary { color: $muted; padding-left: 6px; }
#documentTable { outline: 0; border: 1px solid $border; background: $base;
                 alternate-background-color: $subtle; selection-background-color: $accent_soft;
                 selection-color: $text; }
#documentTable QHeaderView::section { background: $header; border: none;
                 border-bottom: 1px solid $border; padding: 4px 6px; color: $secondary; }
#libraryEmpty { color: $muted; border: 2px dashed $border_strong; border-radius: 10px;
                padding: 24px; }
#progressLabel { color: $secondary; }
#documentDetail { color: $secondary; background: $base; border: 1px solid $border;
                  border-radius: 6px; padding: 6px 8px; }
QProgressBar { border: none; background: $border; border-radius: 4px; }
QProgressBar::chunk { background: $accent; border-radius: 4px; }
#viewerCaptionBox { background: $warning_bg; border-bottom: 1px solid $warning_border; }
#viewerCaption { color: $warning_strong; }
#viewerMessage { color: $secondary; padding: 40px; }
Banner { border-bottom: 1px solid $border; background: $info_bg; color: $info_text; }
Banner[kind="warning"] { background: $warning_bg; color: $warning_strong; }
Banner[kind="error"] { background: $error_bg; color: $error_text; }
#tuningButton { border: 1px solid $border_strong; border-radius: 10px; padding: 2px 10px;
                color: $secondary; background: $subtle; }
#tuningButton:hover { background: $accent_hover; }
#tuningButton::menu-indicator { image: none; width: 0px; }
#tuningButton[changed="true"] { border-color: $accent_border; background: $accent_soft; }
"""
)

_active: dict[str, str] = LIGHT
_system_font: QFont | None = None


def colors() -> dict[str, str]:
    """The colours of the theme in use."""
    return _active


def is_dark(theme: str) -> bool:
    if theme == "dark":
        return True
    if theme == "light":
        return False
    hints = QGuiApplication.styleHints()
    return bool(hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark)


def style_sheet(palette: dict[str, str], base_pt: float) -> str:
    return STYLE_TEMPLATE.substitute(palette, base_pt=f"{base_pt:g}", title_pt=f"{base_pt + 2:g}")


def apply_appearance(app: QApplication, appearance: AppearanceSettings) -> None:
    """Colours and text size for the whole application, at once."""
    global _active, _system_font
    if _system_font is None:
        _system_font = QFont(app.font())
    font = QFont(_system_font)
    if appearance.font_size > 0:
        font.setPointSizeF(float(max(appearance.font_size, 6)))
    app.setFont(font)
    _active = DARK if is_dark(appearance.theme) else LIGHT
    app.setPalette(_palette(_active))
    base_pt = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
    app.setStyleSheet(style_sheet(_active, base_pt))


def _palette(colours: dict[str, str]) -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    base, text = QColor(colours["base"]), QColor(colours["text"])
    window = QColor(colours["header"]) if colours is DARK else QColor("#efefef")
    for which, colour in (
        (role.Window, window),
        (role.WindowText, text),
        (role.Base, base),
        (role.AlternateBase, QColor(colours["subtle"])),
        (role.Text, text),
        (role.Button, QColor(colours["subtle"] if colours is DARK else "#efefef")),
        (role.ButtonText, text),
        (role.ToolTipBase, QColor(colours["base"])),
        (role.ToolTipText, text),
        (role.PlaceholderText, QColor(colours["muted"])),
        (role.Highlight, QColor(colours["accent"])),
        (role.HighlightedText, QColor("#ffffff")),
        (role.Link, QColor(colours["link"])),
        (role.Mid, QColor(colours["border_strong"])),
        (role.Midlight, QColor(colours["border"])),
    ):
        palette.setColor(which, colour)
    disabled = QColor(colours["faint"])
    for which in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, which, disabled)
    return palette
