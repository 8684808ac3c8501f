"""Trust: exactly-once accounting under races, tenant isolation, the role table, no 5xx for any input, secrets."""
