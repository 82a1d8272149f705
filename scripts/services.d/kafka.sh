#!/usr/bin/env bash
# Single-node Apache Kafka broker (KRaft, combined broker+controller) on loopback,
# for tests and local development. No Docker and no Kafka tarball: the jars come
# from Maven Central via `mvn`.
#
# Usage: scripts/services.d/kafka.sh <command> [args]
#   install   fetch the jars into the cache (idempotent; seconds once cached)
#   up        install, format storage if needed, start, wait until ready, and
#             print KAFKA_BROKERS=127.0.0.1:<port> on stdout
#   start     start the broker again on existing data (waits until ready)
#   stop      stop the broker, keep the data
#   down      stop the broker and delete its state dir
#   status    exit 0 if the broker is running and answers metadata
#   logs      print the last lines of the broker log (N=200 lines by default)
#   run CLASS [ARGS...]      run a Java class with the Kafka classpath
#   retention TOPIC...       set retention.ms on existing topics: KAFKA_FRAMES_RETENTION_HOURS for
#             topics whose name ends in "frames", KAFKA_RETENTION_HOURS for the others
#   topics|produce|consume [ARGS...]
#             the kafka-topics / console producer / console consumer tools;
#             --bootstrap-server is added if you leave it out
#
# Environment:
#   KAFKA_VERSION          Kafka 3.x version (default 3.9.2; 4.x is not supported)
#   KAFKA_PORT             PLAINTEXT listener port (default 19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (default 19093)
#   KAFKA_HEAP_OPTS        broker heap (default "-Xmx512m -Xms256m")
#   KAFKA_READY_TIMEOUT    seconds to wait for readiness (default 90)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (default 30)
#   KAFKA_RETENTION_HOURS  how long the broker keeps messages of a topic without its own retention
#                          (log.retention.hours, default 168 = 7 days: a stage may be down a week)
#   KAFKA_FRAMES_RETENTION_HOURS  retention of the camera frames topics (default 1: frames are most of
#                          the bytes, and a frame older than that is of no use to the vision worker)
#   KAFKA_EXTRA_PROPERTIES extra server.properties lines, newline-separated
#   KAFKA_PRUNE_DIRS       when the broker holds more partition directories than this at `up` (default
#                          1000), topics untouched for KAFKA_PRUNE_IDLE_MIN minutes (default 120) are
#                          deleted, except the platform's own "city." ones. Every test run makes topics of its
#                          own; thousands of them made the broker take 40 s and more to restart after a kill.
#   CITY_CACHE             cache root (default ~/.cache/city-sensing); holds
#                          kafka/<version>/libs and the Maven local repo (m2/)
#   SERVICES_DIR           state root (default /tmp/city-services); the broker
#                          uses $SERVICES_DIR/kafka
#   JAVA_HOME, MVN         which java / mvn to use
#
# Progress goes to stderr; stdout carries only the KAFKA_BROKERS=... line (and
# the output of the tool commands).
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-3.9.2}"
SCALA_BINARY_VERSION="2.13"
SLF4J_VERSION="1.7.36"
RELOAD4J_VERSION="1.2.25"
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
KAFKA_HOST="127.0.0.1"

CACHE_ROOT="${CITY_CACHE:-${HOME:?HOME or CITY_CACHE must be set}/.cache/city-sensing}"
KAFKA_CACHE="$CACHE_ROOT/kafka/$KAFKA_VERSION"
LIBS="$KAFKA_CACHE/libs"
TOOLS_LOG4J="$KAFKA_CACHE/tools-log4j.properties"
M2_REPO="$CACHE_ROOT/m2"
SERVICES_ROOT="${SERVICES_DIR:-/tmp/city-services}"
STATE="$SERVICES_ROOT/kafka"
PID_FILE="$STATE/kafka.pid"
LOG_FILE="$STATE/kafka.log"   # broker log4j output
OUT_FILE="$STATE/kafka.out"   # JVM stdout/stderr (crashes, early errors)
DATA_DIR="$STATE/data"
PORTS_FILE="$STATE/ports.env"

