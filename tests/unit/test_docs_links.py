"""README.md and docs/ stay navigable and in step with the dbt YAML (issue 18 item 8).

Every relative link of README.md and docs/*.md must reach a file or folder of the repository,
and a `#fragment` must name a heading of the target page (GitHub's anchors). docs/marts.md must
name every mart model of dbt_project/models/marts (its domain folders), and every column its
tables name must be a column of that mart in the YAML, so the page cannot drift from the models.
The Markdown is parsed with markdown-it-py, so links inside code are not links.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARTS_PAGE = ROOT / "docs" / "marts.md"
MARTS_YAML = sorted((ROOT / "dbt_project" / "models" / "marts").rglob("_*.yml"))
MD = MarkdownIt("commonmark").enable("table")
NAME = re.compile(r"`([a-z][a-z0-9_]*)`")


def _inline(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _inline(token.children)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    tokens = MD.parse(page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set()
    for opening, inline in itertools.pairwise(tokens):
        if opening.type != "heading_open":
            continue
        base = slug("".join(t.content for t in _inline(inline.children or [])))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[str]:
    tokens = MD.parse(page.read_text(encoding="utf-8"))
    return [
        str(t.attrs.get("href") or t.attrs.get("src"))
        for t in _inline(tokens)
        if t.type in ("link_open", "image")
    ]


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """The links of `page` that reach no file under `root`, or no heading of their page."""
    broken = []
    for href in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", href):  # https:, mailto:
            continue
        path, _, fragment = href.partition("#")
        target = (page.parent / path).resolve() if path else page
        missing = not target.exists() or not target.is_relative_to(root)
        unknown_anchor = fragment and target.suffix == ".md" and fragment not in anchors(target)
        if missing or unknown_anchor:
            broken.append(href)
    return broken


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    """Files, folders and `#anchors` of README.md and docs/ all exist."""
    assert broken_links(page) == []


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n## A `code` heading: yes\n\n[ok](#a-code-heading-yes) [bad](#nowhere)\n"
        "[gone](missing.md) `[in code](missing.md)` [ext](https://example.com)\n",
        encoding="utf-8",
    )
    assert broken_links(page, tmp_path) == ["#nowhere", "missing.md"]


def test_readme_stays_short_and_links_every_docs_page() -> None:
    readme = ROOT / "README.md"
    assert len(readme.read_text(encoding="utf-8").splitlines()) <= 300
    assert "docs/marts.md" in links(readme)  # the parser finds links at all
    linked = {(ROOT / href.partition("#")[0]).resolve() for href in links(readme)}
    assert [p.name for p in PAGES[1:] if p.resolve() not in linked] == []


def _mart_columns() -> dict[str, set[str]]:
    marts: dict[str, set[str]] = {}
    for path in MARTS_YAML:
        for model in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]:
            marts[model["name"]] = {column["name"] for column in model.get("columns", [])}
    return marts


def _sections(text: str) -> Iterator[tuple[str, str]]:
    """(heading, body) for each `##`/`###` section of the page."""
    parts = re.split(r"^(#{2,3} .*)$", text, flags=re.MULTILINE)
    yield from zip(parts[1::2], parts[2::2], strict=True)


def unknown_columns(text: str, marts: dict[str, set[str]]) -> list[str]:
    """Columns a table names that no mart of its section heading has."""
    unknown = []
    for heading, body in _sections(text):
        owners = [m for name in NAME.findall(heading) for m in [name.split(".")[0]] if m in marts]
        if not owners:
            continue
        known = set().union(*(marts[m] for m in owners))
        for row in re.findall(r"^\| ([^|\n]*) \|", body, flags=re.MULTILINE):
            for column in NAME.findall(row):
                if column not in known and column not in marts:
                    unknown.append(f"{owners[0]}.{column}")
    return unknown


def test_marts_page_names_every_mart_of_the_yaml() -> None:
    marts = _mart_columns()
    assert len(marts) >= 20
    text = MARTS_PAGE.read_text(encoding="utf-8")
    named = {m for m in marts if re.search(rf"`(marts\.)?{m}`", text)}
    assert sorted(set(marts) - named) == []


def test_marts_page_columns_are_columns_of_the_yaml() -> None:
    marts = _mart_columns()
    text = MARTS_PAGE.read_text(encoding="utf-8")
    assert unknown_columns(text, marts) == []
    # the check bites: a column the YAML does not have is reported under its mart
    planted = text.replace("| `recency_days` |", "| `recency_dayz` |", 1)
    assert planted != text
    assert unknown_columns(planted, marts) == ["customer_rfm.recency_dayz"]
