# Mastering Image Segmentation with Deep Learning — the two commands are `make lab` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SHARED_DATA := $(abspath ../shared/data)
# Tests use the sample datasets beside the repository as a local download mirror when present.
ifneq ($(wildcard $(SHARED_DATA)/SOURCES.md),)
export COURSE_DATA_MIRROR ?= $(SHARED_DATA)
endif
PYTEST_NB := --nbval-lax --nbval-current-env --nbval-cell-timeout=300
# `make test` runs the notebooks on one kernel per core (at most 4): pytest-xdist keeps each lesson's two
# notebooks together on one worker, pinned to its own core(s); `make bench` runs them one by one instead.
NB_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ "$$n" -gt 4 ] && n=4; echo $$n)
PYTEST_NB_PARALLEL := $(PYTEST_NB) -n $(NB_WORKERS) --dist loadscope

.PHONY: help env lab test test-unit test-notebooks notebooks check-notebooks doctor bench checkpoints timings grade site clean

help:            ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

env:             ## create/refresh .venv (reused when requirements are unchanged)
	@VENV=$(VENV) PYTHON=$(PYTHON) bash tools/ensure-env.sh

lab: env         ## install what is missing and open the course in JupyterLab (works as root and headless: prints the URL with its token)
	$(PY) -m course_lib lab

test: env        ## install what is missing and run every test (unit tests, then nbval over notebooks/ and solutions/ on all cores)
	$(PY) -m pytest tests --durations=15
	$(PY) -m pytest notebooks solutions $(PYTEST_NB_PARALLEL) --durations=25

test-unit: env   ## unit tests only
	$(PY) -m pytest tests

test-notebooks: env  ## nbval over notebooks/ and solutions/ only (one kernel per core)
	$(PY) -m pytest notebooks solutions $(PYTEST_NB_PARALLEL) --durations=25

notebooks: env   ## regenerate learner notebooks from solutions/ (refuses to overwrite edited ones)
	$(PY) -m course_tools build-notebooks

check-notebooks: env  ## fail if notebooks/ drifted from solutions/
	$(PY) -m course_tools build-notebooks --check

doctor: env      ## the pre-flight check every learner runs before a workshop
	$(PY) -m course_lib doctor

bench: env       ## run every notebook; write bench/results-<date>.json (wall time + quality per notebook)
	COURSE_BENCH_OUT=bench/results-$$(date +%Y%m%d-%H%M%S).json $(PY) -m pytest notebooks solutions $(PYTEST_NB) -q

checkpoints: env ## train every lesson's recipe and write the ready-made checkpoints/ (slow: minutes)
	$(PY) -m course_tools make-checkpoints --progress

timings: env     ## print each lesson's teaching and exercise minutes (from the notebook headers)
	$(PY) -m course_tools timings

grade: env       ## grade learners' notebooks: make grade SUBMISSIONS=submissions [GRADE_ARGS="--jobs 4"] -> grades.csv
	$(PY) -m course_tools grade $(or $(SUBMISSIONS),submissions) --out grades.csv $(GRADE_ARGS)

site: env        ## the course as an offline HTML book: run every solution notebook, write _site/ (open _site/index.html)
	$(PY) -m course_tools site --out _site $(SITE_ARGS)

clean:           ## remove caches (keeps .venv)
	rm -rf .pytest_cache **/__pycache__ .ipynb_checkpoints
