"""How the LaTeXML walker reads a parsed tree: selectolax (the default) or lxml.

The walker only asks for children, tag, classes and an attribute, so the same rules run over
either parser (scripts/bench_collect.py measured both).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class Backend(Protocol):
    """How the walker reads one parsed tree."""

    def children(self, node: Any) -> Iterator[Any]: ...  # elements, or str for text
    def tag(self, node: Any) -> str: ...
    def classes(self, node: Any) -> set[str]: ...
    def attr(self, node: Any, name: str) -> str | None: ...


class SelectolaxBackend:
    """selectolax's Lexbor parser (the default: measured fastest)."""

    def parse(self, html: str) -> Any:
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(html)
        return (
            tree.css_first("article.ltx_document")
            or tree.css_first(".ltx_page_content")
            or tree.body
        )

    def children(self, node: Any) -> Iterator[Any]:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                yield child.text(deep=False)
            elif not tag.startswith(("_", "!", "-")):
                yield child

    def tag(self, node: Any) -> str:
        return str(node.tag).lower()

    def classes(self, node: Any) -> set[str]:
        value = node.attributes.get("class")
        return set(value.split()) if value else set()

    def attr(self, node: Any, name: str) -> str | None:
        value = node.attributes.get(name)
        return None if value is None else str(value)


class LxmlBackend:
    """lxml.html (the measured alternative)."""

    def parse(self, html: str) -> Any:
        import lxml.html

        if not html.strip():
            return None
        root = lxml.html.document_fromstring(html)
        found = root.xpath(
            "//article[contains(concat(' ', normalize-space(@class), ' '), ' ltx_document ')]"
        )
        return found[0] if found else root.find("body") if root.find("body") is not None else root

    def children(self, node: Any) -> Iterator[Any]:
        if node.text:
            yield node.text
        for child in node:
            if isinstance(child.tag, str):
                yield child
            if child.tail:
                yield child.tail

    def tag(self, node: Any) -> str:
        tag = str(node.tag)
        return tag.rsplit("}", 1)[-1].lower()

    def classes(self, node: Any) -> set[str]:
        value = node.get("class")
        return set(value.split()) if value else set()

    def attr(self, node: Any, name: str) -> str | None:
        value = node.get(name)
        return None if value is None else str(value)


class Without:
    """A view of a node without its children of one class (the list item's own bullet)."""

    def __init__(self, node: Any, cls: str) -> None:
        self.node, self.cls = node, cls


class ViewBackend:
    """Wraps a backend so ``Without`` views behave as their node minus the hidden children."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner

    def children(self, node: Any) -> Iterator[Any]:
        if isinstance(node, Without):
            for child in self.inner.children(node.node):
                if isinstance(child, str) or node.cls not in self.inner.classes(child):
                    yield child
            return
        yield from self.inner.children(node)

    def tag(self, node: Any) -> str:
        return self.inner.tag(node.node if isinstance(node, Without) else node)

    def classes(self, node: Any) -> set[str]:
        return self.inner.classes(node.node if isinstance(node, Without) else node)

    def attr(self, node: Any, name: str) -> str | None:
        return self.inner.attr(node.node if isinstance(node, Without) else node, name)


BACKENDS: dict[str, SelectolaxBackend | LxmlBackend] = {
    "selectolax": SelectolaxBackend(),
    "lxml": LxmlBackend(),
}
