#include "okami/backup/store/s3_xml.h"

#include <charconv>

namespace okami::backup {
namespace {

using common::ErrorCode;

constexpr int kMaxDepth = 32;

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':' || static_cast<unsigned char>(c) >= 0x80;
}

bool space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

class Parser {
 public:
  explicit Parser(std::string_view doc) : s_(doc) {}

  common::Result<XmlNode> document() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    if (auto st = misc(); !st) return tl::unexpected(st.error());
    if (pos_ >= s_.size() || s_[pos_] != '<') return error("no root element");
    XmlNode root;
    if (auto st = element(root, 0); !st) return tl::unexpected(st.error());
    if (auto st = misc(); !st) return tl::unexpected(st.error());
    if (pos_ != s_.size()) return error("content after the root element");
    return root;
  }

 private:
  tl::unexpected<common::Error> error(const std::string& what) const {
    return common::fail(ErrorCode::kParse, "XML: " + what + " at byte " + std::to_string(pos_));
  }

  bool starts(std::string_view token) const { return s_.substr(pos_, token.size()) == token; }

  common::Status skip_past(std::string_view terminator) {
    size_t at = s_.find(terminator, pos_);
    if (at == std::string_view::npos) return error("unterminated construct");
    pos_ = at + terminator.size();
    return common::ok();
  }

  // Whitespace, comments and processing instructions around the root element.
  common::Status misc() {
    for (;;) {
      while (pos_ < s_.size() && space(s_[pos_])) ++pos_;
      if (starts("<?")) {
        if (auto st = skip_past("?>"); !st) return st;
      } else if (starts("<!--")) {
        if (auto st = skip_past("-->"); !st) return st;
      } else if (starts("<!")) {
        return error("DOCTYPE and other declarations are not accepted");
      } else {
        return common::ok();
      }
    }
  }

  common::Result<std::string> name() {
    size_t start = pos_;
    while (pos_ < s_.size() && name_char(s_[pos_])) ++pos_;
    if (pos_ == start) return error("expected a name");
    return std::string(s_.substr(start, pos_ - start));
  }

  common::Status reference(std::string& out) {
    size_t end = s_.find(';', pos_);
    if (end == std::string_view::npos || end - pos_ > 12) return error("bad character reference");
    std::string_view ref = s_.substr(pos_ + 1, end - pos_ - 1);
    if (ref == "amp")
      out += '&';
    else if (ref == "lt")
      out += '<';
    else if (ref == "gt")
      out += '>';
    else if (ref == "quot")
      out += '"';
    else if (ref == "apos")
      out += '\'';
    else if (ref.size() > 1 && ref[0] == '#') {
      bool hex = ref[1] == 'x';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      auto [p, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() || cp == 0 ||
          cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return error("bad numeric character reference");
      }
      append_utf8(out, cp);
    } else {
      return error("unknown entity &" + std::string(ref) + ";");
    }
    pos_ = end + 1;
    return common::ok();
  }

