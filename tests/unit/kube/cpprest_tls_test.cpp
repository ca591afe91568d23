// The cpprest transport over TLS against a loopback server whose certificates are made here: the
// cluster CA is the only root trusted when one is configured (the machine's roots are not, as
// client-go does), and the pool of HTTP clients stays bounded however many watch timeouts occur.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include "kube/cpprest_transport.h"

namespace okami::kube {
namespace {

using boost::asio::ip::tcp;
namespace fs = std::filesystem;
namespace ssl = boost::asio::ssl;

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;

std::string pem_of(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string pem_of(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A P-256 certificate for `common_name`, signed by `issuer` (self-signed when null). A CA gets
// basicConstraints CA:TRUE; a leaf gets the loopback address as its subjectAltName.
std::pair<PkeyPtr, X509Ptr> make_cert(const std::string& common_name, const KeyAndCert* issuer,
                                      bool is_ca) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  PkeyPtr issuer_key;
  X509Ptr issuer_cert;
  if (issuer != nullptr) {
    BIO* kb = BIO_new_mem_buf(issuer->key_pem.data(), static_cast<int>(issuer->key_pem.size()));
    issuer_key.reset(PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr));
    BIO_free(kb);
    BIO* cb = BIO_new_mem_buf(issuer->cert_pem.data(), static_cast<int>(issuer->cert_pem.size()));
    issuer_cert.reset(PEM_read_bio_X509(cb, nullptr, nullptr, nullptr));
    BIO_free(cb);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert.get()));
  } else {
    X509_set_issuer_name(cert.get(), name);
  }
  X509* signer = issuer_cert ? issuer_cert.get() : cert.get();
  if (is_ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1");
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
  }
  X509_sign(cert.get(), issuer_key ? issuer_key.get() : key.get(), EVP_sha256());
  return {std::move(key), std::move(cert)};
}

KeyAndCert make_ca(const std::string& name) {
  auto [key, cert] = make_cert(name, nullptr, true);
  return {pem_of(key.get()), pem_of(cert.get())};
}

KeyAndCert make_server_cert(const KeyAndCert& ca) {
  auto [key, cert] = make_cert("127.0.0.1", &ca, false);
  return {pem_of(key.get()), pem_of(cert.get())};
}

