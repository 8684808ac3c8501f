"""Readers of the connection logs that remote-support tools already keep, one module per tool.

Each reader turns the tool's own export (its web API's JSON, or its CSV report) into
`Connection`s, one per connection the tool recorded, and `Rejected` lines for the rows it cannot
read, naming the line (or record) and the tool's own field. A bad row never stops the others.
Content that is not that tool's format at all is an InvalidInput on `content`.

What a reader knows of its tool comes from the tool's public documentation, cited at the top of
each module; where a document gives no example file, the module and its test fixture say so."""
import importlib

from .reading import Connection, Options, Parsed, Rejected, RowError  # noqa: F401

SOURCES = ("teamviewer", "anydesk", "screenconnect", "rustdesk", "splashtop", "supremo", "generic")


def reader(source: str):
    """The module that reads `source` (one of SOURCES)."""
    return importlib.import_module(f"{__name__}.{source}")
