#!/usr/bin/env bash
# Renders the kustomize base (manifests/) and the samples with `kubectl kustomize` (offline) and
# checks that the base installs the operator exactly as the Helm chart does with default values,
# that Argo CD sync waves put CRDs before RBAC before the Deployment, and that the samples match
# the CRD schemas.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_yaml_tools
# kubectl renders kustomize offline: $KUBECTL, else the one hack/build-tools.sh builds, else PATH's.
if [ -z "${KUBECTL:-}" ]; then
  KUBECTL="$("$ROOT_DIR/hack/build-tools.sh" --print | sed -n 's/^KUBE_BIN_DIR=//p')/kubectl"
  [ -x "$KUBECTL" ] || KUBECTL=kubectl
fi
require_tool "$KUBECTL" "run hack/build-tools.sh (it builds kubectl) or install kubectl"
HELM="$(helm_bin)"

if ! "$KUBECTL" kustomize "$ROOT_DIR/manifests" > "$WORK/base.yaml" 2> "$WORK/base.err"; then
  die "kubectl kustomize manifests/ failed: $(cat "$WORK/base.err")"
fi
pass "kubectl kustomize manifests/ renders ($(grep -c '^kind:' "$WORK/base.yaml") objects)"
to_json "$WORK/base.yaml" > "$WORK/base.json"
B="$WORK/base.json"

if ! "$HELM" template okami-operator "$ROOT_DIR/helm/okami-operator" -n okami-system \
    --kube-version "$KUBE_VERSION" "${OFFLINE_KEY[@]}" > "$WORK/chart.yaml" 2> "$WORK/chart.err"; then
  die "helm template of the chart failed: $(cat "$WORK/chart.err")"
fi
to_json "$WORK/chart.yaml" > "$WORK/chart.json"
export CHART_JSON="$WORK/chart.json"

expect "every namespaced object is in okami-system" "$B" \
  '[.[] | select(.kind | IN("Namespace","CustomResourceDefinition","ClusterRole","ClusterRoleBinding") | not) | .metadata.namespace] | unique == ["okami-system"]'
expect "the base has the chart's objects, plus the Namespace, minus the generated Secret and the helm test Pod" "$B" \
  '([.[] | select(.kind != "Namespace") | .kind + "/" + .metadata.name] | sort) ==
   ([$chart[0][] | select(.kind != "Secret" and .kind != "Pod") | .kind + "/" + .metadata.name] | sort)' \
  --slurpfile chart "$WORK/chart.json"
expect "RBAC rules, role references and subjects equal the chart's" "$B" '
  def rbac: [.[] | select(.kind | IN("ClusterRole","Role","ClusterRoleBinding","RoleBinding"))
             | {kind, name: .metadata.name, namespace: .metadata.namespace, rules, roleRef, subjects,
                aggregate: (.metadata.labels | with_entries(select(.key | startswith("rbac.authorization.k8s.io/"))))}]
           | sort_by(.kind, .name);
  rbac == ($chart[0] | rbac)' --slurpfile chart "$WORK/chart.json"
expect "the Deployment's Pod spec equals the chart's (image aside)" "$B" '
  def deploy: .[] | select(.kind == "Deployment") | .spec | {replicas, selector,
              pod: (.template.spec | .containers |= map(del(.image)))};
  deploy == ($chart[0] | deploy)' --slurpfile chart "$WORK/chart.json"
expect "the image is okami-operator:<appVersion>, as in the chart" "$B" '
  def image: .[] | select(.kind == "Deployment") | .spec.template.spec.containers[0].image;
  image == ($chart[0] | image)' --slurpfile chart "$WORK/chart.json"
expect "the metrics Service equals the chart's" "$B" '
  def svc: .[] | select(.kind == "Service") | .spec; svc == ($chart[0] | svc)' --slurpfile chart "$WORK/chart.json"
expect "sync waves: Namespace -2, CRDs -1, ServiceAccount and RBAC 0, Deployment and Service 1" "$B" '
  [.[] | [.kind, .metadata.annotations["argocd.argoproj.io/sync-wave"]]] | unique | sort == ([
    ["Namespace","-2"], ["CustomResourceDefinition","-1"], ["ServiceAccount","0"], ["ClusterRole","0"],
    ["ClusterRoleBinding","0"], ["Role","0"], ["RoleBinding","0"], ["Deployment","1"], ["Service","1"]] | sort)'
expect "CRDs use server-side apply and are never pruned by Argo CD" "$B" '
  [.[] | select(.kind == "CustomResourceDefinition") | .metadata.annotations["argocd.argoproj.io/sync-options"]] | unique == ["Prune=false,ServerSideApply=true"]'

