# One image for every role: the platform (npm start), ingest-only instances, and the edge agent.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force
COPY . .
ENV NODE_ENV=production LOG_FORMAT=json DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080 1883
CMD ["npx", "tsx", "app/main.ts"]
