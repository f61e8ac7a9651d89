"""Retrieval-augmented generation: chunking, the pgvector document store, caches and the semantic cache."""
