#include "okami/backup/store/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <optional>

#include "okami/backup/store/s3_protocol.h"

namespace okami::backup {
namespace {

using common::ErrorCode;

// Bodies kept in memory: a list page or a small object (put/get of manifests go through sinks
// when large); error bodies are only read for their code and message.
constexpr size_t kMaxBodyBytes = 16 * kMiB;
constexpr size_t kMaxErrorBodyBytes = 64 * 1024;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* easy = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse response;
  size_t read_offset = 0;
  std::optional<common::Error> sink_error;
  bool body_too_large = false;
  long unexpected_status = 0;
  bool headers_reported = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (after 100 Continue)
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    t->response.headers[name] = std::string(value);
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  bool success = status >= 200 && status < 300;
  if (success && t->request->sink) {
    if (t->request->stream_status != 0 && status != t->request->stream_status) {
      t->unexpected_status = status;
      return 0;
    }
    if (!t->headers_reported) {
      t->headers_reported = true;
      t->response.status = status;
      if (t->request->on_headers) t->request->on_headers(t->response);
    }
    if (auto st = t->request->sink(data, n); !st) {
      t->sink_error = st.error();
      return 0;  // stops the transfer with CURLE_WRITE_ERROR
    }
    t->response.streamed += n;
    return n;
  }
  size_t cap = success ? kMaxBodyBytes : kMaxErrorBodyBytes;
  if (t->response.body.size() + n > cap) {
    if (success) {
      t->body_too_large = true;
      return 0;
    }
    n = cap - std::min(cap, t->response.body.size());  // keep the head of an error body
    t->response.body.append(data, n);
    return size * count;
  }
  t->response.body.append(data, n);
  return n;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view body = t->request->body;
  size_t n = std::min(size * count, body.size() - t->read_offset);
  std::copy_n(body.data() + t->read_offset, n, buffer);
  t->read_offset += n;
  return n;
}

int on_seek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > t->request->body.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  t->read_offset = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

common::Error transport_error(CURLcode code, const HttpRequest& request, const char* detail,
                              const std::string& ca_file) {
  std::string what = request.method + " " + request.url + ": ";
  std::string reason = detail[0] != '\0' ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
      return common::make_error(
          ErrorCode::kInvalidArgument,
          what + "the server's TLS certificate is not trusted (" + reason + "); " +
              (ca_file.empty() ? "give the CA bundle that signed it"
                               : "the CA bundle " + ca_file + " did not verify it"));
    case CURLE_SSL_CACERT_BADFILE:
      return common::make_error(ErrorCode::kInvalidArgument,
                                what + "cannot use the CA bundle " + ca_file + ": " + reason);
    case CURLE_OPERATION_TIMEDOUT:
      return common::make_error(ErrorCode::kTimeout, what + reason);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return common::make_error(ErrorCode::kInvalidArgument, what + reason);
    default:
      return common::make_error(ErrorCode::kUnavailable, what + reason);
  }
}

}  // namespace

struct CurlTransport::State {
  CURL* easy = nullptr;
  ObjectStoreConfig config;
  std::string sigv4;
  ~State() {
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

CurlTransport::CurlTransport(std::unique_ptr<State> state) : state_(std::move(state)) {}
CurlTransport::~CurlTransport() = default;

common::Result<std::unique_ptr<CurlTransport>> CurlTransport::create(
    const ObjectStoreConfig& config) {
  if (auto st = validate_config(config); !st) return tl::unexpected(st.error());
  if (!config.ca_file.empty() && !std::ifstream(config.ca_file).good()) {
    return common::fail(ErrorCode::kInvalidArgument,
                        "object store: cannot read the CA bundle " + config.ca_file);
  }
  global_init();
  auto state = std::make_unique<State>();
  state->easy = curl_easy_init();
  if (state->easy == nullptr) return common::fail(ErrorCode::kInternal, "libcurl did not start");
  state->config = config;
  if (!state->config.endpoint.empty() && state->config.endpoint.back() == '/') {
    state->config.endpoint.pop_back();
  }
  state->sigv4 = "aws:amz:" + config.region + ":s3";
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(state)));
}

common::Result<HttpResponse> CurlTransport::perform(const HttpRequest& request) {
  CURL* easy = state_->easy;
  const ObjectStoreConfig& c = state_->config;
  curl_easy_reset(easy);  // options only: the connection cache stays
  Transfer t;
  t.easy = easy;
  t.request = &request;
  char detail[CURL_ERROR_SIZE] = {0};

  struct curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);  // the path is signed as written
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, state_->sigv4.c_str());
  curl_easy_setopt(easy, CURLOPT_USERNAME, c.access_key.c_str());
  curl_easy_setopt(easy, CURLOPT_PASSWORD, c.secret_key.c_str());
  if (!c.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, c.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(c.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, static_cast<long>(c.stall_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);

  if (request.method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request.method == "DELETE") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else if (request.method == "PUT") {
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, &t);
    curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(easy, CURLOPT_SEEKDATA, &t);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_slist_free_all(headers);
    return common::fail(ErrorCode::kInternal, "unsupported HTTP method " + request.method);
  }

  CURLcode code = curl_easy_perform(easy);
  curl_slist_free_all(headers);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
  if (t.sink_error) return tl::unexpected(*t.sink_error);
  if (t.unexpected_status != 0) {
    return common::fail(ErrorCode::kUnavailable,
                        request.method + " " + request.url + ": HTTP " +
                            std::to_string(t.unexpected_status) + " where " +
                            std::to_string(request.stream_status) + " was expected");
  }
  if (t.body_too_large) {
    return common::fail(ErrorCode::kUnavailable, request.method + " " + request.url +
                                                     ": the response body exceeds " +
                                                     std::to_string(kMaxBodyBytes) + " bytes");
  }
  if (code != CURLE_OK) {
    common::Error e = transport_error(code, request, detail, c.ca_file);
    e.message = redact(std::move(e.message), c.secret_key);
    return tl::unexpected(std::move(e));
  }
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t.response.status);
  return std::move(t.response);
}

}  // namespace okami::backup
