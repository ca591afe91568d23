#!/usr/bin/env bash
# Proves hack/s3.sh gives the backup tests a real S3 server: it starts with generated credentials
# and a bucket, speaks SigV4 (and refuses wrong keys and a payload that does not match its signed
# hash), stores, lists, assembles multipart uploads and deletes objects, serves HTTPS with the CA
# it prints, and `stop` leaves no process. Requests are signed by curl (--aws-sigv4).
# Runs its own servers in a temporary state dir; needs MinIO from hack/build-tools.sh and fails
# (never skips) without it.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../../hack/lib.sh"

WORK="$(mktemp -d)"
export OKAMI_S3_DIR="$WORK/s3"
TLS_DIR="$WORK/s3-tls"
passed=0; failed=0
check() {  # check NAME COMMAND...
  local name="$1"; shift
  if "$@"; then echo "PASS $name"; passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi
}
cleanup() {
  "$HACK_DIR/s3.sh" stop >/dev/null 2>&1 || true
  OKAMI_S3_DIR="$TLS_DIR" "$HACK_DIR/s3.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

env_out="$("$HACK_DIR/s3.sh" start)" || { echo "FAIL hack/s3.sh start (see its error above)"; exit 1; }
eval "$env_out"
B="$OKAMI_S3_ENDPOINT/$OKAMI_S3_BUCKET"

sha256() { sha256sum "$1" | cut -c1-64; }
# s3 [curl args...]: a request signed as the generated user. curl 7.88 signs the payload only
# for --data; a body from -T or none must name its hash in x-amz-content-sha256 (s3_put does).
s3() {
  curl -sS --max-time 30 --aws-sigv4 "aws:amz:$OKAMI_S3_REGION:s3" \
    --user "$OKAMI_S3_ACCESS_KEY:$OKAMI_S3_SECRET_KEY" "$@"
}
# status [curl args...]: the HTTP status of a signed request.
status() { s3 -o "$WORK/body" -w '%{http_code}' "$@"; }
# s3_put FILE URL [curl args...]: uploads FILE with its SHA-256 signed; prints the response headers.
s3_put() {
  local file="$1" url="$2"; shift 2
  s3 -f -D - -o /dev/null -H "x-amz-content-sha256: $(sha256 "$file")" -T "$file" "$@" "$url" | tr -d '\r'
}
etag_of() { sed -n 's/^[Ee][Tt]ag: //p'; }

env_names_every_setting() {
  local v
  for v in OKAMI_S3_ENDPOINT OKAMI_S3_ENDPOINT_POD OKAMI_S3_ACCESS_KEY OKAMI_S3_SECRET_KEY OKAMI_S3_REGION OKAMI_S3_BUCKET; do
    [ -n "${!v:-}" ] || { echo "  hack/s3.sh start printed no $v"; return 1; }
  done
  [[ "$OKAMI_S3_ENDPOINT" == http://127.0.0.1:* ]] || { echo "  endpoint $OKAMI_S3_ENDPOINT is not on loopback"; return 1; }
  if ip -4 -o addr show dev okbr0 2>/dev/null | grep -q ' inet 10\.88\.0\.1/'; then
    [ "$OKAMI_S3_ENDPOINT_POD" = "http://10.88.0.1:${OKAMI_S3_ENDPOINT##*:}" ] || { echo "  the node bridge is up but pods get $OKAMI_S3_ENDPOINT_POD"; return 1; }
    [ "$(status "$OKAMI_S3_ENDPOINT_POD/$OKAMI_S3_BUCKET?list-type=2")" = 200 ] || { echo "  $OKAMI_S3_ENDPOINT_POD does not answer"; return 1; }
  fi
  # The credentials are generated for this server; `env` prints the same exports again.
  [ "$(stat -c %a "$OKAMI_S3_DIR/s3.env")" = 600 ] || { echo "  the credentials file is readable by others"; return 1; }
  [ "$("$HACK_DIR/s3.sh" env)" = "$env_out" ] || { echo "  hack/s3.sh env differs from what start printed"; return 1; }
}

bucket_exists() {
  local code; code="$(status -I "$B")"
  [ "$code" = 200 ] || { echo "  HEAD $B: $code"; return 1; }
}

start_is_idempotent() {
  local again; again="$("$HACK_DIR/s3.sh" start 2>/dev/null)" || return 1
  [ "$again" = "$env_out" ] || { echo "  a second start changed the server: $again"; return 1; }
}

refuses_wrong_credentials() {
  local code
  code="$(curl -sS -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:$OKAMI_S3_REGION:s3" \
    --user "$OKAMI_S3_ACCESS_KEY:not-the-secret-key-at-all" "$B?list-type=2")"
  [ "$code" = 403 ] || { echo "  a wrong secret got $code"; return 1; }
  code="$(curl -sS -o /dev/null -w '%{http_code}' "$B?list-type=2")"
  [ "$code" = 403 ] || { echo "  an anonymous request got $code"; return 1; }
}

put_get_round_trip() {
  head -c 1048576 /dev/urandom > "$WORK/blob"
  s3_put "$WORK/blob" "$B/backups/stack-a/one.tar.gz" > /dev/null || return 1
  s3 -f -o "$WORK/blob.back" "$B/backups/stack-a/one.tar.gz" || return 1
  cmp -s "$WORK/blob" "$WORK/blob.back" || { echo "  the object read back differs"; return 1; }
}

refuses_a_payload_that_does_not_match_its_signed_hash() {
  echo "tampered" > "$WORK/tampered"
  local code
  code="$(status -H "x-amz-content-sha256: $(printf 'original' | sha256sum | cut -c1-64)" \
    -T "$WORK/tampered" "$B/backups/tampered")"
  [ "$code" = 400 ] && grep -q XAmzContentSHA256Mismatch "$WORK/body" || { echo "  got $code: $(cat "$WORK/body")"; return 1; }
  [ "$(status -I "$B/backups/tampered")" = 404 ] || { echo "  the tampered object was stored"; return 1; }
}

lists_objects_by_prefix() {
  echo two > "$WORK/two"
  s3_put "$WORK/two" "$B/backups/stack-a/two.tar.gz" > /dev/null || return 1
  s3_put "$WORK/two" "$B/backups/stack-b/other.tar.gz" > /dev/null || return 1
  # The prefix arrives encoded: curl 7.88 signs the query as it is written.
  s3 -f "$B?list-type=2&prefix=backups%2Fstack-a%2F" > "$WORK/list.xml" || return 1
  local keys; keys="$(grep -o '<Key>[^<]*</Key>' "$WORK/list.xml" | sed 's/<[^>]*>//g' | sort | tr '\n' ' ')"
  [ "$keys" = "backups/stack-a/one.tar.gz backups/stack-a/two.tar.gz " ] || { echo "  listed: $keys"; return 1; }
}

multipart_upload_assembles_the_parts() {
  local key="backups/stack-a/big.tar.gz" id e1 e2
  head -c 5242880 /dev/urandom > "$WORK/part1"   # every part but the last: at least 5 MiB
  head -c 70000 /dev/urandom > "$WORK/part2"
  # "uploads=": curl 7.88 signs a bare "?uploads" differently from the server.
  id="$(s3 -f -X POST "$B/$key?uploads=" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')"
  [ -n "$id" ] || { echo "  no UploadId"; return 1; }
  e1="$(s3_put "$WORK/part1" "$B/$key?partNumber=1&uploadId=$id" | etag_of)"
  e2="$(s3_put "$WORK/part2" "$B/$key?partNumber=2&uploadId=$id" | etag_of)"
  [ -n "$e1" ] && [ -n "$e2" ] || { echo "  a part got no ETag"; return 1; }
  printf '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' \
    "$e1" "$e2" > "$WORK/complete.xml"
  s3 -f -X POST -H "x-amz-content-sha256: $(sha256 "$WORK/complete.xml")" --data-binary @"$WORK/complete.xml" \
    "$B/$key?uploadId=$id" > "$WORK/complete.out" || { cat "$WORK/complete.out"; return 1; }
  grep -q '<ETag>.*-2.*</ETag>' "$WORK/complete.out" || { echo "  not a two-part object: $(cat "$WORK/complete.out")"; return 1; }
  cat "$WORK/part1" "$WORK/part2" > "$WORK/whole"
  s3 -f -o "$WORK/whole.back" "$B/$key" || return 1
  cmp -s "$WORK/whole" "$WORK/whole.back" || { echo "  the assembled object differs from its parts"; return 1; }
}

aborted_multipart_upload_leaves_nothing() {
  local key="backups/stack-a/aborted.tar.gz" id code
  id="$(s3 -f -X POST "$B/$key?uploads=" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')"
  [ -n "$id" ] || return 1
  s3_put "$WORK/part2" "$B/$key?partNumber=1&uploadId=$id" > /dev/null || return 1
  code="$(status -X DELETE "$B/$key?uploadId=$id")"
  [ "$code" = 204 ] || { echo "  abort: $code"; return 1; }
  code="$(status "$B/$key?uploadId=$id")"
  [ "$code" = 404 ] && grep -q NoSuchUpload "$WORK/body" || { echo "  the aborted upload still lists parts: $code"; return 1; }
  [ "$(status -I "$B/$key")" = 404 ] || { echo "  the aborted object exists"; return 1; }
}

delete_removes_the_object() {
  local code
  code="$(status -X DELETE "$B/backups/stack-a/one.tar.gz")"
  [ "$code" = 204 ] || { echo "  DELETE: $code"; return 1; }
  code="$(status "$B/backups/stack-a/one.tar.gz")"
  [ "$code" = 404 ] && grep -q NoSuchKey "$WORK/body" || { echo "  GET after DELETE: $code"; return 1; }
}

tls_serves_with_the_printed_ca() {
  local out; out="$(OKAMI_S3_DIR="$TLS_DIR" "$HACK_DIR/s3.sh" start --tls 2>/dev/null)" || { echo "  start --tls failed"; return 1; }
  (
    eval "$out"
    [[ "$OKAMI_S3_ENDPOINT" == https://127.0.0.1:* ]] && [ -f "${OKAMI_S3_CA_FILE:-}" ] || { echo "  no https endpoint or CA file: $out"; exit 1; }
    echo tls > "$WORK/tls"
    curl -sS -f --cacert "$OKAMI_S3_CA_FILE" --aws-sigv4 "aws:amz:$OKAMI_S3_REGION:s3" \
      --user "$OKAMI_S3_ACCESS_KEY:$OKAMI_S3_SECRET_KEY" -H "x-amz-content-sha256: $(sha256 "$WORK/tls")" \
      -T "$WORK/tls" "$OKAMI_S3_ENDPOINT/$OKAMI_S3_BUCKET/tls" || exit 1
    [ "$(curl -sS -f --cacert "$OKAMI_S3_CA_FILE" --aws-sigv4 "aws:amz:$OKAMI_S3_REGION:s3" \
      --user "$OKAMI_S3_ACCESS_KEY:$OKAMI_S3_SECRET_KEY" "$OKAMI_S3_ENDPOINT/$OKAMI_S3_BUCKET/tls")" = tls ] || exit 1
    if curl -sS -o /dev/null "$OKAMI_S3_ENDPOINT/minio/health/ready" 2>/dev/null; then
      echo "  the certificate verified without the CA"; exit 1
    fi
  ) || return 1
  OKAMI_S3_DIR="$TLS_DIR" "$HACK_DIR/s3.sh" stop 2>/dev/null
}

stop_leaves_no_process() {
  local pid port; pid="$(cat "$OKAMI_S3_DIR/minio.pid")"; port="${OKAMI_S3_ENDPOINT##*:}"
  "$HACK_DIR/s3.sh" stop 2>/dev/null || return 1
  # Gone, or a zombie that init has not reaped yet.
  [ ! -d "/proc/$pid" ] || grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null || { echo "  pid $pid still runs"; return 1; }
  ! curl -s -o /dev/null --max-time 2 "$OKAMI_S3_ENDPOINT/minio/health/live" || { echo "  port $port still answers"; return 1; }
  [ ! -e "$OKAMI_S3_DIR" ] || { echo "  $OKAMI_S3_DIR is still there"; return 1; }
  "$HACK_DIR/s3.sh" stop 2>/dev/null || { echo "  a second stop failed"; return 1; }
  ! "$HACK_DIR/s3.sh" env >/dev/null 2>&1 || { echo "  env still prints a stopped server"; return 1; }
}

check EnvNamesEverySetting env_names_every_setting
check BucketExists bucket_exists
check StartIsIdempotent start_is_idempotent
check RefusesWrongCredentials refuses_wrong_credentials
check PutGetRoundTrip put_get_round_trip
check RefusesAPayloadThatDoesNotMatchItsSignedHash refuses_a_payload_that_does_not_match_its_signed_hash
check ListsObjectsByPrefix lists_objects_by_prefix
check MultipartUploadAssemblesTheParts multipart_upload_assembles_the_parts
check AbortedMultipartUploadLeavesNothing aborted_multipart_upload_leaves_nothing
check DeleteRemovesTheObject delete_removes_the_object
check TlsServesWithThePrintedCa tls_serves_with_the_printed_ca
check StopLeavesNoProcess stop_leaves_no_process
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