// Serves every connection over TLS with the given certificate and answers each request with
// 200 "ok"; a client that refuses the certificate just ends the handshake.
class TlsPeer {
 public:
  explicit TlsPeer(const KeyAndCert& identity)
      : tls_(ssl::context::tls_server),
        acceptor_(io_, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0)) {
    tls_.use_certificate_chain(boost::asio::buffer(identity.cert_pem));
    tls_.use_private_key(boost::asio::buffer(identity.key_pem), ssl::context::pem);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsPeer() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string server() const {
    return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

 private:
  void serve() {
    while (!stopping_) {
      ssl::stream<tcp::socket> stream(io_, tls_);
      boost::system::error_code ec;
      acceptor_.accept(stream.lowest_layer(), ec);
      if (ec || stopping_) return;
      stream.handshake(ssl::stream_base::server, ec);
      if (ec) continue;
      boost::asio::streambuf buf;
      boost::asio::read_until(stream, buf, "\r\n\r\n", ec);
      if (ec) continue;
      const std::string reply =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
          "Connection: close\r\n\r\nok";
      boost::asio::write(stream, boost::asio::buffer(reply), ec);
      stream.shutdown(ec);
    }
  }

  boost::asio::io_context io_;
  ssl::context tls_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

// Points OpenSSL's default verify paths (which cpprest loads into every TLS context) at a bundle
// holding only `ca`, for the lifetime of the object: the machine's own roots, made controllable.
class MachineRoots {
 public:
  explicit MachineRoots(const KeyAndCert& ca) {
    dir_ = fs::temp_directory_path() / ("okami-roots-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "certs");
    std::ofstream(dir_ / "bundle.pem") << ca.cert_pem;
    ::setenv("SSL_CERT_FILE", (dir_ / "bundle.pem").c_str(), 1);
    ::setenv("SSL_CERT_DIR", (dir_ / "certs").c_str(), 1);
  }
  ~MachineRoots() {
    ::unsetenv("SSL_CERT_FILE");
    ::unsetenv("SSL_CERT_DIR");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

 private:
  fs::path dir_;
};

common::Result<HttpResponse> get_over(const std::string& server, const std::string& ca_pem) {
  ClusterConfig cfg;
  cfg.server = server;
  cfg.ca_pem = ca_pem;
  auto t = make_cpprest_transport(cfg);
  if (!t) return common::fail(t.error());
  HttpRequest r;
  r.path = "/version";
  r.timeout = std::chrono::seconds(5);
  return (*t)->send(r);
}

TEST(CpprestTls, TheClusterCaVerifiesTheServer) {
  const KeyAndCert cluster_ca = make_ca("cluster-ca");
  TlsPeer peer(make_server_cert(cluster_ca));
  auto response = get_over(peer.server(), cluster_ca.cert_pem);
  ASSERT_TRUE(response) << response.error().describe();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok");
}

// Finding #19: a server whose certificate chains to a root the machine trusts, but not to the
// configured cluster CA, is refused (an apiserver impersonated with any public CA's certificate).
TEST(CpprestTls, WithAClusterCaTheMachinesRootsAreNotTrusted) {
  const KeyAndCert cluster_ca = make_ca("cluster-ca");
  const KeyAndCert machine_root = make_ca("machine-root");
  TlsPeer impostor(make_server_cert(machine_root));
  MachineRoots roots(machine_root);

  // The control: the machine root does sign a chain this client accepts when it is the CA.
  auto trusted = get_over(impostor.server(), machine_root.cert_pem);
  ASSERT_TRUE(trusted) << trusted.error().describe();
  EXPECT_EQ(trusted->status, 200);

  auto refused = get_over(impostor.server(), cluster_ca.cert_pem);
  ASSERT_FALSE(refused) << "a certificate signed only by a machine root was accepted";
  EXPECT_EQ(refused.error().code, common::ErrorCode::kUnavailable) << refused.error().describe();
}

// A kubeconfig without certificate-authority data falls back to the machine's roots, as
// client-go does.
TEST(CpprestTls, WithoutAClusterCaTheMachinesRootsAreUsed) {
  const KeyAndCert machine_root = make_ca("machine-root");
  TlsPeer peer(make_server_cert(machine_root));
  MachineRoots roots(machine_root);
  auto response = get_over(peer.server(), "");
  ASSERT_TRUE(response) << response.error().describe();
  EXPECT_EQ(response->status, 200);
}

// Finding #18: cpprest's timeout belongs to a client and its connection pool, so each distinct
// timeout costs one client. Watch timeouts are random (300-600 s plus a margin): pooled, they
// fall into a handful of clients, never below what was asked.
TEST(CpprestTls, RandomWatchTimeoutsShareAHandfulOfPooledClients) {
  std::set<std::chrono::milliseconds::rep> pools;
  for (int seconds = 300; seconds <= 600; ++seconds) {
    const std::chrono::milliseconds asked = std::chrono::seconds(seconds + 30);
    const std::chrono::milliseconds pooled = pooled_timeout(asked);
    EXPECT_GE(pooled, asked);
    EXPECT_LE(pooled - asked, std::chrono::minutes(5));
    pools.insert(pooled.count());
  }
  EXPECT_LE(pools.size(), 3u);
  // Ordinary request timeouts are exact: a short deadline must not grow into minutes.
  EXPECT_EQ(pooled_timeout(std::chrono::milliseconds(300)), std::chrono::milliseconds(300));
  EXPECT_EQ(pooled_timeout(std::chrono::seconds(30)), std::chrono::seconds(30));
}

}  // namespace
}  // namespace okami::kube
