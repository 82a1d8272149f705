# shellcheck shell=bash
# Sourced by the scripts of the command-line tools the tests run (promtool.sh, kubeconform.sh): builds a Go program
# with `go install MODULE/PATH@VERSION` from the Go module proxy into
# ${CITY_CACHE:-~/.cache/city-sensing}/go-tools/NAME/VERSION/NAME, once; later calls only check that it is there.
# Concurrent installs of the same tool wait for each other (flock). Progress goes to stderr.

GO_TOOLS_CACHE="${CITY_CACHE:-${HOME:?HOME or CITY_CACHE must be set}/.cache/city-sensing}/go-tools"

# go_tool_install NAME PACKAGE VERSION: prints the binary's path on stdout.
go_tool_install() {
  local name="$1" pkg="$2" version="$3"
  local dir="$GO_TOOLS_CACHE/$name/$version" bin
  bin="$dir/$name"
  if [ -x "$bin" ]; then echo "$bin"; return 0; fi
  command -v go >/dev/null 2>&1 || { echo "[$name] ERROR: 'go' is required to build $pkg@$version" >&2; return 1; }
  mkdir -p "$dir"
  (
    exec 8>"$dir/.install.lock"
    command -v flock >/dev/null 2>&1 && flock -w 1800 8
    [ -x "$bin" ] && exit 0
    local t0=$SECONDS work
    work="$(mktemp -d "$dir/.build.XXXXXX")"
    echo "[$name] building $pkg@$version from the Go module proxy (log: $dir/build.log)" >&2
    # -mod=mod: the module's own go.mod decides the dependencies, whatever GOFLAGS the caller has.
    if ! GOBIN="$work" GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "$pkg@$version" >"$dir/build.log" 2>&1; then
      tail -n 30 "$dir/build.log" >&2
      rm -rf "$work"
      echo "[$name] ERROR: go install $pkg@$version failed" >&2
      exit 1
    fi
    mv -f "$work/$name" "$bin"
    rm -rf "$work"
    echo "[$name] built in $((SECONDS - t0)) s: $bin" >&2
  ) || return 1
  echo "$bin"
}
