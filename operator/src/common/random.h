// Injected randomness (jitter, identities). Tests use a seeded or scripted source.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>

namespace okami::common {

class Random {
 public:
  virtual ~Random() = default;
  // Uniform in [0, 1).
  virtual double uniform() = 0;
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed = std::random_device{}()) : engine_(seed) {}
  double uniform() override {
    std::lock_guard lock(mu_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
  }

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;
};

}  // namespace okami::common
