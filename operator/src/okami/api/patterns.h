// The text formats the OkamiStack/OkamiBackup schemas accept, written once. The CRD YAML repeats
// each pattern verbatim (a unit test compares them), so the operator's own validation and the
// apiserver's OpenAPI validation accept exactly the same strings.
#pragma once

#include <string>

namespace okami::v1alpha1::patterns {

// Semantic version without a leading "v": "0.5.23", "1.0.15", "1.1.0-rc.1". It is also the image
// tag and the app.kubernetes.io/version label value, so it has no "+build" metadata (a '+' is
// valid in neither) and ends with a letter or digit (a pre-release may not end in '-').
inline constexpr const char* kSemver =
    "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-([0-9A-Za-z-]+\\.)*[0-9A-Za-z-]*[0-9A-Za-z])?$";
// An image repository without tag or digest (the tag comes from the version field):
// "chromadb/chroma", "ghcr.io/chroma-core/chroma", "registry.local:5000/okami/app".
inline constexpr const char* kImageRepository =
    "^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)?"
    "/)?"
    "[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$";
// An image tag that is also a label value (the client's version is its app.kubernetes.io/version
// label): "2.3.1", "v2.3.1-okami"; starts and ends with a letter or digit, at most 63 characters.
inline constexpr const char* kImageTag = "^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,61}[a-zA-Z0-9])?$";
// A storage size: positive decimal with an optional binary or decimal suffix.
inline constexpr const char* kStorageSize =
    "^([0-9]+(\\.[0-9]+)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$";
// Any resource.Quantity (cpu "250m", memory "512Mi"): the apiserver's own grammar.
inline constexpr const char* kQuantity =
    "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.["
    "0-9]*)?)|"
    "(\\.[0-9]+))))?$";
// A Go duration with units h, m, s, ms, us/µs/μs, ns: "24h", "90m", "1h30m".
inline constexpr const char* kDuration =
    "^([0-9]+(\\.[0-9]+)?(ns|us|\xC2\xB5s|\xCE\xBCs|ms|s|m|h))+$";
// Ollama keep-alive: a Go duration (negative keeps models loaded forever) or whole seconds.
inline constexpr const char* kKeepAlive =
    "^-?(([0-9]+(\\.[0-9]+)?(ns|us|\xC2\xB5s|\xCE\xBCs|ms|s|m|h))+|[0-9]+)$";
// A PEP 440 version specifier set for a pinned Python package: "==0.5.23", ">=0.4.4,<0.5".
inline constexpr const char* kPep440Specifier =
    "^(===|==|!=|~=|>=|<=|>|<) *[0-9A-Za-z][0-9A-Za-z.*+!_-]*( *, *(===|==|!=|~=|>=|<=|>|<) "
    "*[0-9A-Za-z][0-9A-Za-z.*+!_-]*)*$";
// An Ollama model reference: "mxbai-embed-large", "llama3.2:3b", "registry.ollama.ai/library/x:y".
inline constexpr const char* kModelName = "^[a-zA-Z0-9][a-zA-Z0-9._:/-]*$";
// A cron schedule: five fields, or one of the @ macros.
inline constexpr const char* kCron =
    "^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[0-9*/,A-Za-z?-]+( "
    "+[0-9*/,A-Za-z?-]+){4})$";
// An IANA time zone name: letters, digits and _ + - in one to three /-separated parts
// ("UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5").
inline constexpr const char* kTimeZone = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$";
// A Kubernetes object name usable in child names: DNS-1035 label.
inline constexpr const char* kDns1035Label = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
// A DNS-1123 subdomain (StorageClass, OkamiBackup and Secret names).
inline constexpr const char* kDns1123Subdomain =
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
// An environment variable name as the apiserver accepts it.
inline constexpr const char* kEnvVarName = "^[-._a-zA-Z][-._a-zA-Z0-9]*$";
// A label value (nodeSelector and podLabels values): at most 63 characters.
inline constexpr const char* kLabelValue = "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";
// The name part of a label or annotation key ("prefix/" is a DNS-1123 subdomain).
inline constexpr const char* kQualifiedName = "^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$";
// An HTTP path for a probe: starts with "/", no whitespace.
inline constexpr const char* kHttpPath = "^/[^\\s]*$";

// An S3-compatible endpoint: http:// or https://, a host name, IPv4 or [IPv6] address, an optional
// port 1-65535 and an optional trailing '/'; no path, query or user info.
inline constexpr const char* kObjectStoreEndpoint =
    "^https?://([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]+\\])"
    "(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?/?$";
// An S3 bucket name: 3-63 of [a-z0-9.-], starting and ending with a letter or digit.
inline constexpr const char* kBucketName = "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$";
// One object key segment of [A-Za-z0-9._-] that is not "." or "..": a stored backup's name.
inline constexpr const char* kStoredBackupName =
    "^([A-Za-z0-9_-]|\\.[A-Za-z0-9_-]|\\.\\.[A-Za-z0-9._-])[A-Za-z0-9._-]*$";
// Such segments joined by '/': the folder backups live under ("okami/prod"); no leading,
// trailing or doubled '/'.
inline constexpr const char* kObjectStorePrefix =
    "^([A-Za-z0-9_-]|\\.[A-Za-z0-9_-]|\\.\\.[A-Za-z0-9._-])[A-Za-z0-9._-]*"
    "(/([A-Za-z0-9_-]|\\.[A-Za-z0-9_-]|\\.\\.[A-Za-z0-9._-])[A-Za-z0-9._-]*)*$";
// An S3 region as signed requests name it: "us-east-1", "eu-central-1", MinIO's default.
inline constexpr const char* kRegion = "^[a-z0-9-]{1,32}$";
// A key in a Secret's data.
inline constexpr const char* kSecretKey = "^[-._a-zA-Z0-9]+$";

// True when text matches pattern (ECMAScript regex; the patterns use only syntax shared with RE2).
bool matches(const char* pattern, const std::string& text);

}  // namespace okami::v1alpha1::patterns
