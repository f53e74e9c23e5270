"""The glossary page, built from data: ``book/glossary.yml`` -> one table per section, at every book build.

``book/glossary.md`` holds only the prose and the directive

    ```{glossary-table} glossary.yml
    ```

so the page cannot drift from the data that ``tests/test_glossary.py`` checks the lessons against.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from docutils.parsers.rst import Directive, directives

FIELDS = ("vi", "en", "def")


def load_glossary(path: str | Path) -> list[dict]:
    """The entries of a glossary file, checked: each has ``vi``, ``en``, ``def`` (non-empty strings), an optional
    ``avoid`` list of strings and an optional ``section`` (a new section starts at the entry that names it)."""
    path = Path(path)
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: expected a non-empty list of entries")
    for i, e in enumerate(entries):
        where = f"{path}: entry {i} ({e.get('vi', '?') if isinstance(e, dict) else e!r})"
        if not isinstance(e, dict):
            raise ValueError(f"{where}: expected a mapping with vi, en, def")
        unknown = set(e) - {*FIELDS, "avoid", "section"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}; allowed: vi, en, def, avoid, section")
        for key in FIELDS:
            if not isinstance(e.get(key), str) or not e[key].strip():
                raise ValueError(f"{where}: '{key}' must be a non-empty string")
        avoid = e.get("avoid", [])
        if not isinstance(avoid, list) or not all(isinstance(a, str) and a.strip() for a in avoid):
            raise ValueError(f"{where}: 'avoid' must be a list of non-empty strings")
    if "section" not in entries[0]:
        raise ValueError(f"{path}: the first entry must name its section")
    return entries


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def glossary_markdown(entries: list[dict]) -> str:
    """MyST Markdown for the entries: a rubric per section, then a table (Vietnamese, English, meaning, avoid)."""
    lines: list[str] = []
    for e in entries:
        if "section" in e:
            lines += [
                "",
                f"```{{rubric}} {e['section']}",
                "```",
                "",
                "| tiếng Việt | tiếng Anh | nghĩa ngắn gọn | không viết |",
                "|---|---|---|---|",
            ]
        avoid = ", ".join(e.get("avoid", []))
        lines.append(f"| **{_cell(e['vi'])}** | {_cell(e['en'])} | {_cell(e['def'])} | {_cell(avoid)} |")
    return "\n".join(lines) + "\n"


class GlossaryTable(Directive):
    required_arguments = 1
    has_content = False
    option_spec = {"class": directives.class_option}

    def run(self):
        env = self.state.document.settings.env
        _, abs_path = env.relfn2path(self.arguments[0], env.docname)
        env.note_dependency(abs_path)  # edit the YAML, the page is rebuilt
        text = glossary_markdown(load_glossary(abs_path))
        from docutils import nodes
        from docutils.statemachine import StringList

        container = nodes.container(classes=["glossary-table"])
        self.state.nested_parse(
            StringList(text.splitlines(), source=abs_path), self.content_offset, container
        )
        return [container]


def setup(app):
    app.add_directive("glossary-table", GlossaryTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
