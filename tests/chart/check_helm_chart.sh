#!/usr/bin/env bash
# Lints and renders helm/okami-operator with the Helm that hack/build-tools.sh builds, for
# Kubernetes v1.34.4, and checks what a cluster admin relies on:
#   check_helm_chart.sh lint      helm lint --strict, default values and watchNamespaces
#   check_helm_chart.sh template  rendered objects: CRDs kept, least-privilege RBAC (cluster-wide
#                                 and per namespace), hardened Deployment, Secret, options
#   check_helm_chart.sh schema    values.schema.json rejects unknown keys and wrong types
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HELM="$(helm_bin)"
require_yaml_tools
mode="${1:?usage: check_helm_chart.sh lint|template|schema}"
RELEASE=okami-operator
NS=okami-system

# render OUT [helm args...]: helm template into OUT.yaml and OUT.json, or a failure.
render() {
  local out="$WORK/$1"; shift
  if ! "$HELM" template "$RELEASE" "$CHART_DIR" -n "$NS" --kube-version "$KUBE_VERSION" "${OFFLINE_KEY[@]}" "$@" \
      > "$out.yaml" 2> "$out.err"; then
    fail "helm template $* failed: $(cat "$out.err")"
    return 1
  fi
  to_json "$out.yaml" > "$out.json"
}

# Every verb the operator may use, per resource (cluster-wide or in each watched namespace).
EXPECTED_RULES='[
  {"apiGroups":["okami.io"],"resources":["okamistacks","okamibackups"],"verbs":["get","list","watch","update","patch"]},
  {"apiGroups":["okami.io"],"resources":["okamibackups"],"verbs":["create","delete"]},
  {"apiGroups":["okami.io"],"resources":["okamistacks/status","okamibackups/status"],"verbs":["get","update","patch"]},
  {"apiGroups":["okami.io"],"resources":["okamistacks/finalizers","okamibackups/finalizers"],"verbs":["update"]},
  {"apiGroups":["apps"],"resources":["statefulsets","deployments"],"verbs":["get","list","watch","create","update","patch","delete"]},
  {"apiGroups":[""],"resources":["services","configmaps"],"verbs":["get","list","watch","create","update","patch","delete"]},
  {"apiGroups":[""],"resources":["secrets"],"verbs":["list","watch","create","delete"]},
  {"apiGroups":[""],"resources":["serviceaccounts"],"verbs":["get","delete"]},
  {"apiGroups":[""],"resources":["persistentvolumeclaims"],"verbs":["get","list","watch","create","update","patch"]},
  {"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch","delete"]},
  {"apiGroups":["batch"],"resources":["jobs"],"verbs":["get","list","watch","create","update","patch","delete"]},
  {"apiGroups":["networking.k8s.io"],"resources":["networkpolicies"],"verbs":["get","list","watch","create","update","patch","delete"]},
  {"apiGroups":["rbac.authorization.k8s.io"],"resources":["roles","rolebindings"],"verbs":["get","delete"]},
  {"apiGroups":["events.k8s.io"],"resources":["events"],"verbs":["create","patch","update"]},
  {"apiGroups":[""],"resources":["events"],"verbs":["create","patch"]}
]'
export EXPECTED_RULES

check_lint() {
  local args
  for args in "" "--set watchNamespaces={team-a,team-b}" "--set replicas=2 --set podDisruptionBudget.enabled=true --set metrics.bindAddress=:8080 --set metrics.serviceMonitor.enabled=true"; do
    # shellcheck disable=SC2086
    # helm lint hides a template's `fail` unless --debug shows it: treat one as a lint error.
    if "$HELM" lint --strict --debug "$CHART_DIR" --kube-version "$KUBE_VERSION" "${OFFLINE_KEY[@]}" $args > "$WORK/lint.out" 2>&1 &&
       ! grep -q 'Fail: ' "$WORK/lint.out"; then
      pass "helm lint --strict ${args:-(default values)}"
    else
      fail "helm lint --strict ${args:-(default values)}:"; cat "$WORK/lint.out"
    fi
  done
  local chart_version cmake_version
  chart_version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$CHART_DIR/Chart.yaml")"
  cmake_version="$(sed -n 's/^project(okami-operator VERSION \([^ ]*\) .*/\1/p' "$ROOT_DIR/CMakeLists.txt")"
  if [ -n "$cmake_version" ] && [ "$chart_version" = "$cmake_version" ]; then
    pass "Chart appVersion $chart_version is the operator version in CMakeLists.txt"
  else
    fail "Chart appVersion '$chart_version' differs from the CMake project version '$cmake_version'"
  fi
}