# components/expose-metrics is the chart's metrics.bindAddress=":8080": the same Pod spec and
# Service, with /metrics on the Pod's address.
mkdir -p "$WORK/exposed/overlay"
cp -r "$ROOT_DIR/manifests" "$WORK/exposed/manifests"
printf 'resources: [../manifests]\ncomponents: [../manifests/components/expose-metrics]\n' \
  > "$WORK/exposed/overlay/kustomization.yaml"
if ! "$KUBECTL" kustomize "$WORK/exposed/overlay" > "$WORK/exposed.yaml" 2> "$WORK/exposed.err"; then
  fail "kubectl kustomize with components/expose-metrics failed: $(cat "$WORK/exposed.err")"
elif ! "$HELM" template okami-operator "$ROOT_DIR/helm/okami-operator" -n okami-system \
    --kube-version "$KUBE_VERSION" "${OFFLINE_KEY[@]}" --set metrics.bindAddress=:8080 \
    > "$WORK/chart-exposed.yaml" 2> "$WORK/chart-exposed.err"; then
  fail "helm template with metrics.bindAddress=:8080 failed: $(cat "$WORK/chart-exposed.err")"
else
  to_json "$WORK/exposed.yaml" > "$WORK/exposed.json"
  to_json "$WORK/chart-exposed.yaml" > "$WORK/chart-exposed.json"
  expect "components/expose-metrics: the Pod spec and Service equal the chart's with metrics.bindAddress=:8080" \
    "$WORK/exposed.json" '
    def deploy: .[] | select(.kind == "Deployment") | .spec.template.spec | .containers |= map(del(.image));
    def svc: .[] | select(.kind == "Service") | .spec;
    [deploy, svc] == ($chart[0] | [deploy, svc])' --slurpfile chart "$WORK/chart-exposed.json"
  expect "components/expose-metrics serves /metrics on the Pod's port 8080" "$WORK/exposed.json" '
    (.[] | select(.kind == "Deployment") | .spec.template.spec.containers[0]
     | (.args | index("--metrics-bind-address") as $i | .[$i + 1] == ":8080")
       and ([.ports[] | select(.name == "metrics") | .containerPort] == [8080]))
    and (.[] | select(.kind == "Service") | [.spec.ports[].name] == ["metrics", "health"])'
fi
expect "the base keeps /metrics on the loopback: no metrics port on the Pod or the Service" "$B" '
  (.[] | select(.kind == "Deployment") | .spec.template.spec.containers[0]
   | (.args | index("--metrics-bind-address") as $i | .[$i + 1] == "127.0.0.1:8080")
     and ([.ports[].name] == ["health"]))
  and (.[] | select(.kind == "Service") | [.spec.ports[].name] == ["health"])'

# `kustomize edit set image` changes only `images:`; the guard init container and the Jobs run
# --operator-image, which must follow (kustomization.yaml's replacements).
cp -r "$ROOT_DIR/manifests" "$WORK/reimaged"
sed -i 's|^    newName: okami-operator$|    newName: registry.example.com/team/okami-operator|; s|^    newTag: .*$|    newTag: 9.9.9|' \
  "$WORK/reimaged/kustomization.yaml"
if ! "$KUBECTL" kustomize "$WORK/reimaged" > "$WORK/reimaged.yaml" 2> "$WORK/reimaged.err"; then
  fail "kubectl kustomize of the base with another image failed: $(cat "$WORK/reimaged.err")"
else
  to_json "$WORK/reimaged.yaml" > "$WORK/reimaged.json"
  expect "an image set with kustomize edit set image reaches --operator-image" "$WORK/reimaged.json" '
    .[] | select(.kind == "Deployment") | .spec.template.spec.containers[0]
    | .image == "registry.example.com/team/okami-operator:9.9.9"
      and (.args | index("--operator-image") as $i | .[$i + 1] == "registry.example.com/team/okami-operator:9.9.9")'
fi
expect "the base's --operator-image is the Deployment's image" "$B" '
  .[] | select(.kind == "Deployment") | .spec.template.spec.containers[0]
  | .image as $img | .args | index("--operator-image") as $i | .[$i + 1] == $img'

