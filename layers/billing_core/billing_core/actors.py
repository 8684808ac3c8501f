"""Who did it, as the audit keeps it: every history line, ledger entry, lock, invoice and period
close stores its actor as one text, `<role>:<token_id>` for an API token and
`<role>:user:<user id>:<name>` for a person signed in with the user pool (the name as it was
then: an audit line keeps naming who acted after they are renamed or leave). `view` answers it as
`{kind: user|token, id, name}` beside the role; a token's name is its label, looked up by the
caller (`labels`), since a token is relabelled without rewriting the history."""
from dataclasses import dataclass

USER, TOKEN = "user", "token"


@dataclass(frozen=True)
class Actor:
    kind: str  # USER or TOKEN
    id: str  # the user's id (the pool's `sub`) or the token id
    name: str | None  # the user's name or email; a token's label (None until looked up)
    role: str
    tenant_id: str = ""

    @property
    def text(self) -> str:
        if self.kind == USER:
            return f"{self.role}:{USER}:{self.id}:{self.name or ''}"
        return f"{self.role}:{self.id}"

    def view(self) -> dict:
        return {"kind": self.kind, "id": self.id, "name": self.name}


def parse(text: str | None) -> Actor | None:
    """The stored text back as an Actor (None for an entry without one, e.g. a system change)."""
    role, _, rest = (text or "").partition(":")
    if not rest:
        return None
    if rest.startswith(f"{USER}:"):
        user_id, _, name = rest[len(USER) + 1:].partition(":")
        return Actor(USER, user_id, name or None, role)
    return Actor(TOKEN, rest, None, role)


def view(text: str | None, labels: dict[str, str | None] | None = None) -> tuple[dict | None, str | None]:
    """(`{kind, id, name}` or None, role or None) of a stored actor; `labels`: token id → label."""
    actor = parse(text)
    if actor is None:
        return None, (text or "").partition(":")[0] or None
    answer = actor.view()
    if actor.kind == TOKEN and labels is not None:
        answer["name"] = labels.get(actor.id)
    return answer, actor.role


def name_tokens(entries: list[dict], labels_of, keys: tuple[str, ...] = ("actor",)) -> list[dict]:
    """Answered entries with each token actor (under `keys`) named by its label (`labels_of()`:
    token id → label, called once, and only when an entry names a token)."""
    named = [entry[key] for entry in entries for key in keys if (entry.get(key) or {}).get("kind") == TOKEN]
    if named:
        labels = labels_of()
        for actor in named:
            actor["name"] = labels.get(actor["id"])
    return entries
