#!/usr/bin/env bash
# Fails when a packaged copy drifts from its source:
#   crds/*.yaml  vs  helm/okami-operator/crds-source/ and manifests/crds/ (byte for byte, same set)
#   manifests/kustomization.yaml lists every CRD copy
#   manifests/argocd/health/*.lua  vs  the scripts embedded in manifests/argocd/argocd-cm-health.yaml
# Fix any failure with hack/sync-chart-crds.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

shopt -s nullglob
sources=("$ROOT_DIR"/crds/*.yaml)
if [ "${#sources[@]}" -eq 0 ]; then
  fail "crds/ holds no CRDs: the chart and manifests/ have nothing to package"
fi
for copy_dir in helm/okami-operator/crds-source manifests/crds; do
  for src in "${sources[@]}"; do
    name="$(basename "$src")"
    if [ ! -f "$ROOT_DIR/$copy_dir/$name" ]; then
      fail "$copy_dir/$name is missing (run hack/sync-chart-crds.sh)"
    elif ! cmp -s "$src" "$ROOT_DIR/$copy_dir/$name"; then
      fail "$copy_dir/$name differs from crds/$name (run hack/sync-chart-crds.sh)"
    else
      pass "$copy_dir/$name is identical to crds/$name"
    fi
  done
  for copy in "$ROOT_DIR/$copy_dir"/*.yaml; do
    [ -f "$ROOT_DIR/crds/$(basename "$copy")" ] ||
      fail "$copy_dir/$(basename "$copy") has no source in crds/ (run hack/sync-chart-crds.sh)"
  done
done
for copy in "$ROOT_DIR"/manifests/crds/*.yaml; do
  entry="crds/$(basename "$copy")"
  if grep -Eq "^[[:space:]]*-[[:space:]]+$entry[[:space:]]*$" "$ROOT_DIR/manifests/kustomization.yaml"; then
    pass "manifests/kustomization.yaml lists $entry"
  else
    fail "manifests/kustomization.yaml does not list $entry"
  fi
done
shopt -u nullglob

# embedded KEY: the block scalar under data.KEY of the argocd-cm snippet, de-indented, without the
# trailing blank lines a YAML "|" block drops.
embedded() {
  awk -v key="  resource.customizations.health.$1: |" '
    $0 == key { inside = 1; next }
    inside && /^[^ ]/ { exit }
    inside && /^  [^ ]/ { exit }
    inside { sub(/^    /, ""); lines[++n] = $0 }
    END { while (n > 0 && lines[n] == "") n--; for (i = 1; i <= n; i++) print lines[i] }
  ' "$ROOT_DIR/manifests/argocd/argocd-cm-health.yaml"
}
CM="$ROOT_DIR/manifests/argocd/argocd-cm-health.yaml"
if [ ! -f "$CM" ]; then
  fail "manifests/argocd/argocd-cm-health.yaml is missing (run hack/sync-chart-crds.sh)"
else
  for pair in okami.io_OkamiStack:okamistack.lua okami.io_OkamiBackup:okamibackup.lua; do
    key="${pair%%:*}" file="manifests/argocd/health/${pair#*:}"
    embedded "$key" > "$WORK/embedded.lua"
    if [ ! -s "$WORK/embedded.lua" ]; then
      fail "argocd-cm-health.yaml has no resource.customizations.health.$key"
    elif ! diff -u "$ROOT_DIR/$file" "$WORK/embedded.lua" > "$WORK/diff"; then
      fail "argocd-cm-health.yaml embeds a different $key script than $file (run hack/sync-chart-crds.sh):"
      head -20 "$WORK/diff"
    else
      pass "argocd-cm-health.yaml embeds $file verbatim as resource.customizations.health.$key"
    fi
  done
fi
finish
