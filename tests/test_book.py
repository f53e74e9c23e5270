"""The rendered book: it builds with warnings as errors, a failing cell stops it, and a real browser reads it.

Marked ``book``: ``make test`` runs these after the other tests (``pytest -m book tests``).
The browser is Debian's Chromium (``make browser`` installs it), driven by Playwright.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import unicodedata
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
            # A lesson with exercises opens its student version (minigpt_lib.student.colab_url), the others the lesson.
            match = re.fullmatch(
                r"https://colab\.research\.google\.com/github/(.+?)/blob/main/((?:lessons|student)/.+\.ipynb)", link
            )
            assert match, f"{stem}: unexpected Colab link {link}"
            assert match.group(1) == slug, f"{stem}: the Colab link names {match.group(1)}, not {slug}"
            assert (ROOT / match.group(2)).exists(), f"{stem}: the Colab link opens {match.group(2)}, which does not exist"
            assert match.group(2).endswith(f"/{stem}.ipynb"), f"{stem}: the Colab link opens another lesson"


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


# --- The reading surface: fonts, width, widgets, interface language (issue 11) ---------------------------------

DESKTOP = {"width": 1280, "height": 900}
MONO = "Noto Sans Mono"
FONTS_CSS = ROOT / "book" / "_static" / "fonts" / "fonts.css"


def shipped_ranges(family: str) -> list[tuple[int, int]]:
    """The code points that the book's own font files cover, from the unicode-range of each @font-face."""
    ranges = []
    for face in re.findall(r"@font-face\s*{(.*?)}", FONTS_CSS.read_text(encoding="utf-8"), re.DOTALL):
        if f'font-family: "{family}"' not in face:
            continue
        for low, high in re.findall(r"U\+([0-9A-F]+)(?:-([0-9A-F]+))?", face.split("unicode-range:")[1]):
            ranges.append((int(low, 16), int(high or low, 16)))
    return ranges


def covered(char: str, ranges: list[tuple[int, int]]) -> bool:
    return any(low <= ord(char) <= high for low, high in ranges)


def letter_of_the_font(char: str) -> bool:
    """ASCII or a precomposed Latin letter (Vietnamese ones included): the shipped font has each of them."""
    return (char.isascii() and char.isprintable()) or "\u00c0" <= char <= "\u024f" or "\u1e00" <= char <= "\u1eff"


