# The two commands a user needs: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# tf.keras must be Keras 2 (tf_keras) wherever this project runs: the CLI,
# tests, Beam workers. tensorflow-transform only sets it if imported first.
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PATH := $(abspath $(VENV))/bin:$(PATH)

# Extra flags for the pipeline, e.g. make run ARGS="--epochs 3".
ARGS ?=
# Extra flags for pytest, e.g. make test PYTEST_ARGS="-k example_gen".
PYTEST_ARGS ?= --durations=30
# Test processes (pytest-xdist). Most of a pipeline test is single-threaded
# start-up, so two share two cores well; tests/conftest.py groups the tests
# that share a pipeline run onto one process. TEST_WORKERS=0: no workers.
TEST_WORKERS ?= 2
# The local model server (make serve): its own venv, loopback, this port.
SERVING_VENV ?= .venv-serving
SERVE_PORT ?= 8501
# Scheduled retraining on Apache Airflow (dags/): its own venv; the rest of
# Airflow's settings are in scripts/airflow.sh.
AIRFLOW_VENV ?= .venv-airflow

.PHONY: venv serving-venv run test lock clean kubeflow serve predict verify \
	bench bench-classes bench-tokenization bench-retraining versions rollback rollforward \
	tensorboard \
	airflow-venv airflow-dag-test beam-cluster beam-cluster-stop bench-beam \
	bench-scale

venv:
	@scripts/ensure_venv.sh

serving-venv:
	@SERVING_VENV=$(SERVING_VENV) scripts/ensure_serving_venv.sh

airflow-venv:
	@AIRFLOW_VENV=$(AIRFLOW_VENV) scripts/ensure_airflow_venv.sh

# One run of the Airflow DAG now, in this process, without a scheduler:
# `airflow dags test` with a SQLite DB in AIRFLOW_HOME (default
# outputs/airflow/home). Settings as for `make run`, from the environment
# (IMDB_DATA, OUTPUT_DIR, ...); ARGS: a logical date, e.g. ARGS=2024-06-01.
airflow-dag-test: airflow-venv
	AIRFLOW_VENV=$(AIRFLOW_VENV) scripts/airflow.sh db migrate
	AIRFLOW_VENV=$(AIRFLOW_VENV) scripts/airflow.sh dags test imdb_sentiment $(ARGS)

# make reports any failure as status 2; scripts/run.sh (what cron should
# call) keeps the runner's own status: 1 failed, 2 bad settings, 3 busy.
run:
	@VENV=$(VENV) scripts/run.sh $(ARGS)

# Serves outputs/serving/imdb_sentiment (OUTPUT_DIR to change) on
# http://127.0.0.1:$(SERVE_PORT) with TF Serving's REST API, following new
# pushes and models.config; Ctrl-C stops it.
serve: serving-venv
	TF_CPP_MIN_LOG_LEVEL=3 $(SERVING_VENV)/bin/python -m serving.model_server \
	  --port $(SERVE_PORT) $(ARGS)

# make predict ARGS='"A wonderful film." "Dull."'  (or --file F, or stdin;
# --server http://127.0.0.1:8501 to ask the model server instead)
predict: venv
	@TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m serving.predict $(ARGS)

# Replays the latest pushed version's verification.jsonl (ARGS: --version N,
# --server URL).
verify: venv
	@TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m serving.verify $(ARGS)

# The pushed versions with their spans and metrics, and which one is served.
versions: venv
	@TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m serving.releases $(ARGS) list

# make rollback VERSION=1795301234: serve that version (pins it in
# outputs/serving/models.config; nothing is deleted).
rollback: venv
	@test -n "$(VERSION)" || { echo "usage: make rollback VERSION=<pushed version>" >&2; exit 2; }
	@TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m serving.releases $(ARGS) rollback $(VERSION)

# Serve the highest version again (TF Serving's default policy).
rollforward: venv
	@TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m serving.releases $(ARGS) latest

test: venv
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# TensorBoard on http://127.0.0.1:$(TENSORBOARD_PORT): every Trainer run's
# training curves and the projector's term vectors (one TensorBoard run per
# Trainer execution). Ctrl-C stops it.
TENSORBOARD_PORT ?= 6006
TENSORBOARD_LOGDIR ?= $(or $(OUTPUT_DIR),outputs)/pipeline_root/imdb_sentiment/Trainer/model_run
tensorboard: venv
	$(PY) -m tensorboard.main --logdir $(TENSORBOARD_LOGDIR) \
	  --host 127.0.0.1 --port $(TENSORBOARD_PORT)

# Compiles the pipeline for Kubeflow Pipelines into outputs/kubeflow/ (spec +
# serving manifests). Cluster settings come in ARGS, e.g.
#   make kubeflow ARGS="--output-dir gs://b/imdb --data gs://b/aclImdb_v1.tar.gz --image REG/imdb:1"
kubeflow: venv
	$(PY) -m kubeflow.runner $(ARGS)

# The pipeline on the full data plus serving figures of the pushed model,
# into a fresh outputs/bench/<time>/ (IMDB_DATA, default ../shared/data/...).
bench: venv
	$(PY) -m benchmarks.pipeline $(if $(ARGS),-- $(ARGS))

# Four star classes of the real reviews through the table path (a CSV),
# beside a majority-class and a scikit-learn baseline; outputs/bench-classes/.
bench-classes: venv
	$(PY) -m benchmarks.classes $(if $(ARGS),-- $(ARGS))

# Vocabulary vs hashing table, on the examples of the latest `make bench`.
bench-tokenization: venv
	$(PY) -m benchmarks.tokenization --examples $$(ls -dt outputs/bench/*/pipeline_root/*/ImdbExampleGen/examples/* | head -1) --output outputs/bench/tokenization.json

# Warm start vs from scratch on the real data as two spans, and a run with
# no new data, into a fresh outputs/bench-retraining/<time>/.
bench-retraining: venv
	$(PY) -m benchmarks.retraining $(if $(ARGS),-- $(ARGS))

# A Beam job service and worker pool on loopback (pid files and logs in
# outputs/beam-cluster/), for BEAM_PROFILE=portable make run.
beam-cluster: venv
	$(PY) -m orchestration.beam.cluster start

beam-cluster-stop: venv
	$(PY) -m orchestration.beam.cluster stop

# ExampleGen, StatisticsGen and Transform on the full data per Beam profile
# (direct, local, portable; BEAM_WORKERS, default 2), into outputs/bench-beam/.
bench-beam: venv
	$(PY) -m benchmarks.beam_profiles $(ARGS)

# The pipeline cold on 1x, 2x, 4x and 8x IMDB_DATA (copies 2..N synthetic
# reviews of its own sentences, built once into outputs/bench-scale/data/):
# wall, CPU and peak memory per component, fixed and per-review costs fitted,
# into a fresh outputs/bench-scale/<time>/. E.g.
#   make bench-scale ARGS="--factors 1 2 -- --epochs 1"
bench-scale: venv
	$(PY) -m benchmarks.scale $(ARGS)

lock:
	scripts/lock.sh
	uv pip compile serving/requirements.in --generate-hashes \
	  --python-version 3.10 --python-platform x86_64-manylinux_2_28 \
	  -o serving/requirements.lock
	uv pip compile dags/requirements.in --generate-hashes \
	  --python-version 3.10 --python-platform x86_64-manylinux_2_28 \
	  -o dags/requirements.lock

clean:
	rm -rf outputs
