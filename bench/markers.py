"""Generated text in a hand-written document: each block between its own pair of HTML comments,
`<!-- NAME:start -->` and `<!-- NAME:end -->`, the only part of the document the bench rewrites."""

from pathlib import Path


def replace_between_markers(path: Path, name: str, text: str) -> None:
    """Put `text` between `<!-- name:start -->` and `<!-- name:end -->`, the only part of `path` it changes.

    Each marker must be there exactly once, start before end; otherwise nothing is written.
    """
    document = path.read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if document.count(start) != 1 or document.count(end) != 1 or document.index(start) > document.index(end):
        raise ValueError(f"{path} must hold {start} and then {end}, once each")
    head, rest = document.split(start)
    _, tail = rest.split(end)
    path.write_text(f"{head}{start}\n{text.rstrip()}\n{end}{tail}")


def add_markers(path: Path, name: str, heading: str) -> None:
    """Append a section `heading` holding the (empty) pair of markers `name` to `path`, unless either
    marker is there already: a block the document has never held gets a place at its end."""
    document = path.read_text()
    if f"<!-- {name}:start -->" in document or f"<!-- {name}:end -->" in document:
        return
    path.write_text(f"{document.rstrip()}\n\n{heading}\n\n<!-- {name}:start -->\n<!-- {name}:end -->\n")
