#pragma once
// Helpers for the Qtum tests: hex literals and the Qtum Core vector files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "crypto/bytes.hpp"

namespace energo::qtum::test {

inline std::vector<uint8_t> hex(std::string_view text) {
  auto bytes = crypto::from_hex(text);
  EXPECT_TRUE(bytes.has_value()) << "bad hex literal in test: " << text;
  return bytes.value_or(std::vector<uint8_t>{});
}

// Tests run from the project root; the vectors live beside the project (../shared/vectors/qtum,
// see their README.md). ENERGO_QTUM_VECTORS overrides the directory (e.g. from a git worktree).
inline std::filesystem::path qtum_vectors_dir() {
  if (const char* env = std::getenv("ENERGO_QTUM_VECTORS"); env != nullptr && *env != '\0') return env;
  return "../shared/vectors/qtum";
}

inline std::optional<nlohmann::json> load_qtum_vectors(const std::string& name) {
  const auto dir = qtum_vectors_dir();
  if (!std::filesystem::is_regular_file(dir / name)) return std::nullopt;
  std::ifstream in(dir / name);
  EXPECT_TRUE(in.good()) << "cannot open " << (dir / name);
  return nlohmann::json::parse(in);
}

#define ENERGO_LOAD_QTUM_TX_VECTORS(var, name)                                                     \
  auto var##_loaded = ::energo::qtum::test::load_qtum_vectors(name);                               \
  if (!var##_loaded) {                                                                             \
    GTEST_SKIP() << "Qtum test vectors are missing: expected " << name << " in "                  \
                 << std::filesystem::absolute(::energo::qtum::test::qtum_vectors_dir())           \
                 << " (set ENERGO_QTUM_VECTORS to override)";                                     \
  }                                                                                                \
  const nlohmann::json& var = *var##_loaded

}  // namespace energo::qtum::test
