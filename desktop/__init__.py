"""Folio: chat with local language models and your own PDFs, entirely offline."""

__version__ = "0.1.0"
APP_NAME = "Folio"
