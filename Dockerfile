# One image for every role: the platform (app/main), and the edge agent (edge/main). Compiled JavaScript: tsx is
# for development and costs ~30 MB of RSS per process.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci && npm cache clean --force
COPY . .
RUN npm run build && npm prune --omit=dev
# The processes run as the image's unprivileged `node` user, which owns only what they write: the mount points of
# the data and evidence volumes (a fresh volume takes its mount point's owner). The code under /app stays root's.
RUN mkdir -p /data /evidence && chown node:node /data /evidence
USER node
ENV NODE_ENV=production LOG_FORMAT=json DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080 1883 9212
CMD ["node", "dist/app/main.js"]
