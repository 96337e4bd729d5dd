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
STAMP := $(VENV)/.installed

.PHONY: help install test book lint clean clean-book

help:
	@echo "make test   install into $(VENV) and run the tests"
	@echo "make book   install into $(VENV) and build _build/html (labs executed, quick mode)"
	@echo "make lint   ruff over src/, tests/ and scripts/"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml Makefile | $(PY)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet --no-deps "$(FACENET_SPEC)"
	$(PIP) install --quiet -e ".[test,book]"
	@# pip warns that facenet-pytorch's pins are unmet: expected, see FACENET_SPEC above.
	$(PY) -c "from faceleak import compat; b = compat.ensure_facenet_importable(); import torch, facenet_pytorch; print('installed torch', torch.__version__, '- torchvision for MTCNN:', b)"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts

book: $(STAMP)
	FACELEAK_MODE=$${FACELEAK_MODE:-quick} $(VENV)/bin/jupyter-book build . -W -n --keep-going

clean-book:
	rm -rf _build

clean: clean-book
	rm -rf $(VENV)
