#!/usr/bin/env bash
# The chart's monitoring objects, rendered with the Helm and checked with the promtool that
# hack/build-tools.sh builds:
#   - the PrometheusRule and the Grafana dashboard ConfigMap render only when enabled, with their
#     labels, thresholds and runbook links; helm lint --strict passes with both on;
#   - `promtool check rules` accepts the rendered rule groups, and `promtool test rules` runs
#     monitoring/alerts_test.yaml on them: each alert fires on a stack in trouble and stays
#     silent for a healthy one;
#   - the dashboard is valid JSON with a uid, a title, a schemaVersion and panels; every panel has
#     a data source and queries; every query (and every alert) parses and names only metric
#     families the operator exposes, and every family of issue 13 is on the dashboard.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HELM="$(helm_bin)"
PROMTOOL="$(promtool_bin)"
require_yaml_tools
require_tool python3 "install Python 3 (apt-get install python3)"
RELEASE=okami-operator
NS=okami-system
DASHBOARD="$CHART_DIR/dashboards/okami-operator.json"

# The metric families the operator exposes: the okami_* families of issue 13, and the
# controllers' families (operator/src/kube/controller.cpp). Histograms add _bucket, _sum, _count.
GAUGES_AND_COUNTERS=(
  okami_stack_ready okami_stack_upgrade_blocked okami_stack_migration_step
  okami_backup_last_success_timestamp_seconds okami_backup_last_duration_seconds
  okami_backup_last_size_bytes okami_backup_failures_total
  controller_runtime_reconcile_total controller_runtime_reconcile_errors_total
  controller_runtime_terminal_reconcile_errors_total
  workqueue_depth workqueue_adds_total workqueue_retries_total
)
HISTOGRAMS=(controller_runtime_reconcile_time_seconds workqueue_queue_duration_seconds workqueue_work_duration_seconds)
KNOWN_METRICS="${GAUGES_AND_COUNTERS[*]}"
for h in "${HISTOGRAMS[@]}"; do KNOWN_METRICS+=" $h ${h}_bucket ${h}_sum ${h}_count"; done
# What the dashboard must show: every family of issue 13, reconciles, errors and queue depth.
DASHBOARD_METRICS="okami_stack_ready okami_stack_upgrade_blocked okami_stack_migration_step
  okami_backup_last_success_timestamp_seconds okami_backup_last_duration_seconds
  okami_backup_last_size_bytes okami_backup_failures_total controller_runtime_reconcile_total
  controller_runtime_reconcile_errors_total workqueue_depth"

# promql_names.py KNOWN REQUIRED < "WHERE<TAB>EXPR" lines: names every metric an expression
# selects that is not in KNOWN, and every name of REQUIRED no expression selects.
cat > "$WORK/promql_names.py" <<'PY'
import re, sys
known, required = set(sys.argv[1].split()), set(sys.argv[2].split())
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
            "bool", "offset", "inf", "nan"}
def names(expr):
    e = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)  # strings
    e = re.sub(r'\{[^}]*\}', ' ', e)                                           # label matchers
    e = re.sub(r'\[[^\]]*\]', ' ', e)                                          # ranges
    e = re.sub(r'\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', ' ', e)
    return {m for m in re.findall(r'(?<![\w:.$])([A-Za-z_:][\w:]*)\b(?!\s*\()', e)
            if m.lower() not in KEYWORDS}
used, bad = set(), 0
for line in sys.stdin:
    where, _, expr = line.rstrip("\n").partition("\t")
    found = names(expr)
    if not found:
        print(f"{where}: selects no metric: {expr}"); bad += 1
    for n in sorted(found - known):
        print(f"{where}: unknown metric {n} in: {expr}"); bad += 1
    used |= found
for n in sorted(required - used):
    print(f"no query shows {n}"); bad += 1
sys.exit(1 if bad else 0)
PY

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

