"""The built documentation site reads clean: no raw reST markup reaches a reader.

Docstrings are Markdown (cross-references as ``[`name`][lecture_rl.path]`` links that
mkdocstrings' autorefs resolves, examples as fenced code). A reST role such as
``:class:`X``` or a ``Usage::`` literal marker is not rendered by mkdocstrings: it reaches the
page as those characters. This test builds the site (``mkdocs build --strict``, as CI does) and
scans every page's HTML for them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# `:meth:` followed by the code span or backtick the role decorated.
RAW_ROLE = re.compile(r":(?:meth|class|func|mod|attr|data|exc|obj|ref|py:\w+):(?=<code>|`)")


class _ProseText(HTMLParser):
    """Collect the text of a page outside `<pre>` blocks (code may legitimately hold `::`)."""

    def __init__(self) -> None:
        super().__init__()
        self.pre_depth = 0
        self.paragraph_ends: list[str] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self.pre_depth += 1
        if tag in {"p", "li", "dd", "td"}:
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        if tag in {"p", "li", "dd", "td"} and self.pre_depth == 0:
            self.paragraph_ends.append("".join(self._text).rstrip())

    def handle_data(self, data: str) -> None:
        if self.pre_depth == 0:
            self._text.append(data)


def raw_markup(html: str) -> list[str]:
    """Return the raw reST markup found in one page's HTML (empty when it reads clean).

    Args:
        html: the page's HTML.

    Returns:
        A short excerpt around each raw role, and each paragraph that ends in a `::` literal
        marker (reST's "the block below is code", which Markdown renders as two colons).
    """
    found = [html[max(0, m.start() - 40) : m.end() + 30] for m in RAW_ROLE.finditer(html)]
    prose = _ProseText()
    prose.feed(html)
    found += [text[-80:] for text in prose.paragraph_ends if re.search(r"\w::$", text)]
    return found


def test_the_scan_catches_a_raw_role_and_a_literal_marker() -> None:
    role = "<p>Subclasses implement :meth:<code>_learn</code> and raise X.</p>"
    marker = "<p>Usage::</p><pre><code>agent.learn()</code></pre>"
    clean = "<p>See <a href='#x'><code>Agent.learn</code></a>.</p><pre><code>a::b</code></pre>"
    assert raw_markup(role)
    assert raw_markup(marker) == ["Usage::"]
    assert raw_markup(clean) == []


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    return site


def test_the_built_site_has_no_raw_rest_markup(built_site: Path) -> None:
    pages = sorted(built_site.rglob("*.html"))
    api_pages = [page for page in pages if "api" in page.relative_to(built_site).parts]
    assert api_pages, "the site has no API reference pages"
    problems = {
        str(page.relative_to(built_site)): found
        for page in pages
        if (found := raw_markup(page.read_text(encoding="utf-8")))
    }
    assert not problems, f"raw reST markup on the built pages: {problems}"
