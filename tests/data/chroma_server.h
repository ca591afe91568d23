// Test support for the data tests: real ChromaDB servers from the venvs of hack/chroma-env.sh,
// started on a free local port in their own process group and always stopped (bounded waits),
// plus the fixture script (hack/chroma_fixture.py) run with the matching venv's python.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace okami::datatest {

namespace fs = std::filesystem;

// The checkout's root, given by the build (tests/CMakeLists.txt), so it holds whatever path the
// compiler saw the sources under.
inline fs::path repo_root() { return fs::path(OKAMI_SOURCE_DIR); }

inline std::map<std::string, std::string> versions_env() {
  std::map<std::string, std::string> out;
  std::ifstream in(repo_root() / "hack" / "versions.env");
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

inline fs::path venv_dir(const std::string& version) {
  const char* cache = std::getenv("OKAMI_CACHE");
  const char* home = std::getenv("HOME");
  fs::path root = cache ? fs::path(cache) : fs::path(home ? home : "/root") / ".cache" / "okami";
  return root / "venv" / ("chromadb-" + version);
}

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// One HTTP GET over a raw socket; returns the status code, or 0 when nothing answered.
inline int http_status(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int status = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[64] = {};
      ssize_t n = ::read(fd, buf, sizeof buf - 1);
      if (n > 12) status = std::atoi(buf + 9);
    }
  }
  ::close(fd);
  return status;
}

// A `chroma run` process. The destructor stops it: SIGTERM to its process group, SIGKILL after 20 s.
class ChromaServer {
 public:
  ChromaServer(const std::string& version, const fs::path& data, const fs::path& log)
      : version_(version), port_(free_port()) {
    const std::string chroma = (venv_dir(version) / "bin" / "chroma").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::setenv("ANONYMIZED_TELEMETRY", "False", 1);
      const std::string port = std::to_string(port_);
      ::execl(chroma.c_str(), chroma.c_str(), "run", "--path", data.c_str(), "--host", "127.0.0.1", "--port",
              port.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
  }
  ~ChromaServer() { stop(); }
  ChromaServer(const ChromaServer&) = delete;
  ChromaServer& operator=(const ChromaServer&) = delete;

  // Waits (bounded) until /api/v2/heartbeat answers 200. False if the process died or time ran out.
  bool wait_ready(std::chrono::seconds limit = std::chrono::seconds(180)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (http_status(port_, "/api/v2/heartbeat") == 200) return true;
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int st = 0;
    while (::waitpid(pid_, &st, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(-pid_, SIGKILL);  // any child left in the group
    pid_ = -1;
  }

  int port() const { return port_; }
  const std::string& version() const { return version_; }

 private:
  std::string version_;
  int port_;
  pid_t pid_ = -1;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
};

// Runs the fixture script with the python of `version`'s venv; stdout captured, stderr to log.
inline CommandResult run_fixture(const std::string& version, int port, const std::string& args) {
  const std::string cmd = (venv_dir(version) / "bin" / "python").string() + " " +
                          (repo_root() / "hack" / "chroma_fixture.py").string() + " --port " + std::to_string(port) +
                          " " + args + " 2>>" + (fs::temp_directory_path() / "okami-data-fixture.log").string();
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace okami::datatest
