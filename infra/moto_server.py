"""A moto server on loopback that behaves like one AWS account: every request is served under one lock.

moto's threaded server is not atomic: concurrent conditional writes (TransactWriteItems on one guard
item) can both win. DynamoDB serialises them; one lock around moto's WSGI app does the same here. This
module is the one place that knows it; the tests and the local stack both start moto through it.

Under that lock a transaction also needs no copy of its tables: moto deep-copies every table a
TransactWriteItems writes to (once per item), so that it can put the copy back if the transaction is
cancelled, which makes a transaction cost grow with the table (about 47 ms at 1k items, 1 s at 20k). Here a
transaction saves only the items it names (and where the table's stream ended) and puts those back, so it
costs the same at any table size, as on DynamoDB. Likewise a Query on a table's key reads only that partition
(moto lists and sorts the whole table for each Query), and a projection copies only what it names.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.ses.models import ses_backends
from moto.sqs.models import sqs_backends

from infra.serving import BackgroundServer

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per AWS call drowns everything else the local stack prints


def serialised(app: WSGIApp, lock: threading.Lock) -> WSGIApp:
    def locked_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            # Drain the body inside the lock: moto builds some responses lazily.
            return list(app(environ, start_response))

    return locked_app


def answering_preflights(app: WSGIApp) -> WSGIApp:
    """A browser's CORS preflight (the organiser page calls Cognito straight from the browser) answered as AWS's
    endpoints answer it: any origin, the method and headers asked for. moto answered it itself up to 5.2.5; 5.2.6
    routes an `OPTIONS /` to S3, which fails with a 500, so every sign-in from the page failed."""

    def preflight_or_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        if environ.get("REQUEST_METHOD") != "OPTIONS" or not asked:
            return app(environ, start_response)
        headers = [
            ("Access-Control-Allow-Origin", environ.get("HTTP_ORIGIN") or "*"),
            ("Access-Control-Allow-Methods", asked),
            ("Access-Control-Allow-Headers", environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")),
            ("Access-Control-Max-Age", "600"),
            ("Content-Length", "0"),
        ]
        start_response("200 OK", headers)
        return [b""]

    return preflight_or_app


class _TablesKept:
    """`copy` as moto's DynamoDB backend sees it, except that a whole table is kept, not copied: its
    transactions put back the items they saved instead (below)."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


class _Saved:
    """The items a transaction names, as they were before it, and the length of each table's stream."""

    def __init__(self, backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        self._items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = []
        self._streams: dict[int, tuple[Table, int]] = {}
        for entry in transact_items:
            operation: Any = next(iter(entry.values()), {})
            table = backend.tables.get(operation.get("TableName", "")) if isinstance(operation, dict) else None
            key = (operation.get("Item") or operation.get("Key")) if table is not None else None
            if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
                continue  # moto refuses the request itself; nothing of it is written
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in key:
                    continue
                range_value = DynamoType(key[table.range_key_attr])
            current: Any = table.items.get(hash_value)
            if range_value is not None:
                current = current.get(range_value) if isinstance(current, dict) else None
            self._items.append((table, hash_value, range_value, copy.deepcopy(current)))
            if table.stream_shard is not None:
                self._streams.setdefault(id(table), (table, len(table.stream_shard.items)))

    def restore(self) -> None:
        """Every saved item back as it was (removed if it did not exist), and no stream record of the transaction."""
        for table, hash_value, range_value, before in reversed(self._items):  # a key named twice: first state last
            items: Any = table.items  # {hash: item}, or {hash: {range: item}} for a table with a range key
            if range_value is None:
                if before is None:
                    items.pop(hash_value, None)
                else:
                    items[hash_value] = before
                continue
            ranges = items.setdefault(hash_value, {})
            if before is None:
                ranges.pop(range_value, None)
            else:
                ranges[range_value] = before
            if not ranges:
                del items[hash_value]
        for table, length in self._streams.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]


