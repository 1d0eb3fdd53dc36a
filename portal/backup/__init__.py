"""Backups that restore: ``manage.py backup PATH`` writes one archive, ``manage.py restore
PATH`` puts it back, on SQLite and PostgreSQL alike.

The archive is a tar file (``archive.py``) of

- ``database.sqlite`` (SQLite's online backup API, ``sqlite.py``) or ``database.pgdump``
  (``pg_dump --format=custom``, ``postgres.py``): one consistent snapshot of the database,
  taken while the app serves writes;
- ``blobs/<sha256>``: with the filesystem storage backend, the bytes of every attachment
  and preview that snapshot names (with the database backend they are rows of the
  snapshot itself);
- ``manifest.json``, written last: the app version, the time, the engine, the schema
  revision, the rows of every table and the size and sha256 of every other part.

Consistency between the snapshot and the files (``create.py``): a blob is written before
the row naming it commits, so every blob a snapshot names exists when the snapshot is
taken; the backup holds the garbage collector off from before the snapshot until it has
copied them, so a file whose attachment is deleted meanwhile is still copied. Blobs
written after the snapshot are not named by it and stay out.

Restoring (``restore.py``) checks the whole archive first (every part present, listed and
matching its sha256), refuses a schema newer than the code, another engine or storage
backend, and a target that holds data unless forced; then writes the blobs, then the
database, and compares the rows of every table with the manifest. ``manage.py restore``
then upgrades an older schema (``init-db``).

Refusals are ``BackupError`` (``errors.py``), each with its sysexits exit code.
"""
