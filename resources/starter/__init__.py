"""The starter chat model and embedder, put here by the build (packaging/backend/folio_build.py)."""