check_default_render() {
  render default || return 0
  local f="$WORK/default.json"
  expect "default render has exactly the expected objects" "$f" \
    '[.[] | .kind + "/" + .metadata.name] | sort == ([
      "CustomResourceDefinition/okamibackups.okami.io", "CustomResourceDefinition/okamistacks.okami.io",
      "ServiceAccount/okami-operator", "Secret/okami-operator-backup-signing-key",
      "ClusterRole/okami-operator-manager", "ClusterRoleBinding/okami-operator-manager",
      "ClusterRole/okami-operator-edit", "ClusterRole/okami-operator-view",
      "Role/okami-operator-leader-election", "RoleBinding/okami-operator-leader-election",
      "Service/okami-operator-metrics", "Deployment/okami-operator",
      "Pod/okami-operator-test-connection"] | sort)'
  expect "CRDs carry helm.sh/resource-policy: keep (and Argo CD Prune=false)" "$f" \
    '[.[] | select(.kind == "CustomResourceDefinition") | .metadata.annotations | [.["helm.sh/resource-policy"], .["argocd.argoproj.io/sync-options"]]] == [["keep", "Prune=false"], ["keep", "Prune=false"]]'
  expect "rendered CRDs define OkamiStack (oks) and OkamiBackup (okb), namespaced, in okami.io" "$f" \
    '[.[] | select(.kind == "CustomResourceDefinition") | .spec | [.group, .scope, .names.kind, ((if .names.kind == "OkamiStack" then "oks" else "okb" end) as $short | .names.shortNames // [] | index($short) != null)]]
     | sort == [["okami.io","Namespaced","OkamiBackup",true],["okami.io","Namespaced","OkamiStack",true]]'
  # The rendered CRDs must be the files in crds/, apart from the chart's labels and annotation.
  local crd
  for crd in "$ROOT_DIR"/crds/*.yaml; do
    [ -f "$crd" ] || continue
    to_json "$crd" | jq -c '.[0] | del(.metadata.labels) | del(.metadata.annotations["helm.sh/resource-policy"], .metadata.annotations["argocd.argoproj.io/sync-options"])
      | if .metadata.annotations == {} then del(.metadata.annotations) else . end' > "$WORK/src.json"
    jq -c --arg name "$(jq -r .metadata.name "$WORK/src.json")" \
      '.[] | select(.kind == "CustomResourceDefinition" and .metadata.name == $name) | del(.metadata.labels)
       | del(.metadata.annotations["helm.sh/resource-policy"], .metadata.annotations["argocd.argoproj.io/sync-options"])
       | if .metadata.annotations == {} then del(.metadata.annotations) else . end' "$f" > "$WORK/rendered.json"
    if jq -e -n --slurpfile a "$WORK/src.json" --slurpfile b "$WORK/rendered.json" '$a == $b' > /dev/null; then
      pass "rendered $(basename "$crd") equals crds/$(basename "$crd")"
    else
      fail "rendered $(basename "$crd") differs from crds/$(basename "$crd")"
    fi
  done
  expect "ClusterRole okami-operator-manager has exactly the operator's rules" "$f" \
    '(.[] | select(.kind == "ClusterRole" and .metadata.name == "okami-operator-manager") | .rules) == (env.EXPECTED_RULES | fromjson)'
  expect "no rule lets the operator delete PersistentVolumeClaims" "$f" \
    '[.[] | select(.kind == "ClusterRole" or .kind == "Role") | .rules[]
      | select((.resources | index("persistentvolumeclaims")) or (.resources | index("*")))
      | select(.verbs | index("delete") or index("deletecollection") or index("*"))] == []'
  expect "no wildcard verb, resource or group anywhere" "$f" \
    '[.[] | select(.kind == "ClusterRole" or .kind == "Role") | .rules[] | select((.verbs + .resources + .apiGroups) | index("*"))] == []'
  expect "ClusterRoleBinding binds the manager ClusterRole to the ServiceAccount in the release namespace" "$f" \
    '(.[] | select(.kind == "ClusterRoleBinding") | [.roleRef.kind, .roleRef.name, .subjects]) ==
     ["ClusterRole", "okami-operator-manager", [{"kind":"ServiceAccount","name":"okami-operator","namespace":"okami-system"}]]'
  expect "the leader-election Role grants leases get/create/update in the release namespace only" "$f" \
    '(.[] | select(.kind == "Role" and .metadata.name == "okami-operator-leader-election") | [.metadata.namespace, .rules]) ==
     ["okami-system", [{"apiGroups":["coordination.k8s.io"],"resources":["leases"],"verbs":["get","create","update"]}]]'
  expect "the leader-election RoleBinding binds that Role to the ServiceAccount" "$f" \
    '(.[] | select(.kind == "RoleBinding") | [.metadata.namespace, .roleRef.name, .subjects[0].name, .subjects[0].namespace]) ==
     ["okami-system", "okami-operator-leader-election", "okami-operator", "okami-system"]'
  expect "user ClusterRoles aggregate into admin, edit and view" "$f" \
    '[.[] | select(.kind == "ClusterRole") | .metadata.labels | to_entries[] | select(.key | startswith("rbac.authorization.k8s.io/aggregate-to-")) | .key] | sort ==
     ["rbac.authorization.k8s.io/aggregate-to-admin","rbac.authorization.k8s.io/aggregate-to-edit","rbac.authorization.k8s.io/aggregate-to-view"]'

  local d='(.[] | select(.kind == "Deployment") | .spec.template.spec)'
  expect "operator args are run --leader-elect --metrics-bind-address 127.0.0.1:8080 --health-probe-bind-address :8081 --log-level info --log-json --operator-image <its own image>" "$f" \
    "$d.containers[0].args == [\"run\",\"--leader-elect\",\"--metrics-bind-address\",\"127.0.0.1:8080\",\"--health-probe-bind-address\",\":8081\",\"--log-level\",\"info\",\"--log-json\",\"--operator-image\",$d.containers[0].image]"
  expect "Pod runs as non-root UID 65532 with RuntimeDefault seccomp" "$f" \
    "$d.securityContext | .runAsNonRoot == true and .runAsUser == 65532 and .seccompProfile.type == \"RuntimeDefault\""
  expect "container is read-only, unprivileged, without capabilities" "$f" \
    "$d.containers[0].securityContext | .readOnlyRootFilesystem == true and .allowPrivilegeEscalation == false and .capabilities.drop == [\"ALL\"] and .runAsNonRoot == true and .runAsUser == 65532"
  expect "probes are /healthz and /readyz on the health port 8081" "$f" \
    "$d.containers[0] | [.livenessProbe.httpGet.path, .livenessProbe.httpGet.port, .readinessProbe.httpGet.path, .readinessProbe.httpGet.port, (.ports[] | select(.name == \"health\") | .containerPort)] == [\"/healthz\",\"health\",\"/readyz\",\"health\",8081]"
  expect "POD_NAMESPACE comes from the downward API" "$f" \
    "$d.containers[0].env[] | select(.name == \"POD_NAMESPACE\") | .valueFrom.fieldRef.fieldPath == \"metadata.namespace\""
  expect "resources have requests and a memory limit" "$f" \
    "$d.containers[0].resources | .requests.cpu != null and .requests.memory != null and .limits.memory != null"
  expect "the backup signing key Secret is mounted read-only" "$f" \
    "$d | (.volumes[] | select(.name == \"backup-signing-key\") | .secret.secretName == \"okami-operator-backup-signing-key\") and (.containers[0].volumeMounts[] | select(.name == \"backup-signing-key\") | .readOnly == true)"
  expect "image defaults to okami-operator:<appVersion>" "$f" \
    "$d.containers[0].image == \"okami-operator:$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$CHART_DIR/Chart.yaml")\""
  expect "the generated signing key Secret holds 64 characters and is kept on uninstall" "$f" \
    '.[] | select(.kind == "Secret") | (.data.key | @base64d | length) == 64 and .metadata.annotations["helm.sh/resource-policy"] == "keep"'
  expect "by default /metrics stays on the Pod's loopback: no metrics port on the Pod or the Service" "$f" \
    "($d.containers[0] | [.ports[].name] == [\"health\"]) and (.[] | select(.kind == \"Service\") | [.spec.ports[].name] == [\"health\"])"
  expect "by default the helm test does not fetch /metrics" "$f" \
    '.[] | select(.kind == "Pod") | .spec.containers[0].args[0] | contains("/metrics") | not'
  expect "the metrics Service selects only the operator Pods" "$f" \
    '(.[] | select(.kind == "Service") | .spec.selector) == (.[] | select(.kind == "Deployment") | .spec.selector.matchLabels)
     and ([.[] | select(.kind == "Pod") | .metadata.labels["app.kubernetes.io/component"]] == ["test"])'
  expect "the helm test Pod is a test hook that calls /readyz through the Service" "$f" \
    '.[] | select(.kind == "Pod") | .metadata.annotations["helm.sh/hook"] == "test" and (.spec.containers[0].args[0] | contains("okami-operator-metrics.okami-system.svc") and contains("/readyz"))'
  expect "every namespaced object is in the release namespace" "$f" \
    '[.[] | select(.kind | IN("CustomResourceDefinition","ClusterRole","ClusterRoleBinding") | not) | .metadata.namespace] | unique == ["okami-system"]'
  # helm template does not render NOTES.txt: render it as a ConfigMap-like value in a copy.
  cp -r "$CHART_DIR" "$WORK/notes-chart"
  cp "$CHART_DIR/templates/NOTES.txt" "$WORK/notes-chart/notes.txt"
  printf 'notes: |\n{{ tpl (.Files.Get "notes.txt") . | indent 2 }}\n' > "$WORK/notes-chart/templates/zz-notes.yaml"
  local notes
  notes="$("$HELM" template "$RELEASE" "$WORK/notes-chart" -n "$NS" --kube-version "$KUBE_VERSION" "${OFFLINE_KEY[@]}" \
    --show-only templates/zz-notes.yaml --set 'watchNamespaces={team-a}' 2>&1 | yq -r .notes)"
  if grep -q 'kubectl apply -f manifests/samples/okamistack.yaml' <<< "$notes" &&
     grep -q 'kubectl get oks -n okami -w' <<< "$notes" &&
     grep -q 'does not watch okami' <<< "$notes"; then
    pass "NOTES tell the user the next commands: kubectl apply -f the sample, kubectl get oks"
  else
    fail "NOTES do not show the next commands (kubectl apply -f the sample, kubectl get oks):"; echo "$notes"
  fi
}

check_watch_namespaces_render() {
  render watch --set 'watchNamespaces={team-a,team-b}' || return 0
  local f="$WORK/watch.json"
  expect "watchNamespaces: nothing cluster-wide for the operator (no manager ClusterRole or ClusterRoleBinding)" "$f" \
    '[.[] | select((.kind == "ClusterRole" and .metadata.name == "okami-operator-manager") or .kind == "ClusterRoleBinding")] == []'
  expect "watchNamespaces: a manager Role with the operator's rules in each watched namespace" "$f" \
    '[.[] | select(.kind == "Role" and .metadata.name == "okami-operator-manager") | select(.rules == (env.EXPECTED_RULES | fromjson)) | .metadata.namespace] | sort == ["team-a","team-b"]'
  expect "watchNamespaces: a RoleBinding in each watched namespace to the ServiceAccount in the release namespace" "$f" \
    '[.[] | select(.kind == "RoleBinding" and .metadata.name == "okami-operator-manager") | select(.roleRef == {"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"okami-operator-manager"} and .subjects == [{"kind":"ServiceAccount","name":"okami-operator","namespace":"okami-system"}]) | .metadata.namespace] | sort == ["team-a","team-b"]'
  expect "watchNamespaces: the leader-election Role stays in the release namespace" "$f" \
    '[.[] | select(.kind == "Role" and .metadata.name == "okami-operator-leader-election") | .metadata.namespace] == ["okami-system"]'
  expect "watchNamespaces: the operator gets --watch-namespaces team-a,team-b" "$f" \
    '.[] | select(.kind == "Deployment") | .spec.template.spec.containers[0].args | (index("--watch-namespaces") as $i | $i != null and .[$i + 1] == "team-a,team-b")'
}

check_options_render() {
  if render nocrds --set crds.enabled=false; then
    expect "crds.enabled=false renders no CRD" "$WORK/nocrds.json" '[.[] | select(.kind == "CustomResourceDefinition")] == []'
  fi
  if render nokeep --set crds.keep=false --set backupSigningKey.keep=false; then
    expect "crds.keep=false drops the keep annotation" "$WORK/nokeep.json" \
      '[.[] | select(.kind == "CustomResourceDefinition" or .kind == "Secret") | .metadata.annotations // {} | .["helm.sh/resource-policy"] // .["argocd.argoproj.io/sync-options"] // "none"] | unique == ["none"]'
  fi
  if render existing --set backupSigningKey.existingSecret=my-key --set backupSigningKey.secretKey=hmac; then
    expect "existingSecret: no Secret is generated and the Pod mounts the named Secret's key" "$WORK/existing.json" \
      '([.[] | select(.kind == "Secret")] == []) and (.[] | select(.kind == "Deployment") | .spec.template.spec.volumes[] | select(.name == "backup-signing-key") | .secret.secretName == "my-key" and .secret.items[0].key == "hmac")'
  fi
  if render extras --set replicas=3 --set podDisruptionBudget.enabled=true --set metrics.bindAddress=:8080 --set metrics.serviceMonitor.enabled=true \
      --set logLevel=debug --set logJson=false --set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef; then
    expect "options: replicas, PodDisruptionBudget, ServiceMonitor, log flags, image digest" "$WORK/extras.json" \
      '(.[] | select(.kind == "Deployment") | .spec.replicas == 3
        and (.spec.template.spec.containers[0].args | index("--log-json") == null and (index("--log-level") as $i | .[$i + 1] == "debug"))
        and (.spec.template.spec.containers[0].image | endswith("@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")))
       and ([.[] | select(.kind == "PodDisruptionBudget" or .kind == "ServiceMonitor") | .kind] | sort == ["PodDisruptionBudget","ServiceMonitor"])'
  fi
  if render exposed --set metrics.bindAddress=:9090 --set metrics.serviceMonitor.enabled=true; then
    expect "metrics.bindAddress=:9090: the argument, a metrics port 9090 on the Pod and the Service, the ServiceMonitor and helm test use it" \
      "$WORK/exposed.json" '
      (.[] | select(.kind == "Deployment") | .spec.template.spec.containers[0]
       | (.args | index("--metrics-bind-address") as $i | .[$i + 1] == ":9090")
         and ([.ports[] | {name, containerPort}] == [{"name":"metrics","containerPort":9090},{"name":"health","containerPort":8081}]))
      and (.[] | select(.kind == "Service") | [.spec.ports[] | {name, port}] == [{"name":"metrics","port":9090},{"name":"health","port":8081}])
      and (.[] | select(.kind == "ServiceMonitor") | .spec.endpoints[0].port == "metrics")
      and (.[] | select(.kind == "Pod") | .spec.containers[0].args[0] | contains("$base:9090/metrics"))'
  fi
  local loopback
  for loopback in 127.0.0.1:9090 localhost:9090 '[::1]:9090' 0; do
    if render loop --set-string "metrics.bindAddress=$loopback"; then
      expect "metrics.bindAddress=$loopback: passed as is, no metrics port anywhere" "$WORK/loop.json" \
        '(.[] | select(.kind == "Deployment") | .spec.template.spec.containers[0]
          | (.args | index("--metrics-bind-address") as $i | .[$i + 1] == $addr) and ([.ports[].name] == ["health"]))
         and (.[] | select(.kind == "Service") | [.spec.ports[].name] == ["health"])' --arg addr "$loopback"
    fi
  done
  if "$HELM" template "$RELEASE" "$CHART_DIR" -n "$NS" --kube-version "$KUBE_VERSION" "${OFFLINE_KEY[@]}" \
      --set metrics.serviceMonitor.enabled=true > /dev/null 2> "$WORK/sm.err"; then
    fail "a ServiceMonitor was rendered for metrics on the loopback"
  elif grep -q 'metrics.serviceMonitor.enabled needs /metrics on the Pod.s address' "$WORK/sm.err"; then
    pass "a ServiceMonitor without metrics.bindAddress exposed is refused, naming metrics.bindAddress"
  else
    fail "the ServiceMonitor render failed for another reason: $(cat "$WORK/sm.err")"
  fi
  if render jobpods --set-string 'jobPodAnnotations.kwok\.x-k8s\.io/status=custom' \
      --set-string 'jobPodAnnotations.sidecar\.istio\.io/inject=false' --set 'extraArgs={--workers=4}'; then
    expect "jobPodAnnotations: one --job-pod-annotations KEY=VALUE per entry, before extraArgs" "$WORK/jobpods.json" \
      '.[] | select(.kind == "Deployment") | .spec.template.spec.containers[0].args | .[index("--operator-image") + 2:] ==
       ["--job-pod-annotations","kwok.x-k8s.io/status=custom","--job-pod-annotations","sidecar.istio.io/inject=false","--workers=4"]'
  fi
  if render pullsecrets --set 'imagePullSecrets[0].name=regcred' --set 'imagePullSecrets[1].name=mirror'; then
    expect "imagePullSecrets: on the operator pod and one --image-pull-secret NAME each for guard and Job pods" \
      "$WORK/pullsecrets.json" \
      '.[] | select(.kind == "Deployment") | .spec.template.spec.imagePullSecrets == [{"name":"regcred"},{"name":"mirror"}]
       and (.spec.template.spec.containers[0].args | [to_entries[] | select(.value == "--image-pull-secret") | .key] as $i
            | [$i[] as $k | .[$k + 1]] == ["regcred","mirror"])'
  fi
  if "$HELM" template "$RELEASE" "$CHART_DIR" -n "$NS" --kube-version "$KUBE_VERSION" "${OFFLINE_KEY[@]}" \
      --set replicas=2 --set leaderElection.enabled=false > /dev/null 2> "$WORK/le.err"; then
    fail "replicas=2 without leader election was accepted"
  else
    pass "replicas=2 without leader election is refused: $(grep -o 'replicas > 1 needs leaderElection[^:]*' "$WORK/le.err" | head -1)"
  fi
  # Helm allows 53 characters in a release name; with the chart name appended that is 68.
  local long="a-release-name-of-fifty-three-characters-for-testing1"
  if "$HELM" template "$long" "$CHART_DIR" -n "$NS" --kube-version "$KUBE_VERSION" "${OFFLINE_KEY[@]}" > "$WORK/long.yaml" 2> "$WORK/long.err"; then
    to_json "$WORK/long.yaml" > "$WORK/long.json"
    expect "a long release name still gives names of at most 63 characters" "$WORK/long.json" \
      '[.[] | select(.kind != "CustomResourceDefinition") | .metadata.name | select(length > 63 or endswith("-"))] == []'
  else
    fail "helm template with a long release name failed: $(cat "$WORK/long.err")"
  fi
}

# rejects DESCRIPTION EXPECTED_TEXT helm-args...: helm template must fail citing EXPECTED_TEXT.
rejects() {
  local what="$1" text="$2"; shift 2
  if "$HELM" template "$RELEASE" "$CHART_DIR" -n "$NS" --kube-version "$KUBE_VERSION" "${OFFLINE_KEY[@]}" "$@" > /dev/null 2> "$WORK/schema.err"; then
    fail "values.schema.json accepted $what"
  elif grep -q "values don't meet the specifications of the schema" "$WORK/schema.err" && grep -qF "$text" "$WORK/schema.err"; then
    pass "values.schema.json rejects $what"
  else
    fail "$what failed for another reason: $(cat "$WORK/schema.err")"
  fi
}

check_schema() {
  rejects "an unknown top-level key" "additional properties 'replicaCount' not allowed" --set replicaCount=2
  rejects "an unknown nested key" "additional properties 'enable' not allowed" --set crds.enable=false
  rejects "an unknown key two levels down" "additional properties 'port' not allowed" --set metrics.serviceMonitor.port=9090
  rejects "the removed metrics.port (metrics.bindAddress replaces it)" "additional properties 'port' not allowed" --set metrics.port=8080
  rejects "a metrics.bindAddress that is not [HOST]:PORT or 0" "/metrics/bindAddress" --set metrics.bindAddress=metrics.example:8080
  rejects "an unknown resources key" "additional properties 'cpus' not allowed" --set resources.limits.cpus=1
  rejects "a string where an integer belongs" "/replicas" --set replicas=two
  rejects "a string where a boolean belongs" "/crds/keep" --set-string crds.keep=yes
  rejects "a watchNamespaces entry that is not a namespace name" "/watchNamespaces/0" --set 'watchNamespaces={Team_A}'
  rejects "an unknown log level" "/logLevel" --set logLevel=verbose
  rejects "a jobPodAnnotations value that is not a string" "/jobPodAnnotations/example.com~1retries" --set 'jobPodAnnotations.example\.com/retries=3'
  rejects "a jobPodAnnotations that is not a map" "/jobPodAnnotations" --set jobPodAnnotations=custom
  jq -e '
    def walk_objects: .. | objects | select(.type == "object" and has("properties"));
    [walk_objects | select(.additionalProperties != false)] == []' "$CHART_DIR/values.schema.json" > /dev/null &&
    pass "every object with declared properties in values.schema.json sets additionalProperties: false" ||
    fail "an object in values.schema.json declares properties without additionalProperties: false"
  # Every value in values.yaml is documented: a comment right above it or above a block holding it.
  local undocumented
  undocumented="$(awk '
    /^[[:space:]]*#/ { commented = 1; next }
    /^[[:space:]]*[A-Za-z][-A-Za-z0-9]*:/ {
      indent = match($0, /[^ ]/)
      for (i in doc) if (i + 0 >= indent) delete doc[i]
      inherited = 0
      for (i in doc) if (doc[i]) inherited = 1
      if ($0 ~ /:[[:space:]]*$/) doc[indent] = commented
      else if (!commented && !inherited) print NR ": " $0
      commented = 0; next
    }
    { commented = 0 }' "$CHART_DIR/values.yaml")"
  if [ -z "$undocumented" ]; then
    pass "every value in values.yaml has a comment"
  else
    fail "values.yaml has undocumented values:"; echo "$undocumented"
  fi
}

# The signing key on an offline render: never a silently new one.
check_offline_signing_key() {
  if "$HELM" template "$RELEASE" "$CHART_DIR" -n "$NS" --kube-version "$KUBE_VERSION" \
      > "$WORK/offline.yaml" 2> "$WORK/offline.err"; then
    fail "an offline render without backupSigningKey.existingSecret or generateOffline generated a signing key"
  elif grep -q "backupSigningKey: this render cannot reach a cluster" "$WORK/offline.err" &&
       grep -q "backupSigningKey.existingSecret" "$WORK/offline.err"; then
    pass "an offline render without existingSecret fails and names backupSigningKey.existingSecret"
  else
    fail "the offline render failed for another reason: $(cat "$WORK/offline.err")"
  fi
  if "$HELM" lint --strict --debug "$CHART_DIR" --kube-version "$KUBE_VERSION" > "$WORK/offline-lint.out" 2>&1 &&
     ! grep -q 'Fail: ' "$WORK/offline-lint.out"; then
    fail "helm lint without backupSigningKey.existingSecret or generateOffline passed"
  else
    pass "helm lint without backupSigningKey.existingSecret or generateOffline fails the same way"
  fi
  if "$HELM" template "$RELEASE" "$CHART_DIR" -n "$NS" --kube-version "$KUBE_VERSION" \
      --set backupSigningKey.existingSecret=my-key > "$WORK/offline-existing.yaml" 2> "$WORK/offline-existing.err"; then
    pass "an offline render with backupSigningKey.existingSecret needs no opt-in"
  else
    fail "an offline render with backupSigningKey.existingSecret failed: $(cat "$WORK/offline-existing.err")"
  fi
}

case "$mode" in
  lint) check_lint ;;
  template) check_default_render; check_watch_namespaces_render; check_options_render; check_offline_signing_key ;;
  schema) check_schema ;;
  *) die "unknown mode $mode" ;;
esac
finish
