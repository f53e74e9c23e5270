"""The rendered book: it builds with warnings as errors, a failing cell stops it, and a real browser reads it.

Marked ``book``: ``make test`` runs these after the other tests (``pytest -m book tests``).
The browser is Debian's Chromium (``make browser`` installs it), driven by Playwright.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

import minigpt_lib
from minigpt_lib.lessons import LESSONS

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def book() -> Path:
    """Build the book exactly as `make book` does (lessons executed into the cache in parallel, then -W -n)."""
    result = subprocess.run(["make", "book"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"The book did not build:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return HTML


def test_every_page_is_built(book):
    for stem, _ in LESSONS:
        assert (book / "lessons" / f"{stem}.html").exists(), f"lessons/{stem}.html is missing"
    for page in ("intro", "how_to_use", "glossary", "references", "model_card", "instructor_guide", "benchmarks"):
        assert (book / "book" / f"{page}.html").exists(), f"book/{page}.html is missing"


def test_a_failing_cell_aborts_the_build(tmp_path):
    (tmp_path / "_config.yml").write_text(
        "title: t\nexecute:\n  execute_notebooks: force\n  allow_errors: false\n"
        "sphinx:\n  config:\n    nb_execution_show_tb: true\n", encoding="utf-8"
    )
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: broken\n", encoding="utf-8")
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Broken"]},
            {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
             "source": ["raise RuntimeError('a lesson cell failed')"]},
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 4,
    }
    (tmp_path / "broken.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    result = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(tmp_path), "-W", "-n"],
        capture_output=True, text=True, env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    assert result.returncode != 0, "a cell error must abort the build"
    assert "a lesson cell failed" in result.stdout + result.stderr


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "img", "script", "link"):
                self.links.append(attrs[key])


@functools.cache
def parse(page: Path) -> Links:
    parser = Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_no_broken_internal_link(book):
    broken = []
    for page in book.rglob("*.html"):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        for link in parse(page).links:
            if urlparse(link).scheme or link.startswith(("//", "mailto:", "javascript:")):
                continue
            path, fragment = urldefrag(link)
            path = urlparse(path).path  # without ?v=... cache-busting queries
            target = (page.parent / unquote(path)).resolve() if path else page
            if not target.exists():
                broken.append(f"{page.relative_to(book)} -> {link}")
            elif fragment and target.suffix == ".html" and fragment not in parse(target).ids:
                broken.append(f"{page.relative_to(book)} -> {link} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:30])


def test_colab_links_point_at_the_repository_notebooks(book):
    slug = minigpt_lib.REPO_URL.removeprefix("https://github.com/")
    for stem, _ in LESSONS:
        links = [link for link in parse(book / "lessons" / f"{stem}.html").links if "colab.research.google.com" in link]
        assert links, f"{stem}: no Colab link"
        for link in links:
            match = re.fullmatch(r"https://colab\.research\.google\.com/github/(.+?)/blob/main/(lessons/.+\.ipynb)", link)
            assert match, f"{stem}: unexpected Colab link {link}"
            assert match.group(1) == slug, f"{stem}: the Colab link names {match.group(1)}, not {slug}"
            assert (ROOT / match.group(2)).exists(), f"{stem}: the Colab link opens {match.group(2)}, which does not exist"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(book):
    handler = functools.partial(QuietHandler, directory=str(book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: `make browser` installs Debian's chromium (CI must run it).")
        pytest.skip("Chromium is not installed (run `make browser`).")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


def plotting_cells(stem: str) -> int:
    """How many code cells of a lesson always draw a figure (plt.show() at the top level, not under an if)."""
    notebook = json.loads((ROOT / "lessons" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    return sum(any(line.startswith("plt.show()") for line in source.splitlines()) for source in cells)


PAGES = [f"lessons/{stem}.html" for stem, _ in LESSONS] + [
    f"book/{p}.html" for p in ("intro", "how_to_use", "glossary", "references", "model_card", "instructor_guide", "benchmarks")
]


@pytest.mark.parametrize("page_path", PAGES)
def test_page_in_a_real_browser(page_path, server, browser):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/{page_path}", wait_until="load")
    # Wait until MathJax has typeset the page (it is shipped with the book: no network needed).
    page.wait_for_function("() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)")
    page.evaluate("() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null")
    title = page.locator("main h1").first.inner_text()
    state = page.evaluate(
        """() => ({
            math: document.querySelectorAll('main .math').length,
            typeset: document.querySelectorAll('main mjx-container').length,
            raw: [...document.querySelectorAll('main .math')].filter(e => !e.querySelector('mjx-container')).length,
            images: [...document.querySelectorAll('main img')].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]),
            figures: document.querySelectorAll('main .cell_output img').length,
        })"""
    )
    page.close()
    assert not errors, f"{page_path}: JavaScript errors {errors}"
    assert title.strip(), f"{page_path}: no title"
    broken_images = [src for src, ok in state["images"] if not ok]
    assert not broken_images, f"{page_path}: images that did not load: {broken_images}"
    assert state["raw"] == 0, f"{page_path}: {state['raw']} formulas were not typeset by MathJax"
    if page_path.startswith("lessons/"):
        stem = Path(page_path).stem
        number = stem[:2]
        assert title.startswith(f"{number}."), f"{page_path}: title {title!r} should start with {number}."
        plots = plotting_cells(stem)
        assert state["figures"] >= plots, f"{page_path}: {plots} cells draw figures but the page shows {state['figures']}"
