# syntax=docker/dockerfile:1
# The backup worker image: the slipway-worker command line bundled into one file, beside the
# PostgreSQL client tools. The ECS task in resources/worker.yml runs it on ARM64, so build for that:
#   docker buildx build --platform linux/arm64 --build-arg SOURCE_URL=https://github.com/<you>/slipway -t slipway-worker .

FROM node:22-bookworm-slim AS build
WORKDIR /src
# Dependencies first, so a change under lib/ reuses this layer.
COPY package.json package-lock.json ./
# No install scripts: esbuild's binary comes from its per-platform optional dependency anyway.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY lib/ lib/
COPY scripts/build-worker.ts scripts/
RUN npx tsx scripts/build-worker.ts --out /out/slipway-worker.mjs

FROM node:22-bookworm-slim AS runtime
ARG SOURCE_URL
LABEL org.opencontainers.image.title="slipway-worker" \
      org.opencontainers.image.description="Slipway backup worker: EFS volume archives (SQLite databases included) and PostgreSQL dumps to S3" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0"

# A failed download must fail the build, not hand gpg an empty key.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Debian's own client is 15, and pg_dump dumps servers of its own major and older, never newer (PostgreSQL
# docs, pg_dump, Notes): the newest client PGDG offers for bookworm dumps every server. PG_MAJOR pins one
# (18 or later) for a reproducible build; scripts/pg-client-major.sh chooses, and refuses anything older.
# TLS proves the download came from postgresql.org; the fingerprint proves it is the PGDG signing key.
# The tools themselves are linked into /usr/local/bin, ahead of Debian's /usr/bin wrappers, which choose a
# version per cluster config. sqlite3 (Debian's) copies and checks the SQLite databases of volumes.<v>.sqlite.
ARG PG_MAJOR
ARG PGDG_KEY_FINGERPRINT=B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8
RUN --mount=type=bind,source=scripts/pg-client-major.sh,target=/tmp/pg-client-major.sh \
    apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gpg \
 && curl -fsSL https://www.postgresql.org/media/keys/ACCC4CF8.asc \
    | gpg --dearmor -o /usr/share/keyrings/postgresql-pgdg.gpg \
 && gpg --show-keys --with-colons /usr/share/keyrings/postgresql-pgdg.gpg \
    | grep -q "^fpr:::::::::${PGDG_KEY_FINGERPRINT}:" \
 && echo "deb [signed-by=/usr/share/keyrings/postgresql-pgdg.gpg] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
    > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update \
 && major="$(bash /tmp/pg-client-major.sh)" \
 && apt-get install -y --no-install-recommends "postgresql-client-${major}" sqlite3 \
 && for tool in pg_dump pg_restore psql; do ln -s "/usr/lib/postgresql/${major}/bin/${tool}" /usr/local/bin/; done \
 && apt-get purge -y --auto-remove curl gpg \
 && rm -rf /var/lib/apt/lists/* /root/.gnupg

# A fixed numeric id: the task definition names it, and EFS access points may map it.
RUN groupadd --system --gid 10001 slipway \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin slipway

WORKDIR /app
# Owned by root: the worker may run the bundle, never rewrite it.
COPY --from=build /out/slipway-worker.mjs /out/slipway-worker.mjs.map /app/

ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps
USER 10001:10001

# ECS uses the task definition's health check; this one serves `docker run` and other hosts.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["node", "/app/slipway-worker.mjs", "healthcheck"]

ENTRYPOINT ["node", "/app/slipway-worker.mjs"]
CMD ["--help"]
