#!/usr/bin/env bash
# Static checks of operator/Dockerfile (no Docker engine is needed, and none is used):
#   the build stage installs exactly the Debian packages of hack/deps.sh (plus ca-certificates and
#   ccache, which compiles into a cache mount);
#   the runtime stage is debian:12-slim with only the runtime libraries, a non-root numeric USER
#   65532 (the UID the chart and manifests run as) and ENTRYPOINT ["/okami-operator"], the same
#   absolute path the operator's guard init container and Jobs run (kOperatorBinary).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKERFILE="$ROOT_DIR/operator/Dockerfile"
[ -f "$DOCKERFILE" ] || die "operator/Dockerfile is missing"

# packages_of STAGE_NUMBER: the packages of that stage's `apt-get install`, one per line, sorted.
packages_of() {
  awk -v want="$1" '
    /^FROM / { stage++ }
    stage != want { next }
    /apt-get install/ { inside = 1; line = $0; sub(/^.*apt-get install/, "", line) }
    inside && !/apt-get install/ {
      line = $0
      if (line ~ /&&/) { sub(/&&.*$/, "", line); inside = 0 }
    }
    inside || line != "" {
      gsub(/\\/, "", line)
      n = split(line, words, /[[:space:]]+/)
      for (i = 1; i <= n; i++) if (words[i] ~ /^[a-z0-9][a-z0-9.+-]+$/) print words[i]
      if ($0 !~ /\\[[:space:]]*$/) inside = 0
      line = ""
    }' "$DOCKERFILE" | sort -u
}

sed -n '/^PACKAGES=(/,/^)/p' "$ROOT_DIR/hack/deps.sh" | sed '1d;$d' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u > "$WORK/deps.txt"
[ -s "$WORK/deps.txt" ] || die "cannot read the PACKAGES list of hack/deps.sh"
# ccache comes from hack/deps.sh's NODE_PACKAGES: the build stage compiles through it, with its
# objects in a cache mount.
packages_of 1 | grep -qx ccache &&
  grep -q -- '--mount=type=cache,target=/root/.cache/ccache' "$DOCKERFILE" &&
  grep -q -- '-DCMAKE_CXX_COMPILER_LAUNCHER=ccache' "$DOCKERFILE" &&
  sed -n '/^NODE_PACKAGES=(/,/^)/p' "$ROOT_DIR/hack/deps.sh" | grep -qw ccache &&
  pass "the build stage compiles through ccache (a package of hack/deps.sh) with a cache mount" ||
  fail "the build stage does not compile through ccache with a cache mount on /root/.cache/ccache"
packages_of 1 | grep -vx -e ca-certificates -e ccache > "$WORK/build.txt" || true
if diff -u "$WORK/deps.txt" "$WORK/build.txt" > "$WORK/diff"; then
  pass "the build stage installs the $(wc -l < "$WORK/deps.txt") Debian packages of hack/deps.sh (and ccache)"
else
  fail "the build stage's packages differ from hack/deps.sh (- deps.sh, + Dockerfile):"; tail -n +3 "$WORK/diff"
fi

printf '%s\n' ca-certificates libcpprest2.10 libyaml-cpp0.7 libboost-program-options1.74.0 libssl3 \
  libspdlog1.10 libsqlite3-0 libarchive13 libdate-tz3 libcurl4 tzdata | sort > "$WORK/runtime-want.txt"
packages_of 2 > "$WORK/runtime.txt"
if diff -u "$WORK/runtime-want.txt" "$WORK/runtime.txt" > "$WORK/diff"; then
  pass "the runtime stage installs only the runtime libraries: $(paste -sd' ' "$WORK/runtime.txt")"
else
  fail "the runtime stage's packages are not the runtime libraries (- expected, + Dockerfile):"; tail -n +3 "$WORK/diff"
fi

stages="$(grep -E '^FROM ' "$DOCKERFILE" | awk '{print $2}' | paste -sd' ')"
[ "$stages" = "debian:12 debian:12-slim" ] && pass "stages: debian:12 (build), debian:12-slim (runtime)" ||
  fail "stages are '$stages', want 'debian:12 debian:12-slim'"
grep -q -- '--target okami-operator' "$DOCKERFILE" && pass "the build stage builds the okami-operator target with CMake" ||
  fail "the build stage does not build --target okami-operator"
last_user="$(grep -E '^USER ' "$DOCKERFILE" | tail -1 | awk '{print $2}')"
[ "${last_user%%:*}" = "65532" ] && pass "the image runs as USER $last_user" || fail "the final USER is '$last_user', want 65532"
[ "$(grep -E '^ENTRYPOINT ' "$DOCKERFILE" | tail -1)" = 'ENTRYPOINT ["/okami-operator"]' ] &&
  pass 'ENTRYPOINT ["/okami-operator"]' || fail 'the ENTRYPOINT is not ["/okami-operator"]'
binary="$(sed -n 's/^inline constexpr const char\* kOperatorBinary = "\(.*\)";$/\1/p' \
  "$ROOT_DIR/operator/src/okami/children/layout.h")"
[ "$(grep -E '^ENTRYPOINT ' "$DOCKERFILE" | tail -1)" = "ENTRYPOINT [\"$binary\"]" ] &&
  pass "the guard and the Jobs run the ENTRYPOINT's binary by its absolute path ($binary)" ||
  fail "kOperatorBinary in operator/src/okami/children/layout.h is '$binary', not the ENTRYPOINT's path"
finish
