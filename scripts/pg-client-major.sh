#!/usr/bin/env bash
# Prints the PostgreSQL major whose client tools the worker image installs (Dockerfile): PG_MAJOR when the
# build names one, else the newest postgresql-client-NN the image's apt sources offer. PGDG's `main`
# component holds released majors only; betas and snapshots live in components and suites of their own.
# pg_dump dumps servers of its own major and older, never newer (PostgreSQL docs, pg_dump, Notes), so the
# newest client dumps every server, and one older than MIN_MAJOR could not dump what RDS and Aurora run.
set -euo pipefail

MIN_MAJOR=18

if [[ -n "${PG_MAJOR:-}" ]]; then
  if ! [[ "${PG_MAJOR}" =~ ^[0-9]+$ ]]; then
    echo "pg-client-major: PG_MAJOR is a major version such as ${MIN_MAJOR}, not \"${PG_MAJOR}\"" >&2
    exit 1
  fi
  major="${PG_MAJOR}"
else
  major="$(apt-cache search --names-only '^postgresql-client-[0-9]+$' \
    | sed -nE 's/^postgresql-client-([0-9]+) .*/\1/p' \
    | sort -n \
    | tail -n 1)"
fi

if ! [[ "${major}" =~ ^[0-9]+$ ]]; then
  echo "pg-client-major: no postgresql-client-NN package to install (is the PGDG source configured?)" >&2
  exit 1
fi
if ((major < MIN_MAJOR)); then
  echo "pg-client-major: PostgreSQL ${major}'s pg_dump cannot dump PostgreSQL ${MIN_MAJOR} servers (RDS and Aurora run ${MIN_MAJOR})" >&2
  exit 1
fi
echo "${major}"
