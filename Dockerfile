# One image for every casewatch service: `casewatch worker`, `casewatch serve alerts`,
# `casewatch lag-exporter`, `casewatch ingest …`, `casewatch topics`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CASEWATCH_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY services ./services
RUN pip install --no-cache-dir . && useradd --system --uid 10001 casewatch \
    && mkdir -p /data && chown casewatch /data
USER 10001
VOLUME ["/data"]
# journeys metrics, alerts inbox/API/metrics, consumer lag exporter
EXPOSE 6066 8080 9308
ENTRYPOINT ["casewatch"]
CMD ["--help"]
