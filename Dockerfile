# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
# Pure Go: the embedded SQLite needs no cgo, so the binary is static.
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${BUILD_DATE}" \
    -o /out/firebreak ./cmd/firebreak
# The SQLite file's directory, handed to the nonroot user below (WORKDIR would create it owned by root).
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
LABEL org.opencontainers.image.title="firebreak" \
      org.opencontainers.image.description="The incident commander for Slack" \
      org.opencontainers.image.source="https://github.com/firebreakhq/firebreak" \
      org.opencontainers.image.url="https://github.com/firebreakhq/firebreak" \
      org.opencontainers.image.documentation="https://github.com/firebreakhq/firebreak#readme" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="firebreak" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_DATE}"
COPY --from=build /out/firebreak /usr/local/bin/firebreak
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
ENV HTTP_ADDR=:8080 ADMIN_ADDR=:9090 SQLITE_PATH=/data/firebreak.db
# 8080: Slack and webhooks (public); 9090: metrics, readiness, health (cluster only).
EXPOSE 8080 9090
USER nonroot:nonroot
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/usr/local/bin/firebreak", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/firebreak"]
CMD ["serve"]
