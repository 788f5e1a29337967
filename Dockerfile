# Oversight in a container: build once (DuckDB is compiled from C++, about 45 minutes on 2 cores), then a
# slim runtime image that runs `oversight serve` as a non-root user with the database on a volume.
#
#   docker build --build-arg GIT_HASH=$(git rev-parse --short=12 HEAD) -t oversight .   (or: podman build)
#   docker run -d --name oversight -p 8080:8080 -v oversight-data:/data oversight
#   docker exec oversight oversight keys create --role admin --name ops   # while it runs: see the README
#   docker run --rm -p 8080:8080 oversight oversight demo --bind 0.0.0.0:8080
#
# Behind a reverse proxy that terminates TLS, keep the port on the host's loopback
# (-p 127.0.0.1:8080:8080) and set OVERSIGHT__API__TRUST_FORWARDED_FOR=true.

FROM docker.io/library/rust:1.95-bookworm AS build
# The commit every metric run records (the repository itself is not copied in).
ARG GIT_HASH=""
ENV OVERSIGHT_GIT_HASH=$GIT_HASH
WORKDIR /src
# The target directory is a cache mount: DuckDB and polars compile once and are reused while only
# Oversight's code changes.
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY crates crates
COPY sql sql
COPY profiles profiles
COPY fixtures fixtures
COPY tests tests
COPY openapi openapi
COPY oversight.example.toml README.md ./
# The same profile as the README's commands (dev, dependencies optimised), so the image runs what CI tests.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --bin oversight \
    && install -Dm755 -s target/debug/oversight /out/oversight

FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin oversight \
    && mkdir -p /data \
    && chown oversight:oversight /data
COPY --from=build /out/oversight /usr/local/bin/oversight
USER oversight
WORKDIR /data
ENV OVERSIGHT_DB=/data/oversight.duckdb \
    OVERSIGHT__LOG__FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
CMD ["oversight", "serve", "--bind", "0.0.0.0:8080"]
