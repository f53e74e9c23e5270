"""The book's interface in Vietnamese, where the themes leave English or an odd word.

Sphinx has a Vietnamese catalog and sphinx-book-theme a partial one; pydata-sphinx-theme has none, and a few
strings are missing or mistranslated ("Launch on Colab", "Phóng" for "Launch", "Chủ đề sách nhân sư"). The words
below are put in front of those catalogs (the catalogs stay the fallback), once every extension has registered its
own. myst-nb's prompt of a hidden cell is configured as "Hiện {type}" / "Ẩn {type}" in _config.yml; myst-nb
fills {type} with an English word (source, output, …), which `TranslateHiddenCellPrompts` replaces here.
"""

from __future__ import annotations

from gettext import NullTranslations

from sphinx.locale import translators
from sphinx.transforms.post_transforms import SphinxPostTransform

# (catalog, English message) -> Vietnamese. "sphinx" is the catalog of Sphinx and pydata-sphinx-theme's templates,
# "booktheme" the one of sphinx-book-theme's buttons.
MESSAGES: dict[str, dict[str, str]] = {
    "sphinx": {
        "Search": "Tìm kiếm",
        "Search within %(docstitle)s": "Tìm kiếm trong %(docstitle)s",
        "Skip to main content": "Chuyển tới nội dung chính",
        "Back to top": "Lên đầu trang",
        "Light": "Sáng",
        "Dark": "Tối",
        "System Settings": "Theo hệ thống",
        "Color mode": "Chế độ màu",
        "Site navigation": "Điều hướng",
        "Section Navigation": "Điều hướng trong phần",
        "On this page": "Trong trang này",
        "Hide Search Matches": "Ẩn kết quả tìm kiếm",
        "Searching": "Đang tìm",
        "Search Results": "Kết quả tìm kiếm",
        "Copy to clipboard": "Chép",
        "Copied!": "Đã chép!",
        "previous": "Trang trước",
        "next": "Trang sau",
        "previous page": "Trang trước",
        "next page": "Trang sau",
        "Link to this heading": "Liên kết tới mục này",
        "Version warning": "Cảnh báo phiên bản",
        # book/_ext/templates: two buttons of sphinx-book-theme whose tooltip the theme does not translate
        "Toggle primary sidebar": "Ẩn/hiện mục lục",
        "Toggle secondary sidebar": "Ẩn/hiện mục lục của trang",
    },
    "booktheme": {
        "Launch": "Mở để chạy",
        "Launch on": "Mở trên",
        "Launch interactive content": "Mở bài để chạy mã",
        "Launch Thebe": "Chạy mã ngay trên trang",
        "Live Code": "Chạy mã",
        "Search": "Tìm kiếm",
        "Sphinx Book Theme": "Sphinx Book Theme",
        "Theme by the": "Giao diện",
        "Toggle navigation": "Bật/tắt mục lục",
        "Toggle primary sidebar": "Bật/tắt mục lục bên trái",
        "Toggle secondary sidebar": "Bật/tắt mục lục của trang",
        "Repository": "Kho mã",
        "repository": "kho mã",
        "Source repository": "Kho mã nguồn",
        "Open issue": "Báo lỗi",
        "Open an issue": "Báo lỗi",
        "Edit this page": "Sửa trang này",
        "Download notebook file": "Tải sổ tay (.ipynb)",
        "Download source file": "Tải tệp nguồn",
        "next page": "trang sau",
        "previous page": "trang trước",
    },
}

# myst-nb's {type} of a hidden part of a cell -> its Vietnamese name.
HIDDEN_PART = {"content": "ô mã", "source": "mã", "output": "kết quả", "outputs": "kết quả"}


class Overrides(NullTranslations):
    """A message table in front of a catalog: what the table lacks comes from the catalog."""

    def __init__(self, messages: dict[str, str], catalog: NullTranslations):
        super().__init__()
        self.messages = messages
        self.add_fallback(catalog)

    def gettext(self, message):
        return self.messages.get(message) or self._fallback.gettext(message)

    def ngettext(self, singular, plural, n):
        return self._fallback.ngettext(singular, plural, n)


def put_vietnamese_first(app, config):
    if not (config.language or "").startswith("vi"):
        return
    for catalog, messages in MESSAGES.items():
        key = ("general", catalog)
        current = translators.get(key, NullTranslations())
        if not isinstance(current, Overrides):
            translators[key] = Overrides(messages, current)
    # The HTML templates translate through app.translator (the "sphinx" catalog), installed when the builder starts.
    app.translator = translators[("general", "sphinx")]


class TranslateHiddenCellPrompts(SphinxPostTransform):
    """Replace the English {type} word that myst-nb puts in "Hiện {type}" (after myst-nb's HideInputCells, 199)."""

    default_priority = 210
    formats = ("html",)

    def run(self, **kwargs):
        from myst_nb.sphinx_ import HideCodeCellNode

        for node in self.document.findall(HideCodeCellNode):
            for key in ("prompt_show", "prompt_hide"):
                verb, _, part = node[key].rpartition(" ")
                if part in HIDDEN_PART:
                    node[key] = f"{verb} {HIDDEN_PART[part]}"


def setup(app):
    app.connect("config-inited", put_vietnamese_first, priority=900)
    app.add_post_transform(TranslateHiddenCellPrompts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
