"""PostgreSQL + pgvector storage for embeddings.

- `server`: the embedded server (started on demand, outlives the process) or SIGNSEARCH_DB_URL; `connect`.
- `schema`: versioned migrations and the per-(dataset, model) HNSW index DDL.
- `load`: bulk-load a manifest (COPY BINARY, one transaction) and write a receipt.
- `query`: k-nearest-neighbour search (HNSW or exact) and listings.
- `errors`: the exceptions, all under `errors.DatabaseError`.
"""
