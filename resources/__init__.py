"""Folio's assets, installed as the package ``desktop.resources``: the model catalog and the
icons. Screenshots and the desktop-entry sources stay in the source tree."""