@contextlib.contextmanager
def offline_page(browser, server, page_path, viewport=DESKTOP):
    """A page opened with every request outside the book's own server refused; `page.external` lists them."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.external = []
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))

    def only_the_book(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            page.external.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_book)
    page.goto(f"{server}/{page_path}", wait_until="load")
    page.evaluate("() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    try:
        yield page
    finally:
        context.close()


# Every text node of code and outputs that holds a letter beyond ASCII gets its parent marked for the font probe.
MARK_TEXT = """() => {
  const blocks = [...document.querySelectorAll('main div.cell_input pre, main div.cell_output pre, main div.highlight pre')];
  const probes = [];
  for (const [b, pre] of blocks.entries()) {
    const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!/[\\u00c0-\\u024f\\u1e00-\\u1eff]/.test(node.data) || el.hasAttribute('data-font-probe')) continue;
      el.setAttribute('data-font-probe', probes.length);
      const own = [...el.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.data).join('');
      probes.push({block: b, text: own});
    }
  }
  const style = pre => getComputedStyle(pre);
  return {
    probes,
    blocks: blocks.map(pre => ({
      family: style(pre).fontFamily.split(',')[0].trim().replace(/["']/g, ''),
      // fonts.check is true only if the faces of the shipped font that cover this text are loaded
      loaded: document.fonts.check(`${style(pre).fontWeight} ${style(pre).fontSize} "MONO"`,
                                   pre.textContent.replace(/\\s/g, '') || 'a'),
      first: pre.textContent.trim().split('\\n')[0].slice(0, 60),
    })),
  };
}""".replace("MONO", MONO)


def font_problems(page) -> tuple[int, list[str]]:
    """(code and output blocks seen, the problems): a block whose text is not drawn in the shipped monospace font.

    Three views: the computed style (the font asked for), `document.fonts.check` (its faces loaded), and what
    Chromium actually drew with (DevTools' CSS.getPlatformFontsForNode): glyphs from another font are allowed only
    for characters other than ASCII and precomposed Latin letters (✅, →, ‖, a lone combining mark), never for a
    Vietnamese letter.
    """
    state = page.evaluate(MARK_TEXT)
    problems = []
    for i, block in enumerate(state["blocks"]):
        if block["family"] != MONO:
            problems.append(f"block {i} ({block['first']!r}): font-family {block['family']!r}, not {MONO!r}")
        elif not block["loaded"]:
            problems.append(f"block {i} ({block['first']!r}): {MONO} is not loaded for its text")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node_ids = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "[data-font-probe]"})["nodeIds"]
    for node_id in node_ids:
        attributes = cdp.send("DOM.getAttributes", {"nodeId": node_id})["attributes"]
        probe = state["probes"][int(attributes[attributes.index("data-font-probe") + 1])]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node_id})["fonts"]
        fallback = sum(f["glyphCount"] for f in fonts if not (f["isCustomFont"] and f["familyName"] == MONO))
        text = probe["text"]  # a letter before a combining mark (NFD) is drawn with the mark, by one font
        others = sum(
            1 for i, ch in enumerate(text)
            if not ch.isspace() and (not letter_of_the_font(ch) or unicodedata.combining(text[i + 1 : i + 2] or " "))
        )
        if fallback > others:
            drawn = ", ".join(f"{f['familyName']} ({f['glyphCount']})" for f in fonts)
            problems.append(f"block {probe['block']}: {probe['text'].strip()[:50]!r} drawn with {drawn}")
    cdp.detach()
    return len(state["blocks"]), problems


LESSON_PAGES = [p for p in PAGES if p.startswith("lessons/")]


def test_the_shipped_fonts_have_every_vietnamese_letter():
    ranges = shipped_ranges(MONO)
    letters = "ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
    for family in (MONO, "Noto Sans"):
        missing = [ch for ch in letters + letters.upper() if not covered(ch, shipped_ranges(family))]
        assert not missing, f"{family}: no @font-face covers {''.join(missing)}"
    for face in re.findall(r'url\("([^"]+)"\)', FONTS_CSS.read_text(encoding="utf-8")):
        assert (FONTS_CSS.parent / face).exists(), f"fonts.css names {face}, which is not shipped"
    for folder in ("noto-sans-mono", "noto-sans"):
        assert "SIL Open Font License" in (FONTS_CSS.parent / folder / "OFL.txt").read_text(encoding="utf-8")
    assert ranges


@pytest.mark.parametrize("page_path", LESSON_PAGES)
def test_code_and_outputs_are_drawn_in_the_shipped_font(page_path, server, browser):
    with offline_page(browser, server, page_path) as page:
        blocks, problems = font_problems(page)
    assert blocks, f"{page_path}: no code block found"
    assert not problems, f"{page_path}: code not drawn in {MONO}:\n" + "\n".join(problems[:20])


def test_the_font_check_sees_a_fallback_font(server, browser):
    """The check above can fail: the same lesson with its code forced into a system font is reported."""
    with offline_page(browser, server, "lessons/01_intro.html") as page:
        page.add_style_tag(content='pre, pre * { font-family: "DejaVu Sans Mono", monospace !important; }')
        page.evaluate("() => document.fonts.ready.then(() => true)")
        _, problems = font_problems(page)
    assert any("font-family" in p for p in problems), "a block in a system font was not reported"
    assert any("drawn with" in p for p in problems), "Vietnamese letters drawn by a system font were not reported"


# Code blocks, outputs, tables, formulas and figures whose content is wider than the column they sit in.
TOO_WIDE = """() => {
  const column = (document.querySelector('article.bd-article') || document.body).getBoundingClientRect();
  const kinds = [['div.cell_input pre', 'code'], ['div.cell_output pre', 'output'], ['div.highlight pre', 'code block'],
                 ['table', 'table'], ['mjx-container[display="true"]', 'formula'], ['div.cell_output img', 'figure'],
                 ['div.cell_output .jupyter-widgets', 'widget']];
  const found = [];
  const seen = new Set();
  for (const [selector, kind] of kinds) {
    for (const el of document.querySelectorAll('main ' + selector)) {
      if (seen.has(el)) continue;
      seen.add(el);
      const box = el.getBoundingClientRect();
      const scrolls = el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible';
      if (scrolls || box.right > column.right + 1) {
        const text = (el.textContent || el.getAttribute('alt') || '').trim().split('\\n')[0].slice(0, 70);
        found.push(`${kind} ${Math.round(el.scrollWidth)} px in ${Math.round(Math.min(el.clientWidth, column.width))} px: ${text}`);
      }
    }
  }
  return found;
}"""


@pytest.mark.parametrize("page_path", PAGES)
def test_nothing_scrolls_sideways_and_nothing_comes_from_the_network(page_path, server, browser):
    with offline_page(browser, server, page_path) as page:
        too_wide = page.evaluate(TOO_WIDE)
        external, errors = page.external, page.errors
    assert not too_wide, f"{page_path}: {len(too_wide)} blocks wider than the column at 1280 px:\n" + "\n".join(too_wide)
    assert not external, f"{page_path}: asks the network for {external[:5]} (the book must work offline)"
    assert not errors, f"{page_path}: JavaScript errors offline: {errors}"


def widget_pages() -> list[str]:
    return [p for p in LESSON_PAGES if (HTML / p).exists() and "widget-view+json" in (HTML / p).read_text("utf-8")]


def test_widgets_render_offline(book, server, browser):
    pages = widget_pages()
    assert pages, "no lesson page has a saved widget (tqdm's progress bars should leave one)"
    for page_path in pages[:3]:
        with offline_page(browser, server, page_path) as page:
            page.wait_for_function(
                "() => document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]').length"
                " <= document.querySelectorAll('main .jupyter-widgets.widget-container, main .widget-inline-hbox,"
                " main .widget-hbox, main .widget-vbox, main .widget-html').length",
                timeout=15_000,
            )
            progress = page.evaluate("() => document.querySelectorAll('main .widget-progress, main .progress').length")
            external = page.external
        assert not external, f"{page_path}: widgets asked the network for {external[:3]}"
        if "tqdm" in (HTML / page_path).read_text("utf-8"):
            assert progress, f"{page_path}: tqdm's progress bar was not drawn"


def test_the_interface_is_in_vietnamese(book):
    english = ["Show code cell", "Hide code cell", "Launch on", "Search this book", "Search the docs",
               "Toggle primary sidebar", "Toggle secondary sidebar", "Link to this heading", "previous page",
               "Chủ đề sách nhân sư"]
    for page_path in PAGES:
        html = (book / page_path).read_text(encoding="utf-8")
        text = re.sub(r"<script.*?</script>", "", html, flags=re.DOTALL)
        left = [word for word in english if word in text]
        assert not left, f"{page_path}: interface words left in English: {left}"
        if page_path.startswith("lessons/"):
            assert "Hiện mã" in text, f"{page_path}: the hidden setup cell should offer 'Hiện mã'"
            assert "Mở trên Colab" in text, f"{page_path}: the Colab button should read 'Mở trên Colab'"
        assert text.count("search-button-field") <= 1, f"{page_path}: two search boxes"


def test_lesson_25_figures_keep_their_size(server, browser):
    """Lesson 25's multi-panel figures are drawn near their natural size: their labels stay readable."""
    with offline_page(browser, server, "lessons/25_visualizing_nano_gpt.html") as page:
        sizes = page.evaluate(
            "() => [...document.querySelectorAll('main .cell_output img')].map(i => [i.naturalWidth, i.clientWidth])"
        )
    assert len(sizes) >= 5, f"lesson 25 shows {len(sizes)} figures"
    shrunk = [f"{natural} px drawn at {drawn} px" for natural, drawn in sizes if drawn < 0.85 * natural]
    assert not shrunk, (
        "lesson 25: figures shrunk below 85 % (labels unreadable): draw fewer panels per row\n" + "\n".join(shrunk)
    )
