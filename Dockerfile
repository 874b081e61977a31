# syntax=docker/dockerfile:1
# Conveyor: one image for every process (api, worker, monitor, migrate); the compose
# `command:` picks the CLI verb. Node 24 strips TypeScript types itself: no build step.

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

# Everything, dev tools included: for `docker build --target check .` in CI.
FROM base AS dev-deps
COPY package.json package-lock.json ./
RUN npm ci

FROM dev-deps AS check
COPY . .
RUN npm run typecheck && npm run lint

# Production dependencies only; the final stage copies node_modules from here.
FROM base AS prod-deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

FROM base AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/app/.conveyor
# Code and dependencies stay owned by root (read-only to the app); only DATA_DIR is writable.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
RUN mkdir -p /app/.conveyor && chown node:node /app/.conveyor
USER node
EXPOSE 8000
VOLUME ["/app/.conveyor"]
# node, not curl: the slim image has no curl. PORT follows the process (the monitor sets 5555).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# --max-semi-space-size: see bin/conveyor.
ENTRYPOINT ["node", "--max-semi-space-size=16", "src/cli.ts"]
CMD ["serve", "--host", "0.0.0.0"]
