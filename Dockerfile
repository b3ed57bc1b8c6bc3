# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Pure Go: the embedded SQLite needs no cgo, so the binary is static.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/firebreak ./cmd/firebreak

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/firebreak /usr/local/bin/firebreak
WORKDIR /data
ENV HTTP_ADDR=:8080 SQLITE_PATH=/data/firebreak.db
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/usr/local/bin/firebreak", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/firebreak"]
CMD ["serve"]
