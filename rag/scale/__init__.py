"""Past one machine: indexing on a Ray cluster (ray_indexing) and vectors in Milvus (milvus).

Both are optional extras (`pip install -e '.[scale]'`); the embedded default (one process, FAISS
and SQLite) never imports them.
"""
