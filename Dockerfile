# One image for every role: the platform (app/main), and the edge agent (edge/main). Compiled JavaScript: tsx is
# for development and costs ~30 MB of RSS per process.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci && npm cache clean --force
COPY . .
RUN npm run build && npm prune --omit=dev
ENV NODE_ENV=production LOG_FORMAT=json DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080 1883 9212
CMD ["node", "dist/app/main.js"]
