"""Documents: extraction, chunking, indexing and the library."""