# The CRDs in the base are the files in crds/, apart from the Argo CD annotations and the base's
# labels (the byte-for-byte copy is checked by check_crd_drift.sh).
for crd in "$ROOT_DIR"/crds/*.yaml; do
  [ -f "$crd" ] || continue
  to_json "$crd" | jq -c '.[0] | del(.metadata.labels)' > "$WORK/src.json"
  jq -c --arg name "$(jq -r .metadata.name "$WORK/src.json")" '.[] | select(.metadata.name == $name)
    | del(.metadata.labels) | .metadata.annotations |= (del(.["argocd.argoproj.io/sync-wave"], .["argocd.argoproj.io/sync-options"]))
    | if .metadata.annotations == {} then del(.metadata.annotations) else . end' "$B" > "$WORK/kz.json"
  if jq -e -n --slurpfile a "$WORK/src.json" --slurpfile b "$WORK/kz.json" '$a == $b' > /dev/null; then
    pass "the base's $(basename "$crd") equals crds/$(basename "$crd")"
  else
    fail "the base's $(basename "$crd") differs from crds/$(basename "$crd") (run hack/sync-chart-crds.sh)"
  fi
done

# Samples: render, Argo CD annotations, and a structural check against the CRD schemas (unknown
# fields, required fields, types, enums), since no apiserver is at hand here.
if ! "$KUBECTL" kustomize "$ROOT_DIR/manifests/samples" > "$WORK/samples.yaml" 2> "$WORK/samples.err"; then
  fail "kubectl kustomize manifests/samples failed: $(cat "$WORK/samples.err")"
else
  pass "kubectl kustomize manifests/samples renders"
  to_json "$WORK/samples.yaml" > "$WORK/rendered-samples.json"
  expect "rendered sample CRs carry SkipDryRunOnMissingResource=true and a sync wave after the Deployment" \
    "$WORK/rendered-samples.json" '
    [.[] | select(.apiVersion | startswith("okami.io/"))] | length > 0 and
    all(.[]; .metadata.annotations["argocd.argoproj.io/sync-options"] == "SkipDryRunOnMissingResource=true"
             and (.metadata.annotations["argocd.argoproj.io/sync-wave"] | tonumber) > 1)'
fi
awk 'FNR == 1 { print "---" } { print }' "$ROOT_DIR"/manifests/samples/okami*.yaml > "$WORK/all-samples.yaml"
to_json "$WORK/all-samples.yaml" > "$WORK/samples.json"
awk 'FNR == 1 { print "---" } { print }' "$ROOT_DIR"/crds/*.yaml > "$WORK/crds.yaml" 2>/dev/null || true
if [ ! -s "$WORK/crds.yaml" ]; then
  fail "crds/ holds no CRDs: the samples cannot be checked against a schema"
else
  to_json "$WORK/crds.yaml" > "$WORK/crds.json"
  jq -r --slurpfile crds "$WORK/crds.json" '
    def problems($s; $v; $p):
      if $s == null or $s["x-kubernetes-preserve-unknown-fields"] == true then []
      elif ($v | type) == "object" then
        (if ($s.type // "object") != "object" then ["\($p): an object where the schema wants \($s.type)"] else [] end)
        + (if $s.properties != null then
             [$v | to_entries[] | . as $e
              | if $s.properties[$e.key] != null then problems($s.properties[$e.key]; $e.value; "\($p).\($e.key)")[]
                elif ($s.additionalProperties | type) == "object" then problems($s.additionalProperties; $e.value; "\($p).\($e.key)")[]
                else "\($p).\($e.key): unknown field" end]
           elif ($s.additionalProperties | type) == "object" then
             [$v | to_entries[] | problems($s.additionalProperties; .value; "\($p).\(.key)")[]]
           else [] end)
        + [($s.required // [])[] | select($v[.] == null) | "\($p).\(.): required field missing"]
      elif ($v | type) == "array" then
        (if ($s.type // "array") != "array" then ["\($p): a list where the schema wants \($s.type)"] else [] end)
        + [range(0; $v | length) as $i | problems($s.items; $v[$i]; "\($p)[\($i)]")[]]
      else
        (if $s["x-kubernetes-int-or-string"] == true then
           (if ($v | type) == "string" or ($v | type) == "number" then [] else ["\($p): int-or-string wanted"] end)
         elif $s.type == null then []
         elif ($v | type) == "string" and $s.type == "string" then []
         elif ($v | type) == "number" and ($s.type == "number" or ($s.type == "integer" and ($v | floor) == $v)) then []
         elif ($v | type) == "boolean" and $s.type == "boolean" then []
         else ["\($p): \($v | tojson) is not a \($s.type)"] end)
        + (if $s.enum != null and ($s.enum | index([$v])) == null then ["\($p): \($v | tojson) is not one of \($s.enum | tojson)"] else [] end)
      end;
    .[] | . as $obj
    | ($crds[0][] | select(.spec.group == ($obj.apiVersion | split("/")[0]) and .spec.names.kind == $obj.kind)) as $crd
    | ($crd.spec.versions[] | select(.name == ($obj.apiVersion | split("/")[1])) | .schema.openAPIV3Schema) as $schema
    | "\($obj.kind)/\($obj.metadata.name)\t" + (problems($schema; $obj | del(.metadata, .apiVersion, .kind); "") | join("; "))
  ' "$WORK/samples.json" > "$WORK/sample-problems.txt"
  checked=0
  while IFS=$'\t' read -r name problems; do
    checked=$((checked + 1))
    if [ -z "$problems" ]; then pass "sample $name matches its CRD schema"; else fail "sample $name: $problems"; fi
  done < "$WORK/sample-problems.txt"
  [ "$checked" -eq "$(jq length "$WORK/samples.json")" ] || fail "some samples have no CRD in crds/ for their kind and version"
fi
finish