check_render() {
  if render default; then
    expect "default values render no PrometheusRule and no dashboard ConfigMap" "$WORK/default.json" \
      '[.[] | select(.kind == "PrometheusRule" or .kind == "ConfigMap")] == []'
  fi
  local args=(--set prometheusRule.enabled=true --set grafanaDashboard.enabled=true)
  if "$HELM" lint --strict --debug "$CHART_DIR" --kube-version "$KUBE_VERSION" "${OFFLINE_KEY[@]}" "${args[@]}" > "$WORK/lint.out" 2>&1 &&
     ! grep -q 'Fail: ' "$WORK/lint.out"; then
    pass "helm lint --strict with prometheusRule and grafanaDashboard enabled"
  else
    fail "helm lint --strict with prometheusRule and grafanaDashboard enabled:"; cat "$WORK/lint.out"
  fi
  render monitoring "${args[@]}" || die "cannot render the monitoring objects"
  local f="$WORK/monitoring.json"
  expect "both enabled: one PrometheusRule and one dashboard ConfigMap in the release namespace" "$f" \
    '[.[] | select(.kind == "PrometheusRule" or .kind == "ConfigMap") | [.kind, .metadata.name, .metadata.namespace]] | sort ==
     [["ConfigMap","okami-operator-dashboard","okami-system"],["PrometheusRule","okami-operator","okami-system"]]'
  expect "the alerts are OkamiNoRecentVerifiedBackup (backup stale or missing), OkamiStackNotReady, OkamiUpgradeBlocked, OkamiBackupFailing" "$f" \
    '[.[] | select(.kind == "PrometheusRule") | .spec.groups[].rules[] | [.alert, .labels.backup]] ==
     [["OkamiNoRecentVerifiedBackup","stale"],["OkamiNoRecentVerifiedBackup","missing"],["OkamiStackNotReady",null],
      ["OkamiUpgradeBlocked",null],["OkamiBackupFailing",null]]'
  expect "every alert has a severity, a summary, a description and a runbook hint" "$f" \
    '[.[] | select(.kind == "PrometheusRule") | .spec.groups[].rules[]
      | select((.labels.severity | IN("critical","warning")) and (.annotations | .summary and .description and .runbook) | not)] == []'
  expect "the dashboard ConfigMap carries grafana_dashboard: \"1\" and holds dashboards/okami-operator.json" "$f" \
    '.[] | select(.kind == "ConfigMap") | .metadata.labels.grafana_dashboard == "1"
       and (.data["okami-operator.json"] | fromjson) == $file[0]' --slurpfile file "$DASHBOARD"

  # The rule groups as Prometheus reads them, for promtool.
  jq '.[] | select(.kind == "PrometheusRule") | .spec' "$f" > "$WORK/okami-operator-rules.yaml"
  cp "$ROOT_DIR/tests/chart/monitoring/alerts_test.yaml" "$WORK/alerts_test.yaml"
  if "$PROMTOOL" check rules --lint=all --lint-fatal "$WORK/okami-operator-rules.yaml" > "$WORK/check.out" 2>&1; then
    pass "promtool check rules --lint=all accepts the rendered rules ($(grep -o '[0-9]* rules found' "$WORK/check.out"))"
  else
    fail "promtool check rules rejects the rendered rules:"; cat "$WORK/check.out"
  fi
  if (cd "$WORK" && "$PROMTOOL" test rules alerts_test.yaml) > "$WORK/test.out" 2>&1; then
    pass "promtool test rules: every alert fires on a stack in trouble and not on a healthy one"
  else
    fail "promtool test rules failed:"; cat "$WORK/test.out"
  fi
  jq -r '.groups[].rules[] | "alert \(.alert)\t\(.expr | gsub("\n"; " "))"' "$WORK/okami-operator-rules.yaml" > "$WORK/alert-exprs.tsv"
  if python3 "$WORK/promql_names.py" "$KNOWN_METRICS" "" < "$WORK/alert-exprs.tsv" > "$WORK/alert-names.out"; then
    pass "the alerts select only metric families the operator exposes"
  else
    fail "the alerts select metrics the operator does not expose:"; cat "$WORK/alert-names.out"
  fi
}

