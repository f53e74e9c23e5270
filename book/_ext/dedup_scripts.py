"""Drop repeated inline <script> blocks from every page.

With Sphinx 7.4, the inline scripts of sphinx-thebe and sphinx-togglebutton reach the page twice (once from the
builder, once re-added while the page context is prepared); the second ``const THEBE_JS_URL = ...`` is then a
JavaScript error in every reader's console. Keep the first copy of each script.
"""


def dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        filename = getattr(script, "filename", None) or ""
        key = (str(filename), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    # Late, after the other extensions have added their scripts to the page context.
    app.connect("html-page-context", dedupe_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
