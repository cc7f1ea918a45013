#pragma once
// Helpers shared by the net tests: hex literals and the Noise vector file.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/bytes.hpp"

namespace energo::net::test {

inline std::vector<uint8_t> hex(std::string_view text) {
  auto bytes = crypto::from_hex(text);
  EXPECT_TRUE(bytes.has_value()) << "bad hex in test data: " << text;
  return bytes.value_or(std::vector<uint8_t>{});
}

template <std::size_t N>
std::array<uint8_t, N> hex_array(std::string_view text) {
  auto bytes = crypto::array_from_hex<N>(text);
  EXPECT_TRUE(bytes.has_value()) << "bad hex (want " << N << " bytes) in test data: " << text;
  return bytes.value_or(std::array<uint8_t, N>{});
}

// A fresh seed per run unless ENERGO_TEST_SEED fixes it; printed so a failure can be replayed.
inline uint64_t test_seed(const char* test_name) {
  const char* fixed = std::getenv("ENERGO_TEST_SEED");
  const uint64_t seed = fixed ? std::strtoull(fixed, nullptr, 10) : std::random_device{}();
  std::printf("%s: seed %llu (replay with ENERGO_TEST_SEED=%llu)\n", test_name,
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return seed;
}

// Tests run from the project root; the vectors live beside the project.
inline const std::filesystem::path noise_vectors_file{
    "../shared/vectors/noise/cacophony_25519_chachapoly_sha256.json"};

// nullopt when the file is absent (the caller skips); a present but malformed file fails.
inline std::optional<nlohmann::json> load_noise_vectors() {
  if (!std::filesystem::exists(noise_vectors_file)) return std::nullopt;
  std::ifstream in(noise_vectors_file);
  EXPECT_TRUE(in.good()) << "cannot open " << noise_vectors_file;
  return nlohmann::json::parse(in);
}

}  // namespace energo::net::test