def _transactions_without_table_copies() -> None:
    """Once per process: moto's TransactWriteItems saves and restores only the items it names. Safe only where
    every request is served under one lock (nothing else writes to those items meanwhile)."""
    if getattr(DynamoDBBackend.transact_write_items, "saves_items_only", False):
        return
    original = DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = _Saved(self, transact_items)
        try:
            original(self, transact_items)
        except Exception:
            saved.restore()
            raise

    transact_write_items.saves_items_only = True  # type: ignore[attr-defined]
    setattr(dynamodb_models, "copy", _TablesKept)  # noqa: B010  (the module's `copy`, which moto's code calls)
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _queries_read_their_partition() -> None:
    """Once per process: a Query on a table's key reads that partition, not the whole table, and a Query on an
    index sorts only the items whose index key it names. moto lists and sorts every item of the table for each
    Query, so per-attendee queries (attendance, signals, outbox) and a bulk job's page reads (one index Query per
    25 registrations) grow with the table; DynamoDB reads one partition. An index Query still walks the table's
    items (a plain comparison each, no index kept beside moto's); scans are left as moto does them. Safe only where
    every request is served under one lock (what the call reads is noted on the table for the call)."""
    if getattr(Table.query, "reads_partition_only", False):
        return
    original_query, original_all_items = Table.query, Table.all_items

    @functools.wraps(original_query)
    def query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")  # moto's backend passes it 8th
        # What the call reads: an index's items with these key values, or one partition of the table.
        reading = ("index", kwargs.get("hash_key_conditions") or None) if index_name else ("partition", hash_key)
        if reading[1] is None:
            return original_query(self, hash_key, *args, **kwargs)
        self.__dict__["_query_reads"] = reading
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            del self.__dict__["_query_reads"]

    @functools.wraps(original_all_items)
    def all_items(self: Table) -> list[Item]:
        reading = self.__dict__.get("_query_reads")
        if reading is None:
            return original_all_items(self)
        kind, what = reading
        if kind == "index":
            items = [item for item in _every_item(self) if _has_values(item, what)]
        else:
            found: Any = self.items.get(what)
            items = [] if found is None else list(found.values()) if self.range_key_attr else [found]
        # In key order, as moto's own list is (an index's sort keeps it among equal index keys).
        return sorted(items, key=lambda item: (item.hash_key, item.range_key) if item.range_key else item.hash_key)

    query.reads_partition_only = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def _every_item(table: Table) -> Iterator[Item]:
    stored: Any
    for stored in table.items.values():  # {hash: item}, or {hash: {range: item}} for a table with a range key
        yield from stored.values() if table.range_key_attr else (stored,)


def _has_values(item: Item, values: list[tuple[str, DynamoType]]) -> bool:
    """Whether the item holds each (attribute, value): DynamoType's comparison, its cast (a number's) only where
    the stored text differs."""
    for name, expected in values:
        held = item.attrs.get(name)
        if held is None or held.type != expected.type:
            return False
        if held.value != expected.value and held.cast_value != expected.cast_value:
            return False
    return True


def _projections_copy_their_attributes() -> None:
    """Once per process: a projection of top-level attributes copies those attributes. moto converts the whole item
    to plain JSON once per name projected: an attendee read of its 19 fields converted its thousand attendance
    minutes 19 times (11 % of the scale run). Nested paths (a.b, a[1]) are left to moto."""
    if getattr(Item.project, "copies_attributes_only", False):
        return
    original = Item.project

    @functools.wraps(original)
    def project(self: Item, projection_expressions: list[list[str]]) -> Item:
        if any(len(path) != 1 or "[" in path[0] for path in projection_expressions):
            return original(self, projection_expressions)
        names = [path[0] for path in projection_expressions if path[0] in self.attrs]
        attrs = {name: self.attrs[name].to_regular_json() for name in names}
        return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=attrs)

    project.copies_attributes_only = True  # type: ignore[attr-defined]
    Item.project = project  # type: ignore[method-assign]


class LockedMotoServer(BackgroundServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        _transactions_without_table_copies()
        _queries_read_their_partition()
        _projections_copy_their_attributes()
        self._lock = threading.Lock()
        app = answering_preflights(serialised(DomainDispatcherApplication(create_backend_app), self._lock))
        super().__init__(app, host, port, request_handler=_QuietRequestHandler, name="moto")

    def clear_data(self) -> None:
        """Every item, stream record, sent email and queued message gone; the resources stay, as just deployed.

        Between tests: moto keeps every stream record and sent message for the life of the process, so a long
        run slows down (readers walk the whole stream) and grows. Deleting items one by one would add a REMOVE
        record each; this empties the stores directly, under the lock every request is served under.
        """
        with self._lock:
            for dynamodb in dynamodb_backends[DEFAULT_ACCOUNT_ID].values():
                for table in dynamodb.tables.values():
                    table.items.clear()
                    if table.stream_shard is not None:
                        # Later records keep growing sequence numbers, as a trimmed DynamoDB stream's do.
                        table.stream_shard.starting_sequence_number += len(table.stream_shard.items)
                        table.stream_shard.items.clear()
            for ses in ses_backends[DEFAULT_ACCOUNT_ID].values():
                ses.sent_messages.clear()
                ses.sent_message_count = 0
            for sqs in sqs_backends[DEFAULT_ACCOUNT_ID].values():
                for queue in sqs.queues.values():
                    queue._messages.clear()
                    queue._pending_messages.clear()
