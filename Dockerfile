# Production image of the `tempodesk` command (api, worker, migrate, ...).
# The embedded stack (`tempodesk up`) is for one machine; in this image the
# database and Temporal are external and come from TEMPODESK_* variables
# (see docker-compose.yml and api/settings.py).

# Pinned to a patch release so that a rebuild gives the same interpreter;
# bump deliberately (and with it the digest, if you pin one).
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# A fixed, unprivileged uid/gid so that volume ownership is predictable.
RUN groupadd --system --gid 10001 tempodesk \
    && useradd --system --uid 10001 --gid tempodesk --home-dir /home/tempodesk \
        --create-home --shell /usr/sbin/nologin tempodesk

# The source is built from /src and the process runs elsewhere, so imports
# always resolve to the installed packages, never to a stray source tree.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY tempodesk ./tempodesk
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY models ./models
COPY web ./web
RUN pip install --no-cache-dir . \
    && rm -rf /src/build /src/*.egg-info

USER tempodesk
WORKDIR /home/tempodesk
# Only the embedded stack writes here; keep it in the user's own home.
ENV TEMPODESK_HOME=/home/tempodesk/.tempodesk

EXPOSE 8000
ENTRYPOINT ["tempodesk"]
CMD ["api"]
