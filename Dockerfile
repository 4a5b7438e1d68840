# opsai web and worker image (production settings: OPSAI_ENV=production).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OPSAI_VAR_DIR=/app/var
WORKDIR /app
# pg_dump/pg_restore for `manage.py backup` and `restore` (bookworm's client is 15, as the server).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY opsai ./opsai
COPY audit ./audit
COPY accounts ./accounts
COPY usecases ./usecases
COPY kpis ./kpis
COPY governance ./governance
RUN pip install --no-cache-dir .
COPY . .
RUN OPSAI_ENV=production ALLOWED_HOSTS=build SECRET_KEY=collectstatic-at-build-time-only-not-a-real-secret \
    python manage.py collectstatic --noinput \
    && useradd --create-home opsai && mkdir -p /app/var/media && chown -R opsai /app/var
USER opsai
EXPOSE 8000
CMD ["gunicorn", "opsai.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