RETENTION_HOURS="${KAFKA_RETENTION_HOURS:-168}"
FRAMES_RETENTION_HOURS="${KAFKA_FRAMES_RETENTION_HOURS:-1}"
[[ "$RETENTION_HOURS" =~ ^[1-9][0-9]*$ ]] || { printf 'kafka: error: KAFKA_RETENTION_HOURS=%s is not a whole number of hours\n' "$RETENTION_HOURS" >&2; exit 1; }
[[ "$FRAMES_RETENTION_HOURS" =~ ^[1-9][0-9]*$ ]] || { printf 'kafka: error: KAFKA_FRAMES_RETENTION_HOURS=%s is not a whole number of hours\n' "$FRAMES_RETENTION_HOURS" >&2; exit 1; }
READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi
MVN="${MVN:-mvn}"
# Short-lived tool JVMs: C1 only starts faster.
TOOL_JVM_OPTS=(-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true)

log() { printf 'kafka: %s\n' "$*" >&2; }
die() { printf 'kafka: error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"; }

case "$KAFKA_VERSION" in
  3.*) ;;
  *) die "KAFKA_VERSION=$KAFKA_VERSION is not supported (this script targets Kafka 3.x with reload4j logging)" ;;
esac

# ---------------------------------------------------------------- locking
# fd 8: install lock, fd 9: state lock. Both are closed for the broker process
# so it doesn't hold them forever.
lock_fd() { # lock_fd FD FILE
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "$(dirname "$2")"
  eval "exec $1>\"\$2\""
  flock -w 600 "$1" || die "timed out waiting for lock $2"
}

