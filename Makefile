# charlab: two commands do everything.
#   make reproduce   regenerate the report's figures and results (embedded default data;
#                    DATA=path/to/train.pkl or an EMNIST folder for your own, ARGS=--quick ...)
#   make test        formatting, lints, the test suite, every notebook run headlessly, and the
#                    Slurm test (scripts/slurm/test.sh)
# Both install what they need on first use (scripts/setup.sh): a project-local .venv with
# torch==2.13.0 (libtorch for tch), and for the notebooks the evcxr `rust` kernel in .tools/.

SHELL := /bin/bash
ROOT := $(CURDIR)
export VIRTUAL_ENV := $(ROOT)/.venv
export PATH := $(ROOT)/.venv/bin:$(PATH)
export LIBTORCH_USE_PYTORCH := 1
# Where the `rust` kernel spec and Jupyter's own files live (CHARLAB_JUPYTER_DIR=DIR for another).
CHARLAB_JUPYTER_DIR ?= $(ROOT)/.jupyter
export CHARLAB_JUPYTER_DIR
export JUPYTER_PATH := $(CHARLAB_JUPYTER_DIR)
export JUPYTER_DATA_DIR := $(CHARLAB_JUPYTER_DIR)
export JUPYTER_CONFIG_DIR := $(CHARLAB_JUPYTER_DIR)/config
export IPYTHONDIR := $(CHARLAB_JUPYTER_DIR)/ipython

CARGO ?= cargo
BIN := target/release/charlab
DATA ?=
ARGS ?=
DATA_FLAG := $(if $(DATA),--data $(DATA),)
# Section 6.1's pretraining corpus: the shared EMNIST folder when it is there, else generated.
CORPUS ?= $(wildcard ../shared/data/emnist-byclass-rest)
CORPUS_FLAG := $(if $(CORPUS),--corpus $(CORPUS),)

.PHONY: reproduce test build venv kernel lint unit notebooks notebooks-commit readme-figures lab first-cell clean-setup bench-baselines bench-neural bench-nets bench-check gpu-bundle gpu-bundle-check fuzz verify test-slurm tensorboard two-kernels notebooks-text report-pdf

venv:
	@scripts/setup.sh venv

kernel:
	@scripts/setup.sh kernel

build: venv
	@start=$$SECONDS; $(CARGO) build --release --locked && echo "[make] build: $$((SECONDS - start)) s"

reproduce: build
	$(BIN) reproduce $(DATA_FLAG) $(CORPUS_FLAG) $(ARGS)
	.venv/bin/python scripts/report_pdf.py --stale

# report/report.pdf: report/report.html laid out for print by WeasyPrint (scripts/report_pdf.py,
# report/print.css). `make reproduce` writes it too (--stale: the PDF of every report.html it
# wrote, a quick run's in target/quick/report/ included).
report-pdf: venv
	.venv/bin/python scripts/report_pdf.py

lint: venv
	$(CARGO) fmt --check
	@start=$$SECONDS; $(CARGO) clippy --release --locked --all-targets -- -D warnings && echo "[make] clippy: $$((SECONDS - start)) s"

unit: venv
	.venv/bin/python scripts/test_run_notebooks.py
	.venv/bin/python scripts/test_notebook_text.py
	.venv/bin/python scripts/notebook_text.py check
	.venv/bin/python scripts/test_report_pdf.py
	.venv/bin/python scripts/test_bench_history.py
	.venv/bin/python scripts/gpu/test_gpu_json.py
	@start=$$SECONDS; $(CARGO) test --release --locked && echo "[make] unit tests (incl. build): $$((SECONDS - start)) s"

