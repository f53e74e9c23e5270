"""Widgets drawn offline: the widget manager's JavaScript comes from book/_static/widgets (see its README.md).

_config.yml points myst-nb's ``nb_ipywidgets_js`` at require.js and embed-amd.js there. This extension adds, before
MathJax on every page, the small shim ``widgets/mathjax-hub.js``: the widget manager still calls MathJax 2's
``MathJax.Hub.Queue``, which MathJax 3 (the book's) does not have.
"""


def setup(app):
    app.add_js_file("widgets/mathjax-hub.js", priority=100)  # before Sphinx's MathJax configuration (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
