# syntax=docker/dockerfile:1
#
# hyperv-ic-exporter container image.
#
# A Linux container cannot reach a Hyper-V host's WMI, so the image defaults to the simulator source;
# it exists for demos (docker-compose.yml), dashboard and alert development, and replaying recorded
# sample documents (--source=replay --replay.file=/data/sample.json with a mounted volume).
# The image is built by users (`docker build -t hyperv-ic-exporter .`); this repository's CI has no
# Docker engine and does not build or publish it. See docs/docker.md.
#
# Base image: Debian bookworm-slim rather than Alpine. Both are official Node 20 images and the
# exporter is pure JavaScript, but the Node.js project supports glibc Linux builds (tier 1) while its
# musl/Alpine builds are experimental, and the project's CI runs the same code on Debian bookworm.
# The size difference (a few tens of MB) does not matter for a single long-running exporter.
# Override with --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:<digest> to pin a digest.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript with the dev dependencies -------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
# --ignore-scripts: no package the build needs runs an install script, so none gets to run here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-assets.js scripts/copy-assets.js
COPY src/ src/
RUN npm run build

# ---- runtime: production dependencies and the built files only ------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force
# dist/ includes sources/powershell/collect.ps1 (copied by the build); it is unused on Linux but keeps
# the runtime layout identical to the npm package.
COPY --from=build /src/dist/ dist/

# The official image's unprivileged "node" user, given by number so that Kubernetes' runAsNonRoot
# can verify it without reading /etc/passwd.
USER 1000:1000

EXPOSE 10062

# Liveness only (/-/healthy answers as soon as the HTTP server runs; /-/ready waits for a first good
# sample). Node itself does the request because the slim image has no curl or wget.
# HEALTHCHECK_URL lets a container that moves the port (--web.listen-address) keep a working check.
ENV HEALTHCHECK_URL=http://127.0.0.1:10062/-/healthy
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL, { signal: AbortSignal.timeout(4000) }).then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))"]

# The runtime settings of dist/main.js's first line (docs/performance.md): glibc with two arenas and
# every block of 128 KiB or more mapped on its own, so that freed memory is given back; V8 with a
# 2 MiB young generation and an old generation let grow 25% before it is collected.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072

# Exec form: node runs as PID 1 and gets `docker stop`'s SIGTERM itself (the exporter handles it and
# exits 0). Arguments after the image name replace CMD and reach the exporter as flags.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=25", "dist/main.js"]
CMD ["--source=simulator"]
