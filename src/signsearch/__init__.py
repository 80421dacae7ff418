"""signsearch: search sign-language videos by meaning (poses -> embeddings -> pgvector -> retrieval evaluation)."""

__version__ = "0.1.0"
