"""Data access: the only package that knows the table. Keys, condition expressions, transaction
assembly, retries, ClientRequestTokens and the decoding of failures live here, behind operations
named for what they do (lock sessions, append to the ledger, claim an idempotency key); the
domain modules outside it see values and typed outcomes, never a model, a condition or a
transaction."""