check_options() {
  render options --set prometheusRule.enabled=true --set grafanaDashboard.enabled=true \
    --set prometheusRule.thresholds.noVerifiedBackupHours=50 --set prometheusRule.thresholds.notReadyMinutes=5 \
    --set prometheusRule.thresholds.upgradeBlockedHours=3 --set prometheusRule.thresholds.backupFailing.failures=3 \
    --set prometheusRule.thresholds.backupFailing.windowHours=6 --set-string prometheusRule.labels.release=kps \
    --set-string prometheusRule.alertLabels.team=ml-platform --set prometheusRule.runbookUrl=https://runbooks.example.com/okami \
    --set-string grafanaDashboard.annotations.grafana_folder=Okami --set-string grafanaDashboard.labels.custom=yes || return 0
  local f="$WORK/options.json" r='(.[] | select(.kind == "PrometheusRule") | .spec.groups[0].rules)'
  expect "thresholds reach the rules: 50h backups, 5m not Ready, 3h blocked, 3 failures in 6h" "$f" \
    "$r | [(.[0].expr | contains(\"> 50 * 3600\")), .[1].for == \"50h\", .[2].for == \"5m\", .[3].for == \"3h\",
            (.[4].expr | contains(\"[6h]\") and contains(\">= 3\"))] | all"
  expect "prometheusRule.labels label the PrometheusRule; alertLabels every alert" "$f" \
    "(.[] | select(.kind == \"PrometheusRule\") | .metadata.labels.release == \"kps\") and ($r | map(.labels.team == \"ml-platform\") | all)"
  expect "runbookUrl gives every alert runbook_url <url>#<alert name in lower case>" "$f" \
    "$r | map(.annotations.runbook_url == \"https://runbooks.example.com/okami#\" + (.alert | ascii_downcase)) | all"
  expect "grafanaDashboard.labels and annotations reach the ConfigMap" "$f" \
    '.[] | select(.kind == "ConfigMap") | .metadata.labels.custom == "yes" and .metadata.annotations.grafana_folder == "Okami"'
  if render norunbook --set prometheusRule.enabled=true; then
    expect "without runbookUrl the alerts carry no runbook_url" "$WORK/norunbook.json" \
      '[.[] | select(.kind == "PrometheusRule") | .spec.groups[].rules[].annotations | has("runbook_url")] | any | not'
  fi
  local what text
  for what in "prometheusRule.thresholds.notReadyMinutes=0" "prometheusRule.thresholds.backupFailing.windowHours=six" \
              "prometheusRule.thresholds.noVerifiedBackupHour=26"; do
    if "$HELM" template "$RELEASE" "$CHART_DIR" -n "$NS" --kube-version "$KUBE_VERSION" "${OFFLINE_KEY[@]}" \
        --set prometheusRule.enabled=true --set "$what" > /dev/null 2> "$WORK/schema.err"; then
      fail "values.schema.json accepted $what"
    elif grep -q "values don't meet the specifications of the schema" "$WORK/schema.err"; then
      pass "values.schema.json rejects $what"
    else
      fail "$what failed for another reason: $(cat "$WORK/schema.err")"
    fi
  done
}

check_dashboard() {
  if ! jq -e . "$DASHBOARD" > /dev/null 2> "$WORK/json.err"; then
    fail "dashboards/okami-operator.json is not valid JSON: $(cat "$WORK/json.err")"
    return 0
  fi
  pass "dashboards/okami-operator.json is valid JSON"
  expect "the dashboard has a uid, a title, a schemaVersion and panels" "$DASHBOARD" \
    '(.uid | type == "string" and length > 0) and (.title | type == "string" and length > 0)
     and (.schemaVersion | type == "number") and (.panels | type == "array" and length > 0)'
  # Rows hold no queries; every other panel, nested in a row or not, is checked.
  local panels='[.panels[] | ., (.panels // [])[]] | map(select(.type != "row"))'
  expect "every panel has an id, a title, a gridPos and a type; ids are unique" "$DASHBOARD" \
    "($panels) as \$p | (\$p | map(.id and (.title | length > 0) and .gridPos and .type) | all)
     and ([.panels[] | ., (.panels // [])[] | .id] | length == (unique | length))"
  expect "every panel queries the dashboard's Prometheus data source variable" "$DASHBOARD" \
    "([.templating.list[] | select(.type == \"datasource\" and .query == \"prometheus\") | .name] == [\"datasource\"])
     and ($panels | map(.datasource == {\"type\": \"prometheus\", \"uid\": \"\${datasource}\"}) | all)"
  expect "every panel has targets, each with a refId and a PromQL expr" "$DASHBOARD" \
    "$panels | map((.targets | length > 0) and (.targets | map((.refId | length > 0) and (.expr | type == \"string\" and length > 0)) | all)) | all"
  expect "rows hold no queries" "$DASHBOARD" '[.panels[] | select(.type == "row") | .targets // [] | length] | add == 0'

  # Every query as Grafana sends it: variables become regexes, intervals durations;
  # label_values(SELECTOR, LABEL) queries SELECTOR.
  jq -r "($panels | .[] | .title as \$t | .targets[] | \"panel \(\$t) \(.refId)\t\(.expr)\"),
         (.templating.list[] | select(.type == \"query\") | \"variable \(.name)\t\(.query | sub(\"^label_values\\\\((?<s>.*), *[a-zA-Z_]+\\\\)\$\"; \"\(.s)\"))\")" \
    "$DASHBOARD" | sed -E 's/\$__(rate_interval|interval|range)/5m/g; s/\$\{?[A-Za-z_]+\}?/.*/g' > "$WORK/dash-exprs.tsv"
  if python3 "$WORK/promql_names.py" "$KNOWN_METRICS" "$DASHBOARD_METRICS" < "$WORK/dash-exprs.tsv" > "$WORK/dash-names.out"; then
    pass "the dashboard's $(wc -l < "$WORK/dash-exprs.tsv") queries select only metric families the operator exposes, and show each of issue 13's"
  else
    fail "the dashboard's queries:"; cat "$WORK/dash-names.out"
  fi
  # promtool parses each query as a recording rule.
  jq -R -s '{groups: [{name: "dashboard", rules: [split("\n")[] | select(length > 0) | split("\t")
             | {record: "dashboard:query", expr: .[1]}]}]}' "$WORK/dash-exprs.tsv" > "$WORK/dash-rules.yaml"
  if "$PROMTOOL" check rules "$WORK/dash-rules.yaml" > "$WORK/dash-check.out" 2>&1; then
    pass "promtool parses every dashboard query"
  else
    fail "promtool rejects a dashboard query:"; cat "$WORK/dash-check.out"
  fi
}

check_render
check_options
check_dashboard
finish
