# make run   -> install everything, create the database with demo data, serve on :8080
#               (PORT=8091 make run serves on :8091, HOST=0.0.0.0 on every address)
# make test  -> install everything (Chromium too, when root) and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
TRANSLATIONS := integrity/translations
# pytest-xdist workers for `make test` (TEST_WORKERS=0 runs the suite in one process). More
# workers than cores: much of a test's time is spent waiting on PostgreSQL, Chromium, servers.
TEST_WORKERS ?= 4

.PHONY: install run test lint lint-only chromium test-tools translations babel-extract babel-update babel-compile clean

install: $(VENV)/.installed node_modules/.installed static/dist/.built static/.compressed translations

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The page scripts, bundled with libsodium into static/dist/ (served with Subresource Integrity).
static/dist/.built: node_modules/.installed $(wildcard static/js/*.mjs)
	npm run --silent build
	touch $@

# Brotli and gzip copies of the static files, made once here rather than per request.
static/.compressed: $(VENV)/.installed static/dist/.built $(wildcard static/css/*.css static/js/*.js static/img/*.svg)
	$(BIN)/python -m integrity.static_files static
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d $(TRANSLATIONS) --statistics 2>&1 | tail -n 1

run: install
	$(BIN)/integrity init
	$(BIN)/integrity demo --host $(HOST) --port $(PORT)
	$(BIN)/integrity serve --host $(HOST) --port $(PORT)

chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium is missing: install Debian's 'chromium' package (browser tests will be skipped)"; fi

# pdftoppm and pdftotext (the PDF report and poster tests), zbarimg (reads the posters' QR codes),
# msgfmt (checks the translation catalogs) and exiftool (reads what cleaned files still carry).
test-tools:
	@if command -v pdftoppm >/dev/null && command -v zbarimg >/dev/null && command -v msgfmt >/dev/null && command -v exiftool >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils zbar-tools gettext libimage-exiftool-perl >/dev/null; \
	else echo "poppler-utils, zbar-tools, gettext or libimage-exiftool-perl is missing: install Debian's packages (PDF, poster, catalog format and file cleaning tests will be skipped)"; fi

test: install chromium test-tools lint-only
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25
	if compgen -G "tests/js/*.test.mjs" >/dev/null; then npm test --silent; fi

lint: install lint-only

babel-extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 -o $(TRANSLATIONS)/messages.pot --no-location --sort-output .

babel-update: babel-extract
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching

babel-compile: translations

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache

lint-only:
	$(BIN)/ruff check .
	$(BIN)/mypy integrity crypto admin surveys
