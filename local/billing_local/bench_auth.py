"""Staff requests through the JWT authorizer against the Lambda authorizer, on the local stack's
own pieces (the strict embedded AWS, the gateway, the template's functions):

    python -m billing_local.bench_auth [--requests 1000]

For each way in, one person (or one API token) makes --requests GET /v1/groups through the gateway;
the bench counts the functions run (authorizer, handler, the pool's token trigger) and times the
authorizer's part of each request: the Lambda authorizer's invocation (its handler and its
consistent GetItem on the embedded DynamoDB) or the JWT check (signature with the cached JWKS,
issuer, audience, expiry, scope). The local gateway keeps no authorizer cache: the Lambda figures
are those of a cache miss, what every request costs with AuthorizerCacheSeconds=0 (what API
Gateway does with the cache comes from its documentation, docs/operations.md)."""
import argparse
import os
import statistics
import time
from collections import Counter
from contextlib import contextmanager


@contextmanager
def _world():
    from .store import EmbeddedStore
    from .strict import Rules

    os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1",
                       "AWS_DEFAULT_REGION": "us-east-1", "TABLE_NAME": "bench-auth", "EXPORTS_BUCKET": "bench-auth",
                       "POWERTOOLS_SERVICE_NAME": "billing", "POWERTOOLS_METRICS_DISABLED": "true",
                       "POWERTOOLS_LOG_LEVEL": "ERROR"})
    store = EmbeddedStore(0, None, rules=Rules(index_lag_ms=0))
    os.environ["AWS_ENDPOINT_URL"] = store.start()
    try:
        yield store
    finally:
        store.stop()


def run(requests: int) -> dict:
    import boto3

    from billing_core import tenants

    from . import cognito, gateway, template

    with _world():
        template.create_table(boto3.client("dynamodb"), os.environ["TABLE_NAME"])
        idp = boto3.client("cognito-idp")
        pool = cognito.create_pool(idp)
        tenant_id = tenants.create_tenant("Bench IT")["tenant_id"]
        token = tenants.issue_token(tenant_id, "technician", "bench")["token"]
        cognito.add_user(idp, pool["user_pool_id"], tenant_id, "technician", "tech@bench.example", "Bench-12345-Pw1")
        api = gateway.Gateway()
        runs: Counter = Counter()
        timed: dict[str, list[float]] = {"lambda": [], "jwt": []}
        original_run, original_staff = api.run, api._staff

        def counted_run(function, handler, event):
            started = time.perf_counter()
            try:
                return original_run(function, handler, event)
            finally:
                if function == api.authorizer_id:
                    timed["lambda"].append(time.perf_counter() - started)

        def timed_staff(event):
            started = time.perf_counter()
            try:
                return original_staff(event)
            finally:
                timed["jwt"].append(time.perf_counter() - started)

        api.run, api._staff = counted_run, timed_staff
        original_invoke = gateway.invoke_function

        def counted_invoke(function, handler, event, **kwargs):  # the token trigger runs through this
            runs[function] += 1
            return original_invoke(function, handler, event, **kwargs)

        gateway.invoke_function = counted_invoke
        try:
            access = cognito.sign_in(idp, pool["client_id"], "tech@bench.example", "Bench-12345-Pw1")["AccessToken"]
            figures = {}
            for way, bearer in (("lambda", token), ("jwt", access)):
                runs.clear()
                for _ in range(requests):
                    status, _, _ = api.invoke("GET", "/v1/groups", {"authorization": f"Bearer {bearer}"})
                    assert status == 200, status
                samples = sorted(timed[way][-requests:])
                figures[way] = {"authorizer_invocations": runs[api.authorizer_id], "handler_invocations": runs["AddressBookFunction"],
                                "median_ms": statistics.median(samples) * 1000, "p95_ms": samples[int(len(samples) * 0.95) - 1] * 1000}
            runs.clear()
            cognito.sign_in(idp, pool["client_id"], "tech@bench.example", "Bench-12345-Pw1")
            figures["sign_in_trigger_invocations"] = runs[template.token_trigger_function()]
        finally:
            gateway.invoke_function = original_invoke
        return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m billing_local.bench_auth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args(argv)
    figures = run(args.requests)
    print(f"{args.requests} staff requests (GET /v1/groups), local, per way in:")
    for way, label in (("lambda", "Lambda authorizer (API token, no cache)"), ("jwt", "JWT authorizer (access token)")):
        f = figures[way]
        print(f"  {label:<42} authorizer invocations {f['authorizer_invocations']:>5}, handler {f['handler_invocations']:>5}, "
              f"authorizer time median {f['median_ms']:.2f} ms, p95 {f['p95_ms']:.2f} ms")
    print(f"  token trigger invocations per sign-in: {figures['sign_in_trigger_invocations']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
