"""Sources of the original's documents, behind one interface: `collections()` and `documents(name)`.

- `DumpReader`: a mongodump directory (`<db>/<collection>.bson`, or `.bson.gz`, next to `.metadata.json`),
  decoded with pymongo's `bson` module — no server needed;
- `ExportReader`: a folder of mongoexport files (`<collection>.json`/`.jsonl`/`.ndjson`), JSON lines or one
  JSON array, canonical or relaxed Extended JSON (`bson.json_util`);
- `MongoReader`: a live `mongodb://` / `mongodb+srv://` URI, read only (`find` and `list_collection_names`).

Documents come back as plain dicts with naive datetimes, exactly as the original's own (non tz_aware)
client saw them; `quirks.aware` makes them UTC.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import bson
from bson import json_util
from bson.codec_options import CodecOptions

CODEC: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=False)
JSON_OPTIONS = json_util.JSONOptions(tz_aware=False)
EXPORT_SUFFIXES = (".json", ".jsonl", ".ndjson")


class SourceError(Exception):
    """The source cannot be read (missing, ambiguous, unreachable); the message says why."""


class SourceReader(Protocol):
    label: str

    def collections(self) -> set[str]: ...

    def documents(self, collection: str) -> Iterator[dict[str, Any]]: ...

    def close(self) -> None: ...


class DumpReader:
    def __init__(self, root: Path):
        files: dict[str, dict[str, Path]] = {}  # db → collection → file
        for path in sorted(root.rglob("*.bson*")):
            name = path.name
            if name.endswith(".bson") or name.endswith(".bson.gz"):
                collection = name[: -len(".bson.gz")] if name.endswith(".gz") else name[: -len(".bson")]
                files.setdefault(path.parent.name, {})[collection] = path
        with_ipam = {db: cols for db, cols in files.items() if "users" in cols or any(c.startswith("ipam_") for c in cols)}
        if not with_ipam:
            raise SourceError(f"{root}: no mongodump collections found (expected <db>/<collection>.bson[.gz])")
        if len(with_ipam) > 1:
            raise SourceError(f"{root}: several databases ({', '.join(sorted(with_ipam))}); point SOURCE at one of them")
        self.database, self._files = next(iter(with_ipam.items()))
        self.label = f"mongodump {root} (database {self.database})"

    def collections(self) -> set[str]:
        return set(self._files)

    def documents(self, collection: str) -> Iterator[dict[str, Any]]:
        path = self._files.get(collection)
        if path is None:
            return
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            yield from bson.decode_file_iter(handle, codec_options=CODEC)  # type: ignore[arg-type]

    def owners(self, collection: str) -> Iterator[tuple[str, Chunk]]:
        """(owner key, where the document is) for every document, without decoding it: the import groups the
        dump per user in one cheap pass and decodes one user's documents at a time (`load`), so memory follows
        the largest user, not the dump. The key is `str(user_id or "")` of a top-level string `user_id` found
        by its bytes; any document where that is ambiguous (another `user_id` key inside, a non-string id) is
        decoded to read it. `load` re-checks every key on the decoded document."""
        path = self._files.get(collection)
        if path is None:
            return
        gz = path.name.endswith(".gz")
        opener = gzip.open if gz else open
        with opener(path, "rb") as handle:
            read, offset = handle.read, 0
            while True:
                head = read(4)
                if not head:
                    return
                size = int.from_bytes(head, "little", signed=True)
                body = read(size - 4) if size >= 5 else b""
                if len(head) < 4 or len(body) != size - 4:
                    raise bson.InvalidBSON(f"{path.name}: truncated document at byte {offset}")
                raw = head + body
                yield _owner_key(raw), (raw if gz else (path, offset, size))
                offset += size

    def load(self, chunks: list[Chunk]) -> list[dict[str, Any]]:
        """The decoded documents of `chunks` (as `owners` gave them, in order)."""
        docs: list[dict[str, Any]] = []
        handles: dict[Path, Any] = {}
        try:
            for chunk in _merged(chunks):
                if isinstance(chunk, bytes):
                    docs.extend(bson.decode_iter(chunk, codec_options=CODEC))
                    continue
                path, start, size = chunk
                handle = handles.get(path) or handles.setdefault(path, open(path, "rb"))  # noqa: SIM115 (closed below)
                handle.seek(start)
                docs.extend(bson.decode_iter(handle.read(size), codec_options=CODEC))
        finally:
            for handle in handles.values():
                handle.close()
        return docs

    def close(self) -> None:
        return None


Chunk = bytes | tuple[Path, int, int]  # a gzipped file's raw document, or (file, offset, length) of a plain one
_USER_ID = b"user_id\x00"


def _owner_key(raw: bytes) -> str:
    at = raw.find(_USER_ID)
    if at > 4 and raw[at - 1] == 0x02 and raw.find(_USER_ID, at + 1) < 0:  # one string `user_id`, nothing else so named
        start = at + len(_USER_ID) + 4
        size = int.from_bytes(raw[start - 4 : start], "little", signed=True)
        if 1 <= size <= len(raw) - start:
            try:
                return raw[start : start + size - 1].decode()
            except UnicodeDecodeError:
                pass
    value = bson.decode(raw, codec_options=CODEC).get("user_id")
    return str(value or "")


def add_chunk(chunks: list[Chunk], chunk: Chunk) -> None:
    """Append `chunk`, extending the last range when it is adjacent (a user's documents are usually contiguous,
    so a user's whole collection is often one range)."""
    last = chunks[-1] if chunks else None
    if isinstance(chunk, tuple) and isinstance(last, tuple) and last[0] == chunk[0] and last[1] + last[2] == chunk[1]:
        chunks[-1] = (last[0], last[1], last[2] + chunk[2])
    else:
        chunks.append(chunk)


def _merged(chunks: list[Chunk]) -> Iterator[Chunk]:
    """Adjacent ranges of the same file as one read (a user's documents are usually contiguous)."""
    pending: tuple[Path, int, int] | None = None
    for chunk in chunks:
        if isinstance(chunk, tuple):
            if pending and pending[0] == chunk[0] and pending[1] + pending[2] == chunk[1]:
                pending = (pending[0], pending[1], pending[2] + chunk[2])
                continue
            if pending:
                yield pending
            pending = chunk
        else:
            if pending:
                yield pending
                pending = None
            yield chunk
    if pending:
        yield pending


class ExportReader:
    def __init__(self, root: Path):
        self._files = {p.name.rsplit(".", 1)[0]: p for p in sorted(root.iterdir()) if p.suffix in EXPORT_SUFFIXES}
        if not self._files:
            raise SourceError(f"{root}: no mongoexport files found (expected <collection>.json, .jsonl or .ndjson)")
        self.label = f"mongoexport files in {root}"

    def collections(self) -> set[str]:
        return set(self._files)

    def documents(self, collection: str) -> Iterator[dict[str, Any]]:
        path = self._files.get(collection)
        if path is None:
            return
        with open(path, encoding="utf-8") as handle:
            head = handle.read(4096).lstrip()
            handle.seek(0)
            if head.startswith("["):  # `mongoexport --jsonArray`
                yield from json_util.loads(handle.read(), json_options=JSON_OPTIONS)
                return
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json_util.loads(line, json_options=JSON_OPTIONS)
                    except (ValueError, json.JSONDecodeError) as exc:
                        raise SourceError(f"{path.name} line {number}: not Extended JSON ({exc})") from exc

    def close(self) -> None:
        return None


class MongoReader:
    def __init__(self, uri: str, *, client_factory: Any = None):
        import pymongo  # imported here: only this source needs a driver connection
        from pymongo.errors import ConfigurationError, PyMongoError

        factory = client_factory or pymongo.MongoClient
        try:
            self._client: Any = factory(uri, tz_aware=False, serverSelectionTimeoutMS=10_000, appname="ipam-import_original")
            self._db = self._client.get_default_database()
            self._names = set(self._db.list_collection_names())
        except ConfigurationError as exc:
            raise SourceError(f"the URI must name the database (mongodb://host/<db>): {exc}") from exc
        except PyMongoError as exc:
            raise SourceError(f"cannot read from MongoDB: {exc}") from exc
        self.label = f"MongoDB database {self._db.name}"

    def collections(self) -> set[str]:
        return set(self._names)

    def documents(self, collection: str) -> Iterator[dict[str, Any]]:
        if collection in self._names:
            yield from self._db[collection].find({}, batch_size=5000)

    def close(self) -> None:
        self._client.close()


def open_source(source: str, *, client_factory: Any = None) -> SourceReader:
    """The reader for SOURCE: a URI, a mongodump directory or a folder of mongoexport files."""
    if source.startswith(("mongodb://", "mongodb+srv://")):
        return MongoReader(source, client_factory=client_factory)
    root = Path(source)
    if not root.is_dir():
        raise SourceError(f"{source}: not a directory and not a mongodb:// URI")
    if any(root.rglob("*.bson")) or any(root.rglob("*.bson.gz")):
        return DumpReader(root)
    return ExportReader(root)
