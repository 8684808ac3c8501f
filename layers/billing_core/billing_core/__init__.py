"""billing_core: the accounting of remote support sessions, shared by every function as a Lambda layer.

In Lambda (AWS_LAMBDA_FUNCTION_NAME set), a cold start imports ~250 modules, whose objects live as
long as the process; the garbage collector's passes over them during the imports cost 5-15 ms of
CPU time (docs/benchmarks.md, table 2). It is held off until the imports are done: the first
invocation (billing_core.observability.begin) freezes what they created (gc.freeze: never
scanned again) and turns it back on. Anywhere else (tests, the local stack) nothing changes."""
import gc
import os

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and gc.isenabled():
    gc.disable()
    imports_hold_gc = True
else:
    imports_hold_gc = False
