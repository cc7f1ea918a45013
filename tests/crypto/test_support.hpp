#pragma once
// Helpers shared by the crypto tests: hex literals and the Qtum vector files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "crypto/bytes.hpp"

namespace energo::crypto::test {

// Hex literal to bytes; a malformed literal is a bug in the test itself.
inline std::vector<uint8_t> hex(std::string_view text) {
  auto bytes = from_hex(text);
  EXPECT_TRUE(bytes.has_value()) << "bad hex literal in test: " << text;
  return bytes.value_or(std::vector<uint8_t>{});
}

template <std::size_t N>
std::array<uint8_t, N> hex_array(std::string_view text) {
  auto bytes = array_from_hex<N>(text);
  EXPECT_TRUE(bytes.has_value()) << "bad hex literal (want " << N << " bytes) in test: " << text;
  return bytes.value_or(std::array<uint8_t, N>{});
}

// Tests run from the project root; the vectors live beside the project (see their README.md).
inline const std::filesystem::path qtum_vectors_dir{"../shared/vectors/qtum"};

// nullopt if the vector directory is absent (the caller skips); a present but unreadable or
// malformed file fails the test.
inline std::optional<nlohmann::json> load_qtum_vectors(const std::string& name) {
  if (!std::filesystem::is_directory(qtum_vectors_dir)) return std::nullopt;
  std::ifstream in(qtum_vectors_dir / name);
  EXPECT_TRUE(in.good()) << "cannot open " << (qtum_vectors_dir / name);
  return nlohmann::json::parse(in);
}

#define ENERGO_LOAD_QTUM_VECTORS(var, name)                                                        \
  auto var##_loaded = ::energo::crypto::test::load_qtum_vectors(name);                             \
  if (!var##_loaded) {                                                                             \
    GTEST_SKIP() << "Qtum test vectors are missing: expected " << name << " in "                  \
                 << std::filesystem::absolute(::energo::crypto::test::qtum_vectors_dir);           \
  }                                                                                                \
  const nlohmann::json& var = *var##_loaded

}  // namespace energo::crypto::test
