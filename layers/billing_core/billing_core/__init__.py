"""billing_core: the accounting of remote support sessions, shared by every function as a Lambda layer."""
