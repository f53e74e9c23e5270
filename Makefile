# Two commands on a fresh machine (each sets itself up):
#   make book   -> the rendered book in _build/html
#   make test   -> library tests, every lesson re-executed (nbval), the book built with warnings as errors
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
JOBS ?= 2
export OMP_NUM_THREADS ?= 1
export PYTHONHASHSEED := 0
export TOKENIZERS_PARALLELISM := false
export HF_HUB_OFFLINE ?= 1

.PHONY: setup book test browser student format clean lock

setup: $(VENV)/.installed

# requirements.txt says what is needed; constraints.txt pins the exact versions the book is built and tested with.
$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# Execute every lesson in parallel into Jupyter Book's cache, then build (cell errors and warnings abort).
# A lesson that failed in the cache is executed again by the build, which then stops on the error.
# --all reads every page again (outputs from the cache): Sphinx copies book/_static only when it writes pages,
# so a change to the book's CSS or fonts alone would not reach _build/html otherwise.
book: setup
	yes | $(BIN)/jcache notebook -p _build/.jupyter_cache add lessons/*.ipynb >/dev/null  # "yes": create the cache
	$(BIN)/jcache project -p _build/.jupyter_cache execute --executor local-parallel -t 300
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter-book build . -W -n --keep-going --all
	@echo "Sách đã dựng xong: _build/html/index.html"

test: setup browser
	$(BIN)/ruff check minigpt_lib tests benchmarks book/_ext
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval-lax --nbval-current-env -m "not book" tests lessons
	$(BIN)/python -m pytest -m book tests

# Debian's Chromium for the browser tests of the rendered book (needs root, as on CI; skipped with a note otherwise).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "Không cài được chromium (cần quyền root): các kiểm thử trình duyệt sẽ bị bỏ qua."

# Fit the lessons' code to the book's column (lessons/ruff.toml: 80 columns): long comments and strings wrapped,
# then `ruff format` on every code cell but the setup cell (minigpt_lib/setup_cell.py writes that one).
format: setup
	$(BIN)/python book/_ext/fit_lessons.py lessons/*.ipynb

student: setup
	$(BIN)/python -m minigpt_lib.student lessons student

# After upgrading packages in .venv (and a passing `make test`): write their exact versions to constraints.txt.
lock: setup
	{ grep '^#' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | \
		sed -E 's/^(torch==[^+]*)\+.*/\1/'; } > constraints.txt.new && mv constraints.txt.new constraints.txt


clean:
	rm -rf _build  # student/ is committed; regenerate it with make student