  common::Status attributes() {
    for (;;) {
      while (pos_ < s_.size() && space(s_[pos_])) ++pos_;
      if (pos_ >= s_.size()) return error("unterminated start tag");
      if (s_[pos_] == '>' || s_[pos_] == '/') return common::ok();
      if (auto n = name(); !n) return tl::unexpected(n.error());
      while (pos_ < s_.size() && space(s_[pos_])) ++pos_;
      if (pos_ >= s_.size() || s_[pos_] != '=') return error("expected '=' in an attribute");
      ++pos_;
      while (pos_ < s_.size() && space(s_[pos_])) ++pos_;
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\''))
        return error("unquoted value");
      size_t close = s_.find(s_[pos_], pos_ + 1);
      if (close == std::string_view::npos) return error("unterminated attribute value");
      pos_ = close + 1;
    }
  }

  common::Status element(XmlNode& node, int depth) {
    if (depth > kMaxDepth) return error("elements nested too deep");
    ++pos_;  // '<'
    auto qname = name();
    if (!qname) return tl::unexpected(qname.error());
    size_t colon = qname->rfind(':');
    node.name = colon == std::string::npos ? *qname : qname->substr(colon + 1);
    if (auto st = attributes(); !st) return st;
    if (s_[pos_] == '/') {
      if (!starts("/>")) return error("expected '/>'");
      pos_ += 2;
      return common::ok();
    }
    ++pos_;  // '>'
    for (;;) {
      if (pos_ >= s_.size()) return error("unclosed element <" + *qname + ">");
      char c = s_[pos_];
      if (c == '&') {
        if (auto st = reference(node.text); !st) return st;
      } else if (starts("<![CDATA[")) {
        size_t end = s_.find("]]>", pos_);
        if (end == std::string_view::npos) return error("unterminated CDATA");
        node.text += s_.substr(pos_ + 9, end - pos_ - 9);
        pos_ = end + 3;
      } else if (starts("<!--")) {
        if (auto st = skip_past("-->"); !st) return st;
      } else if (starts("<?")) {
        if (auto st = skip_past("?>"); !st) return st;
      } else if (starts("</")) {
        pos_ += 2;
        auto close = name();
        if (!close) return tl::unexpected(close.error());
        if (*close != *qname) return error("</" + *close + "> closes <" + *qname + ">");
        while (pos_ < s_.size() && space(s_[pos_])) ++pos_;
        if (pos_ >= s_.size() || s_[pos_] != '>') return error("unterminated end tag");
        ++pos_;
        return common::ok();
      } else if (c == '<') {
        node.children.emplace_back();
        if (auto st = element(node.children.back(), depth + 1); !st) return st;
      } else {
        size_t end = s_.find_first_of("<&", pos_);
        if (end == std::string_view::npos) end = s_.size();
        node.text += s_.substr(pos_, end - pos_);
        pos_ = end;
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

tl::unexpected<common::Error> not_a(std::string_view what) {
  return common::fail(ErrorCode::kParse, "S3 response is not a " + std::string(what));
}

}  // namespace

const XmlNode* XmlNode::child(std::string_view n) const {
  for (const auto& c : children) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

std::string XmlNode::child_text(std::string_view n) const {
  const XmlNode* c = child(n);
  return c == nullptr ? std::string() : c->text;
}

common::Result<XmlNode> parse_xml(std::string_view document) {
  return Parser(document).document();
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string unquote_etag(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

common::Result<ListPage> parse_list_page(std::string_view body) {
  auto doc = parse_xml(body);
  if (!doc) return tl::unexpected(doc.error());
  if (doc->name != "ListBucketResult") return not_a("ListBucketResult");
  bool url_encoded = doc->child_text("EncodingType") == "url";
  ListPage page;
  for (const auto& c : doc->children) {
    if (c.name != "Contents") continue;
    ObjectInfo info;
    std::string key = c.child_text("Key");
    if (url_encoded) {
      auto decoded = url_decode(key);
      if (!decoded) return tl::unexpected(decoded.error());
      key = std::move(*decoded);
    }
    if (key.empty()) return not_a("listing: an entry without a Key");
    info.key = std::move(key);
    std::string size = c.child_text("Size");
    auto [p, ec] = std::from_chars(size.data(), size.data() + size.size(), info.size);
    if (size.empty() || ec != std::errc() || p != size.data() + size.size()) {
      return common::fail(ErrorCode::kParse,
                          "S3 listing: bad Size \"" + size + "\" of " + info.key);
    }
    info.etag = unquote_etag(c.child_text("ETag"));
    page.objects.push_back(std::move(info));
  }
  page.truncated = doc->child_text("IsTruncated") == "true";
  page.next_token = doc->child_text("NextContinuationToken");
  if (page.truncated && page.next_token.empty()) {
    return common::fail(ErrorCode::kParse, "S3 listing is truncated but has no continuation token");
  }
  return page;
}

S3ErrorBody parse_error_body(std::string_view body) {
  auto doc = parse_xml(body);
  if (!doc || doc->name != "Error") return {};
  return {doc->child_text("Code"), doc->child_text("Message")};
}

common::Result<std::string> parse_upload_id(std::string_view body) {
  auto doc = parse_xml(body);
  if (!doc) return tl::unexpected(doc.error());
  std::string id = doc->name == "InitiateMultipartUploadResult" ? doc->child_text("UploadId") : "";
  if (id.empty()) return not_a("InitiateMultipartUploadResult with an UploadId");
  return id;
}

common::Result<std::string> parse_complete_result(std::string_view body) {
  auto doc = parse_xml(body);
  if (!doc) return tl::unexpected(doc.error());
  if (doc->name == "Error") {
    std::string code = doc->child_text("Code");
    bool transient = code == "InternalError" || code == "SlowDown" || code == "ServiceUnavailable";
    return common::fail(
        transient ? ErrorCode::kUnavailable : ErrorCode::kBadRequest,
        "completing the upload failed: " + code + ": " + doc->child_text("Message"));
  }
  if (doc->name != "CompleteMultipartUploadResult") {
    return not_a("CompleteMultipartUploadResult");
  }
  return unquote_etag(doc->child_text("ETag"));
}

}  // namespace okami::backup