# Runs every notebook headlessly on the embedded default (quick mode) into target/notebooks/,
# failing on any error output or error message on stderr; the committed notebooks are left
# untouched. First the runner itself, on fixture notebooks: it must reject a cell returning Err.
notebooks: kernel build
	.venv/bin/python scripts/test_run_notebooks.py --kernel
	.venv/bin/python scripts/two_kernels.py
	CHARLAB_DATA=default CHARLAB_QUICK=1 .venv/bin/python scripts/run_notebooks.py --out target/notebooks notebooks/*.ipynb

test: lint unit notebooks test-slurm

# Sections 6.2 and 6.1 (quick) through a real single-node Slurm on this machine: installs
# Debian's slurm-wlm and munge when missing, submits each plan as job arrays
# (scripts/slurm/submit.sh), and checks the collected results equal the single-machine runs'.
test-slurm: build
	@scripts/slurm/test.sh

# TensorBoard on the training runs (every run folder has its event file; LOGDIR= for another
# tree, e.g. target/quick, PORT= for another port). Installed into .venv by requirements.txt.
LOGDIR ?= data/models
PORT ?= 6006
tensorboard: venv
	.venv/bin/tensorboard --logdir $(LOGDIR) --host 127.0.0.1 --port $(PORT)

# Checks the committed weights (weights/manifest.json): every file's SHA-256, then each network
# labels the stand-in's test part and is compared with its results file (DATA= for another
# copy of the stand-in). `charlab export-weights` writes the folder from finished runs.
verify: build
	$(BIN) verify $(if $(DATA),--data $(DATA),)

# Writes each notebook's text form, notebooks/text/<name>.rs (no outputs), from the .ipynb; the
# check in `make unit` fails when one is missing or differs (scripts/notebook_text.py).
notebooks-text: venv
	.venv/bin/python scripts/notebook_text.py sync

# Re-executes the notebooks in place for the committed outputs: on the stand-in by default
# (path relative to notebooks/, where the kernel runs), or on DATA.
notebooks-commit: kernel build
	CHARLAB_DATA=$(if $(DATA),$(abspath $(DATA)),../../shared/data/alphamoon-standin/train.pkl) .venv/bin/python scripts/run_notebooks.py --in-place notebooks/*.ipynb

# docs/data.md's picture of the embedded default data set (the project's figures/ stay untouched).
readme-figures: build
	CHARLAB_ROOT=$(ROOT)/target/default-figures $(BIN) figures dataset --data default --seed 0
	cp target/default-figures/figures/02-samples.png figures/02-samples-default.png

# Jupyter Lab with the project's `rust` kernel (installs jupyterlab into .venv on first use;
# --allow-root when run as root, which Jupyter otherwise refuses).
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: kernel
	@.venv/bin/python -c 'import jupyterlab' 2>/dev/null || .venv/bin/pip install --quiet jupyterlab
	cd notebooks && ../.venv/bin/jupyter lab $(LAB_FLAGS)

# How long a notebook's first cells take in the kernel, through Jupyter's protocol (the README's
# numbers): kernel start, the `:dep` cell, the `use` cell and loading the data.
first-cell: kernel
	.venv/bin/python scripts/kernel_first_cell.py --cells 3

# Two notebooks at once: two kernels through Jupyter's client, each must answer its own cells
# (each running kernel has its own build folder, scripts/evcxr_kernel.sh). Also run by
# `make notebooks`. `scripts/two_kernels.py --shared` shows what one shared folder did.
two-kernels: kernel
	.venv/bin/python scripts/two_kernels.py

clean-setup:
	rm -rf .venv .tools .jupyter target/evcxr

# Fuzzing (not a test: neither `make test` nor `make reproduce` needs it): every reader of
# outside bytes (train.pkl, EMNIST IDX files, run-folder and results JSON, safetensors weights)
# under libFuzzer with AddressSanitizer, each target FUZZ_S seconds (`FUZZ_S=600 make fuzz` for
# a long run), one summary line per target; fails on any crash, its input in fuzz/artifacts/.
# Installs cargo-fuzz into .tools/ on first use; RUSTC_BOOTSTRAP=1 lets stable rustc accept
# libFuzzer's nightly-only flags (scripts/fuzz.sh).
FUZZ_S ?= 60
fuzz: venv
	FUZZ_S=$(FUZZ_S) scripts/fuzz.sh

# Benchmarks (not tests): charlab against the Python stack the report used, one after the other
# on the same machine, same split, same threads. Tables are printed and saved in target/bench/.
BENCH_DATA ?= ../shared/data/alphamoon-standin/train.pkl
BENCH_THREADS ?= 2
BENCH_LINFA_LR_ITER ?= 100

# Section 4.1: scikit-learn LogisticRegression and SVC against charlab; charlab's logistic
# regression with linfa-logistic, capped at BENCH_LINFA_LR_ITER iterations; then linfa-svm
# against the popcount solver on two class pairs (linfa-svm on all 630 pairs would take hours).
bench-baselines: build
	@mkdir -p target/bench
	$(BIN) split --data $(BENCH_DATA) --seed 0 --out target/bench/split.json
	.venv/bin/python scripts/bench_sklearn.py --data $(BENCH_DATA) --split target/bench/split.json --out target/bench/sklearn.json --threads $(BENCH_THREADS)
	CHARLAB_ROOT=$(ROOT)/target/bench/root CHARLAB_THREADS=$(BENCH_THREADS) $(BIN) baselines --data $(BENCH_DATA)
	CHARLAB_ROOT=$(ROOT)/target/bench/root-linfa CHARLAB_THREADS=$(BENCH_THREADS) $(BIN) baselines --data $(BENCH_DATA) --model logreg --logreg-solver linfa --logreg-max-iter $(BENCH_LINFA_LR_ITER)
	CHARLAB_THREADS=1 $(BIN) bench-svm-solvers --data $(BENCH_DATA) --pairs O/0,E/N --out target/bench/svm-solvers.json
	.venv/bin/python scripts/bench_compare.py baselines target/bench
	.venv/bin/python scripts/bench_history.py record baselines target/bench

# Section 4.2: the report's CNN trained BENCH_EPOCHS epochs in PyTorch (DataLoader, the usual
# Python data path), again in PyTorch with charlab's two speed settings (channels-last weights,
# glibc keeping freed memory), and in charlab, same batch size, threads and split.
BENCH_EPOCHS ?= 2
bench-neural: build
	@mkdir -p target/bench
	$(BIN) split --data $(BENCH_DATA) --seed 0 --out target/bench/split.json
	.venv/bin/python scripts/bench_torch_cnn.py --data $(BENCH_DATA) --split target/bench/split.json --out target/bench/torch-cnn.json --epochs $(BENCH_EPOCHS) --threads $(BENCH_THREADS)
	MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 .venv/bin/python scripts/bench_torch_cnn.py --data $(BENCH_DATA) --split target/bench/split.json --out target/bench/torch-cnn-tuned.json --epochs $(BENCH_EPOCHS) --threads $(BENCH_THREADS) --channels-last
	CHARLAB_ROOT=$(ROOT)/target/bench/root CHARLAB_THREADS=$(BENCH_THREADS) $(BIN) train cnn --data $(BENCH_DATA) --epochs $(BENCH_EPOCHS)
	.venv/bin/python scripts/bench_compare.py neural target/bench
	.venv/bin/python scripts/bench_history.py record neural target/bench

# Section 6.1's networks side by side: parameters, training and inference images/s on this
# machine (batch 128, BENCH_THREADS threads; the CNN and EfficientNet-b0 in fp32 and bf16).
bench-nets: venv
	@mkdir -p target/bench
	CHARLAB_THREADS=$(BENCH_THREADS) $(CARGO) run --release --locked --example throughput -- 10 target/bench/nets.json
	.venv/bin/python scripts/bench_history.py record nets target/bench/nets.json

# The GPU bundle (docs/gpu.md): charlab built against libtorch 2.11 (tch 0.24) with its device
# script, in target/gpu-bundle/out/ (under 64 MiB with the work tree). gpu-bundle-check runs the
# device script here, on the CPU, against the same wheel's CPU libraries (QUICK=1: 1,500
# embedded images), so that the GPU call is the only thing left.
gpu-bundle: venv
	scripts/gpu/bundle.sh

gpu-bundle-check: gpu-bundle
	scripts/gpu/check.sh

# Every benchmark's latest run against its previous run on this machine (same CPU, cores,
# memory and threads): exits 1 naming each number more than 10% slower.
bench-check: venv
	.venv/bin/python scripts/bench_history.py compare
