# syntax=docker/dockerfile:1
#
# ScanForge production image: one static binary that runs as `serve`,
# `worker`, `migrate` or `workspace create NAME` (see docker-compose.yml).
#
#   docker build --build-arg VERSION=$(git describe --always --dirty) -t scanforge .
#
# Needs BuildKit (the default builder of current Docker) for the cache mounts.

ARG GO_VERSION=1.26

# ---- build ------------------------------------------------------------------
# Runs on the build machine's own platform and cross-compiles (pure Go, no
# cgo), so a multi-platform build never compiles the large binary under
# emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src

# Modules first, so editing the source does not download them again. The
# golang image keeps modules in /go/pkg/mod (GOPATH=/go) and the build cache
# in /root/.cache/go-build; both live in cache mounts shared across builds.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" \
        -o /out/scanforge ./cmd/scanforge

# ---- runtime ----------------------------------------------------------------
# Alpine rather than gcr.io/distroless/static: the compose health check of
# `serve` probes /readyz from inside the container, which needs an HTTP
# client (busybox wget), and distroless has neither a shell nor one; the
# binary has no probe subcommand of its own. Alpine adds ~8 MB next to a
# ~150 MB binary. ca-certificates: webhooks are delivered over HTTPS.
FROM alpine:3.22
# /var/lib/scanforge/spool: serve's spool (SCANFORGE_SPOOL_DIR). A named
# volume mounted there takes this owner, so the non-root user can write it.
RUN apk add --no-cache ca-certificates \
 && addgroup -S -g 10001 scanforge \
 && adduser -S -D -u 10001 -G scanforge -h /home/scanforge scanforge \
 && mkdir -p /var/lib/scanforge/spool \
 && chown -R 10001:10001 /var/lib/scanforge \
 && chmod 0700 /var/lib/scanforge/spool

COPY --from=build /out/scanforge /scanforge

ARG VERSION=dev
LABEL org.opencontainers.image.title="scanforge" \
      org.opencontainers.image.description="Dynamic QR codes and redirect links; every scan becomes a signed webhook" \
      org.opencontainers.image.version="${VERSION}"

# Non-root. No HEALTHCHECK here: the same image runs serve and worker on
# different ports and the one-shot migration on none; docker-compose.yml
# checks serve (:8080/readyz) and each worker (:9090/readyz).
USER 10001:10001
WORKDIR /home/scanforge
# 8080: serve (API, redirects, /healthz, /readyz, /metrics);
# 9090: worker (/healthz, /readyz, /metrics; SCANFORGE_METRICS_ADDR).
EXPOSE 8080 9090
ENTRYPOINT ["/scanforge"]
CMD ["serve"]
