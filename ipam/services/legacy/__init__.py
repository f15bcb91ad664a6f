"""Importing the original FastAPI + MongoDB IPAM (`manage.py import_original`).

`readers` turn a mongodump directory, a folder of mongoexport files or a live MongoDB URI into
documents per collection; `runner` groups them by owner and imports each user in one transaction
through the per-collection mappers (`accounts`, `address`, `history`, `stores`), written in bulk by
`writer`; `report` counts what was created, found already imported or skipped, and why.
The original's data model and quirks: docs/migrating.md.
"""