# ---------------------------------------------------------------- install
write_pom() {
  cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.city-sensing</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_${SCALA_BINARY_VERSION}</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>${SLF4J_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId>
      <artifactId>reload4j</artifactId>
      <version>${RELOAD4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
EOF
}

cmd_install() {
  [[ -f "$LIBS/.complete" ]] && return 0
  need "$JAVA" "install a JDK/JRE 17, e.g. apt-get install openjdk-17-jre-headless"
  need "$MVN" "install Maven, e.g. apt-get install maven"
  lock_fd 8 "$CACHE_ROOT/kafka/.install-$KAFKA_VERSION.lock"
  [[ -f "$LIBS/.complete" ]] && return 0   # another process finished it meanwhile
  mkdir -p "$KAFKA_CACHE"
  rm -rf "$KAFKA_CACHE"/.install.*
  local tmp start=$SECONDS
  tmp="$(mktemp -d "$KAFKA_CACHE/.install.XXXXXX")"
  write_pom "$tmp/pom.xml"
  log "fetching org.apache.kafka:kafka_${SCALA_BINARY_VERSION}:${KAFKA_VERSION} and runtime dependencies from Maven (repo: $M2_REPO)..."
  # (Maven 3.8 prints bare ANSI resets even in batch/quiet mode: strip them.)
  if ! "$MVN" -B -q -Dstyle.color=never -f "$tmp/pom.xml" -Dmaven.repo.local="$M2_REPO" \
      "$DEPENDENCY_PLUGIN:copy-dependencies" -DincludeScope=runtime \
      -DoutputDirectory="$tmp/libs" </dev/null 2>&1 \
      | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
    rm -rf "$tmp"
    die "maven failed to fetch the Kafka jars"
  fi
  [[ -f "$tmp/libs/kafka_${SCALA_BINARY_VERSION}-${KAFKA_VERSION}.jar" ]] \
    || { rm -rf "$tmp"; die "kafka jar missing after maven run"; }
  cat >"$tmp/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
  rm -rf "$LIBS"
  mv "$tmp/tools-log4j.properties" "$TOOLS_LOG4J"
  mv "$tmp/libs" "$LIBS"
  rm -rf "$tmp"
  echo "$KAFKA_VERSION" >"$LIBS/.complete"
  log "installed $(find "$LIBS" -name '*.jar' | wc -l | tr -d ' ') jars into $LIBS in $((SECONDS - start))s"
}

# ------------------------------------------------------------ java tools
class_exists() { # class_exists a.b.C  (zip entry names are stored uncompressed)
  grep -aqF "${1//.//}.class" "$LIBS"/kafka*.jar 2>/dev/null
}
first_class() {
  local c
  for c in "$@"; do class_exists "$c" && { echo "$c"; return 0; }; done
  die "none of these classes exist in Kafka $KAFKA_VERSION: $*"
}
run_class() { # run_class CLASS ARGS... (tool JVM, logs WARN+ to stderr)
  "$JAVA" "${TOOL_JVM_OPTS[@]}" -Dlog4j.configuration="file:$TOOLS_LOG4J" \
    -cp "$LIBS/*" "$@" 8>&- 9>&-
}

# ------------------------------------------------------------ broker state
load_ports() {
  local want_port="${KAFKA_PORT:-19092}" want_ctl="${KAFKA_CONTROLLER_PORT:-19093}"
  PORT="$want_port"; CONTROLLER_PORT="$want_ctl"
  if [[ -f "$PORTS_FILE" ]]; then
    PORT="$(sed -n 's/^PORT=//p' "$PORTS_FILE")"
    CONTROLLER_PORT="$(sed -n 's/^CONTROLLER_PORT=//p' "$PORTS_FILE")"
    if [[ ( -n "${KAFKA_PORT:-}" && "$PORT" != "$want_port" ) ||
          ( -n "${KAFKA_CONTROLLER_PORT:-}" && "$CONTROLLER_PORT" != "$want_ctl" ) ]]; then
      log "warning: $STATE was created with ports $PORT/$CONTROLLER_PORT; using those (run 'down' to change)"
    fi
  fi
  BOOTSTRAP="$KAFKA_HOST:$PORT"
}

broker_pid() { # prints the pid if our broker process is alive
  [[ -f "$PID_FILE" ]] || return 1
  local pid args
  pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse (and zombies, whose args are empty).
  args="$(ps -o args= -p "$pid" 2>/dev/null)" || return 1
  [[ "$args" == *kafka.Kafka*"$STATE/server.properties"* ]] || return 1
  echo "$pid"
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$KAFKA_HOST/$1" 2>/dev/null; }

metadata_ok() { # the broker answers a metadata (list topics) request
  local cls
  cls="$(first_class org.apache.kafka.tools.TopicCommand kafka.admin.TopicCommand)"
  timeout 30 "$JAVA" "${TOOL_JVM_OPTS[@]}" -Dlog4j.configuration="file:$TOOLS_LOG4J" \
    -cp "$LIBS/*" "$cls" --bootstrap-server "$BOOTSTRAP" --list \
    --command-config "$STATE/probe.properties" >/dev/null 2>&1 8>&- 9>&-
}

is_ready() { broker_pid >/dev/null && port_open "$PORT" && metadata_ok; }

show_log_tail() {
  local f
  for f in "$OUT_FILE" "$LOG_FILE"; do
    [[ -s "$f" ]] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

write_configs() {
  cat >"$STATE/server.properties" <<EOF
# Generated by scripts/services.d/kafka.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$PORT,CONTROLLER://$KAFKA_HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=4
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
log.retention.hours=$RETENTION_HOURS
num.network.threads=2
num.io.threads=4
# Shorter broker session: after an unclean kill the restarted broker must wait
# for its previous session to expire before it is unfenced (default 9s).
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
EOF
  if [[ -n "${KAFKA_EXTRA_PROPERTIES:-}" ]]; then
    printf '%s\n' "$KAFKA_EXTRA_PROPERTIES" >>"$STATE/server.properties"
  fi
  cat >"$STATE/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$LOG_FILE
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
  cat >"$STATE/probe.properties" <<EOF
request.timeout.ms=5000
default.api.timeout.ms=10000
socket.connection.setup.timeout.ms=2000
socket.connection.setup.timeout.max.ms=2000
EOF
}

random_cluster_id() { # Kafka Uuid format: 16 random bytes, url-safe base64, no padding
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    # Kafka avoids ids starting with '-' (they look like CLI flags).
    [[ ${#id} -eq 22 && "$id" != -* ]] && { echo "$id"; return 0; }
  done
}

ensure_formatted() {
  [[ -f "$DATA_DIR/meta.properties" ]] && return 0
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR"
  printf 'PORT=%s\nCONTROLLER_PORT=%s\n' "$PORT" "$CONTROLLER_PORT" >"$PORTS_FILE"
  write_configs
  local id
  id="$(random_cluster_id)"
  log "formatting storage in $DATA_DIR (cluster id $id)"
  run_class kafka.tools.StorageTool format -t "$id" -c "$STATE/server.properties" >&2 \
    || die "storage format failed"
}

check_ports_free() {
  if port_open "$PORT"; then
    die "port $PORT is already in use by another process (set KAFKA_PORT, or stop it)"
  fi
  if port_open "$CONTROLLER_PORT"; then
    die "port $CONTROLLER_PORT is already in use by another process (set KAFKA_CONTROLLER_PORT)"
  fi
}

wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! broker_pid >/dev/null; then
      show_log_tail
      die "broker process exited during startup"
    fi
    if port_open "$PORT" && metadata_ok; then return 0; fi
    sleep 0.5
  done
  show_log_tail
  log "broker not ready after ${READY_TIMEOUT}s; stopping it (data and logs kept in $STATE)"
  stop_broker
  die "broker not ready after ${READY_TIMEOUT}s (port $PORT; log: $LOG_FILE)"
}

start_broker() {
  local pid
  if pid="$(broker_pid)"; then
    wait_ready
    return 0
  fi
  check_ports_free
  write_configs
  rm -f "$PID_FILE"
  local start=$SECONDS
  log "starting Kafka $KAFKA_VERSION on $BOOTSTRAP (state: $STATE)"
  local heap launcher=()
  read -r -a heap <<<"$HEAP_OPTS"
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)   # detach from the caller's process group
  # The inner shell writes its own pid and then execs java, so the pid file
  # holds the broker's pid.
  # shellcheck disable=SC2016
  ${launcher[@]+"${launcher[@]}"} bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
    "$JAVA" "${heap[@]}" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$STATE/log4j.properties" -Dkafka.logs.dir="$STATE" \
    -cp "$LIBS/*" kafka.Kafka "$STATE/server.properties" \
    </dev/null >"$OUT_FILE" 2>&1 8>&- 9>&- &
  for _ in $(seq 1 50); do [[ -s "$PID_FILE" ]] && break; sleep 0.1; done
  wait_ready
  log "ready in $((SECONDS - start))s (pid $(cat "$PID_FILE"))"
}

stop_broker() {
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PID_FILE"
    return 0
  fi
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && broker_pid >/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if broker_pid >/dev/null; then
    log "broker did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do broker_pid >/dev/null || break; sleep 0.1; done
    broker_pid >/dev/null && die "could not kill broker pid $pid"
  fi
  rm -f "$PID_FILE"
}

print_brokers() { echo "KAFKA_BROKERS=$BOOTSTRAP"; }

# Deletes the topics that earlier test and bench runs left behind (each makes its own, under a prefix of its own),
# once there are many: a topic none of whose logs changed for KAFKA_PRUNE_IDLE_MIN minutes belongs to no running
# test (the broker rewrites index and checkpoint files at every start, the .log files only on appends). The
# platform's "city." topics and Kafka's internal ones are kept whatever their age.
prune_idle_topics() {
  local limit="${KAFKA_PRUNE_DIRS:-1000}" idle="${KAFKA_PRUNE_IDLE_MIN:-120}"
  [[ -d "$DATA_DIR" ]] || return 0
  local dirs
  dirs="$(find "$DATA_DIR" -mindepth 1 -maxdepth 1 -type d -name '*-[0-9]*' ! -name '*-delete' | wc -l)"
  (( dirs > limit )) || return 0
  local topics
  topics="$(
    comm -23 \
      <(find "$DATA_DIR" -mindepth 1 -maxdepth 1 -type d -name '*-[0-9]*' ! -name '*-delete' -printf '%f\n' \
        | sed -E 's/-[0-9]+$//' | sort -u) \
      <(find "$DATA_DIR" -mindepth 2 -maxdepth 2 -name "*.log" -mmin "-$idle" -printf '%h\n' \
        | sed -E 's#.*/##; s/-[0-9]+$//' | sort -u) \
      | grep -v -E '^(city\.|__)' || true
  )"
  [[ -n "$topics" ]] || return 0
  log "$dirs partition directories: deleting $(wc -l <<<"$topics") topics idle for ${idle} min or more (KAFKA_PRUNE_DIRS)"
  # Topic names hold only [A-Za-z0-9._-]: "." is escaped for the regular expression; 200 names a call.
  local cls batch
  cls="$(first_class org.apache.kafka.tools.TopicCommand kafka.admin.TopicCommand)"
  while read -r batch; do
    [[ -n "$batch" ]] || continue
    with_bootstrap "$cls" --delete --if-exists --topic "^($batch)\$" >/dev/null \
      || log "could not delete some idle topics (left for the next run)"
  done < <(sed 's/\./\\./g' <<<"$topics" | awk '{ printf "%s%s", $0, (NR % 200 == 0 ? "\n" : "|") } END { print "" }' | sed 's/|$//')
}

# ------------------------------------------------------------ commands
cmd_up() {
  cmd_install
  mkdir -p "$STATE"
  lock_fd 9 "$SERVICES_ROOT/.kafka.lock"
  load_ports
  if broker_pid >/dev/null && port_open "$PORT" && metadata_ok; then
    prune_idle_topics
    print_brokers
    return 0
  fi
  broker_pid >/dev/null || check_ports_free
  ensure_formatted
  start_broker
  prune_idle_topics
  print_brokers
}

cmd_start() {
  [[ -f "$DATA_DIR/meta.properties" ]] || die "no Kafka state in $STATE; run '$0 up' first"
  cmd_install
  lock_fd 9 "$SERVICES_ROOT/.kafka.lock"
  load_ports
  start_broker
  print_brokers
}

cmd_stop() {
  [[ -d "$STATE" ]] || return 0
  lock_fd 9 "$SERVICES_ROOT/.kafka.lock"
  stop_broker
}

cmd_down() {
  lock_fd 9 "$SERVICES_ROOT/.kafka.lock"
  if [[ -d "$STATE" ]]; then
    stop_broker
    rm -rf "$STATE"
    log "removed $STATE"
  fi
}

cmd_status() {
  [[ -f "$LIBS/.complete" && -d "$STATE" ]] || { log "not running"; return 1; }
  load_ports
  local pid
  if ! pid="$(broker_pid)"; then log "not running"; return 1; fi
  if port_open "$PORT" && metadata_ok; then
    log "running (pid $pid) on $BOOTSTRAP"
    return 0
  fi
  log "process $pid is up but the broker is not ready on $BOOTSTRAP"
  return 1
}

with_bootstrap() { # tool shortcuts: add --bootstrap-server unless given
  local cls="$1"; shift
  [[ -f "$LIBS/.complete" ]] || die "not installed; run '$0 install' or '$0 up'"
  local a
  for a in "$@"; do
    [[ "$a" == --bootstrap-server* ]] && { run_class "$cls" "$@"; return; }
  done
  load_ports 2>/dev/null
  run_class "$cls" --bootstrap-server "$BOOTSTRAP" "$@"
}

# Topics are created by the platform (KafkaBus) with the broker's defaults; this sets each one's own retention.ms.
cmd_retention() {
  [[ $# -ge 1 ]] || die "usage: $0 retention TOPIC..."
  cmd_install
  load_ports 2>/dev/null
  local cls t hours
  cls="$(first_class org.apache.kafka.tools.ConfigCommand kafka.admin.ConfigCommand)"
  for t in "$@"; do
    hours="$RETENTION_HOURS"
    [[ "$t" == *frames ]] && hours="$FRAMES_RETENTION_HOURS"
    run_class "$cls" --bootstrap-server "$BOOTSTRAP" --command-config "$STATE/probe.properties" --alter \
      --entity-type topics --entity-name "$t" --add-config "retention.ms=$((hours * 3600000))" >&2 \
      || die "could not set the retention of topic $t"
    log "topic $t: retention.ms=$((hours * 3600000)) ($hours h)"
  done
}

main() {
  local cmd="${1:-help}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    install) cmd_install ;;
    up) cmd_up ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    down) cmd_down ;;
    status) cmd_status ;;
    logs) tail -n "${N:-200}" "$LOG_FILE" ;;
    run)
      [[ $# -ge 1 ]] || die "usage: $0 run CLASS [ARGS...]"
      cmd_install
      run_class "$@" ;;
    retention) cmd_retention "$@" ;;
    topics)
      cmd_install
      with_bootstrap "$(first_class org.apache.kafka.tools.TopicCommand kafka.admin.TopicCommand)" "$@" ;;
    produce)
      cmd_install
      with_bootstrap "$(first_class org.apache.kafka.tools.ConsoleProducer kafka.tools.ConsoleProducer)" "$@" ;;
    consume)
      cmd_install
      with_bootstrap "$(first_class org.apache.kafka.tools.consumer.ConsoleConsumer kafka.tools.ConsoleConsumer)" "$@" ;;
    help|-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (try: $0 help)" ;;
  esac
}

main "$@"
