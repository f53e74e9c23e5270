"""A pytest plugin (loaded with ``-p tests.nbval_settings`` from pyproject.toml) for the lessons run by nbval.

nbval waits only 5 s for a finished cell's outputs to arrive; on a loaded 2-core machine that wait can be
exceeded although the cell succeeded. Give it a minute.
"""


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = 60
