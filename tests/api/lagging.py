"""An eventually consistent index, in moto: what DynamoDB documents for a GSI (a write reaches it
a moment later) and moto's indexes never do. `Lag.freeze()` keeps every index Query answering
the table as it is now, until `release()` or `seconds` have passed; base-table reads stay
current. `after_queries(n, action)` runs `action` once the n-th Query has been answered to the
function (a write that commits between a request's reads)."""
import copy
import time

from moto.dynamodb.models import table as moto_table


class Lag:
    def __init__(self, monkeypatch):
        self.frozen: dict | None = None
        self.until = 0.0
        self.queries = 0
        self.hooks: list[tuple[int, object]] = []
        original = moto_table.Table.query
        lag = self

        def query(table, *args, **kwargs):
            index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
            live = table.items
            stale = lag.frozen is not None and index_name and time.monotonic() < lag.until
            if stale:
                table.items = lag.frozen.get(table.name, live)
            try:
                answer = original(table, *args, **kwargs)
            finally:
                table.items = live
            return answer

        monkeypatch.setattr(moto_table.Table, "query", query)

        # the hooks run where the function is, once its Query was answered: the store serves each
        # request under its lock (a write from inside its Query would wait for itself), and the
        # write is the test's, not the function's (no function policy applies to it)
        from botocore.client import BaseClient

        from billing_local import identity

        call = BaseClient._make_api_call

        def make_api_call(client, operation, params):
            answer = call(client, operation, params)
            if operation == "Query":
                lag.queries += 1
                for hook in [h for h in lag.hooks if h[0] == lag.queries]:
                    lag.hooks.remove(hook)
                    with identity.outside():
                        hook[1]()
            return answer

        monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)

    def freeze(self, seconds: float = 0.3) -> None:
        """Index reads answer the table as it is now for `seconds` (then they catch up)."""
        from moto.dynamodb.models import dynamodb_backends

        tables = {}
        for account in dynamodb_backends.values():
            for backend in account.values():
                for name, table in backend.tables.items():
                    tables[name] = copy.deepcopy(table.items)
        self.frozen, self.until = tables, time.monotonic() + seconds

    def release(self) -> None:
        self.frozen = None

    def after_queries(self, count: int, action) -> None:
        """Runs `action` right after the `count`-th Query from now has been answered."""
        self.hooks.append((self.queries + count, action))
