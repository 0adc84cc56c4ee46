# firedrill's container image, in two stages: the release build (scripts/build-release.sh: a
# static, -trimpath binary stamped with its version) in the Go image, then that binary alone on
# distroless/static, which has CA certificates, /etc/passwd's nonroot user and tzdata (the
# binary embeds the zone database too), and no shell or package manager.
#
#   docker build --build-arg VERSION=v1.2.0 --build-arg COMMIT=$(git rev-parse HEAD) -t firedrill .
#
# The build context has no .git (.dockerignore), so the version comes from the build args.

# The newest patch release of go.mod's Go: scripts/govulncheck.sh on go1.26.8 finds standard
# library vulnerabilities that go1.26.9 and go1.26.10 fix.
ARG GO_VERSION=1.26.10

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=
RUN VERSION="$VERSION" COMMIT="$COMMIT" BUILD_DATE="$BUILD_DATE" scripts/build-release.sh /out/firedrill \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/firedrill /usr/local/bin/firedrill
# Where the report signing key is generated on first use (serve --signing-key): owned by the
# nonroot user, so that a volume mounted here starts writable.
COPY --from=build --chown=65532:65532 /out/data /var/lib/firedrill
USER 65532:65532
WORKDIR /var/lib/firedrill
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/firedrill"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
