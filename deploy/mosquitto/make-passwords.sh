#!/usr/bin/env bash
# Turns a plain `username:password` list into the hashed password file that Mosquitto reads.
#
# Usage: deploy/mosquitto/make-passwords.sh [INPUT [OUTPUT]]
#   INPUT   plain list, default deploy/mosquitto/passwords.example (the DEMO accounts). '#' comments and blank lines
#           are ignored. Usernames: 1-64 of A-Z a-z 0-9 _ - . (a device's username is its device id, and the ACL
#           substitutes it into topics, so + # / : and spaces are refused).
#   OUTPUT  hashed file, default deploy/mosquitto/passwords (git-ignored), written with mode 0600.
#
# Hashing is done by `mosquitto_passwd -U` (Debian package mosquitto; the script installs it with apt-get when it
# runs as root and it is missing). Without it but with a working Docker engine, the eclipse-mosquitto:2 image's
# mosquitto_passwd is used. docker-compose.yml copies OUTPUT into the broker container owned by the mosquitto user,
# so the host file can stay owned by you with mode 0600. After changing it: `docker compose restart mosquitto`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IN="${1:-$HERE/passwords.example}"
OUT="${2:-$HERE/passwords}"

log() { printf 'make-passwords: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -f "$IN" ] || die "no such file: $IN"
if [ "$(cd "$(dirname "$IN")" && pwd)/$(basename "$IN")" = "$HERE/passwords.example" ]; then
  log "WARNING: using the DEMO credentials of passwords.example; for production pass your own list (docs/deploy.md)"
fi

hasher() { # prints how to run mosquitto_passwd: "local" or "docker"
  if command -v mosquitto_passwd >/dev/null 2>&1; then echo local; return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian package mosquitto (for mosquitto_passwd)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto >&2 \
      && command -v mosquitto_passwd >/dev/null 2>&1 && { echo local; return; }
  fi
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then echo docker; return; fi
  die "mosquitto_passwd not found: install the Debian package mosquitto (apt-get install mosquitto)"
}

OUT_DIR="$(cd "$(dirname "$OUT")" && pwd)" || die "no such directory: $(dirname "$OUT")"
umask 077
TMP="$(mktemp -d "$OUT_DIR/.passwords.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# Validate and normalise the list: no comments, no CRs, one user:password per line, unique usernames.
n=0 lineno=0
declare -A seen=()
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  line="${line%$'\r'}"
  case "$line" in ''|'#'*) continue ;; esac
  [[ "$line" =~ ^[[:space:]]*$ ]] && continue
  user="${line%%:*}"
  pass="${line#*:}"
  [ "$user" != "$line" ] || die "$IN:$lineno: expected username:password"
  [[ "$user" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || die "$IN:$lineno: username '$user' must be 1-64 of A-Z a-z 0-9 _ - ."
  [ -n "$pass" ] || die "$IN:$lineno: empty password for '$user'"
  [ -z "${seen[$user]:-}" ] || die "$IN:$lineno: '$user' is listed twice"
  seen[$user]=1
  printf '%s:%s\n' "$user" "$pass" >>"$TMP/passwords"
  n=$((n + 1))
done <"$IN"
[ "$n" -gt 0 ] || die "$IN has no accounts"

case "$(hasher)" in
  local) mosquitto_passwd -U "$TMP/passwords" >&2 || die "mosquitto_passwd -U failed" ;;
  docker)
    log "hashing with the eclipse-mosquitto:2 image"
    docker run --rm -v "$TMP:/work" eclipse-mosquitto:2 mosquitto_passwd -U /work/passwords >&2 \
      || die "mosquitto_passwd -U (docker) failed"
    ;;
esac

# Every line must now carry a hash ($7$ = PBKDF2-SHA512 in Mosquitto 2).
if grep -qv '^[^:]*:\$[0-9]\$' "$TMP/passwords"; then die "unexpected output of mosquitto_passwd -U"; fi
[ "$(wc -l <"$TMP/passwords")" -eq "$n" ] || die "mosquitto_passwd -U changed the number of accounts"
chmod 600 "$TMP/passwords"
mv -f "$TMP/passwords" "$OUT"
log "wrote $n hashed accounts to $OUT"
