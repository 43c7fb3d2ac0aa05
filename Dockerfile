# syntax=docker/dockerfile:1
# mergeward in a container: a multi-stage build with the same script as the release
# workflows (scripts/build-release.sh), then a small final image (distroless: glibc, CA
# certificates, no shell) running as the non-root user 65532.
#   docker build --build-arg MERGEWARD_BUILD_COMMIT="$(git rev-parse --short=12 HEAD)" -t mergeward .
#   docker run --rm -e MERGEWARD_TOKEN -v "$PWD:/work" mergeward queue status --url … --repo …
# The working directory is /work: mount the repository there to use its .mergeward.toml and
# keep the SQLite ledger (.mergeward/) between runs.

FROM rust:1.94-bookworm AS build
WORKDIR /src
COPY . .
ARG MERGEWARD_BUILD_COMMIT=unknown
ENV MERGEWARD_BUILD_COMMIT=${MERGEWARD_BUILD_COMMIT}
RUN scripts/build-release.sh "$(rustc -vV | sed -n 's/^host: //p')" \
 && cp "$(ls dist/mergeward-v* | grep -v '\.sha256$')" /mergeward \
 && mkdir /work

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /mergeward /usr/local/bin/mergeward
COPY --from=build --chown=65532:65532 /work /work
WORKDIR /work
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/mergeward"]
CMD ["--help"]
