#pragma once
// Shared by the tools tests: fixed keys, a genesis, one sample command of every type, file helpers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/hash.hpp"
#include "ledger/ledger.hpp"
#include "tools/command_json.hpp"

namespace energo::tools::test {

inline const std::filesystem::path source_dir{ENERGO_SOURCE_DIR};
inline const std::filesystem::path example_dir = source_dir / "examples" / "community";

inline std::array<uint8_t, 32> seed(std::string_view name) { return crypto::sha256(crypto::as_bytes(name)); }
inline crypto::ed25519_keypair ed_key(std::string_view name) { return crypto::ed25519_keypair::from_seed(seed(name)); }
inline crypto::secp256k1_secret_key secp_key(std::string_view name) { return *crypto::secp256k1_secret_key::from_bytes(seed(name)); }
inline ledger::account_address address_of(const crypto::secp256k1_secret_key& key) { return crypto::hash160_of(key.public_key().bytes); }
inline std::string qtum_address(const crypto::secp256k1_secret_key& key, crypto::network net) {
  return crypto::address::from_public_key(key.public_key(), net).to_string();
}

inline ledger::genesis sample_genesis(crypto::network net = crypto::network::regtest) {
  ledger::genesis g;
  g.community_id = "test-community";
  g.network = net;
  g.genesis_time_ms = 1'000'000;
  g.params = {1000, 30'000, 20'000, 5 * ledger::tsl_units_per_tsl};
  g.admins = {ed_key("admin").public_key()};
  g.allocations = {{ledger::education_pool_address(), ledger::tsl_supply_units / 10},
                   {address_of(secp_key("alice")), ledger::tsl_supply_units / 2},
                   {address_of(secp_key("bob")), ledger::tsl_supply_units - ledger::tsl_supply_units / 10 - ledger::tsl_supply_units / 2}};
  return g;
}

// One unsigned body of every command type, with fields away from zero so that a swapped or dropped
// field shows up in a round trip.
inline std::vector<ledger::command_body> sample_bodies() {
  using namespace ledger;
  const auto admin = ed_key("admin").public_key();
  return {
      tick{1'234'567},
      register_meter{{admin, 7}, ed_key("meter").public_key(), address_of(secp_key("alice")), 11, 12},
      register_storage_unit{{admin, 8}, ed_key("unit").public_key(), network_pool_address(), 50'000},
      set_params{{admin, 9}, {100, 75'000, 20'000, 42}},
      education_grant{{admin, 10}, address_of(secp_key("carol"))},
      meter_reading{ed_key("meter").public_key(), 3, 1'500'000, 9'000'000'000'000'000'000LL, 77},
      storage_report{ed_key("unit").public_key(), 4, 5, 600},
      transfer{secp_key("alice").public_key(), UINT64_MAX, education_pool_address(), asset::watt, INT64_MAX},
      place_order{secp_key("alice").public_key(), 21, market::side::sell, market::order_kind::immediate_or_cancel, 250, 1200},
      cancel_order{secp_key("alice").public_key(), 22, 99},
      replace_order{secp_key("alice").public_key(), 23, 98, 260, 1300},
      set_agent{secp_key("alice").public_key(), 24, true, 100, 500, 300, 4000},
      register_station{{admin, 11}, ed_key("station").public_key(), address_of(secp_key("bob")), 5'000'000},
      ev_open_session{secp_key("alice").public_key(), 25, ed_key("station").public_key(), 900'000'000, 400},
      ev_delivery{ed_key("station").public_key(), 6, 7, 8'000, true},
      ev_close_session{secp_key("alice").public_key(), 26, 7},
  };
}

// Signs with the key the command type requires (tick stays unsigned).
inline ledger::command sign_sample(const ledger::command_body& body, const crypto::hash256& genesis_hash) {
  using namespace ledger;
  if (std::holds_alternative<tick>(body)) return command{body, {}};
  const auto signer = signer_for_type(command_name(body));
  if (signer && signer->kind == signer_kind::secp256k1) return sign_secp256k1(body, secp_key("alice"), genesis_hash);
  if (std::holds_alternative<meter_reading>(body)) return sign_ed25519(body, ed_key("meter"), genesis_hash);
  if (std::holds_alternative<storage_report>(body)) return sign_ed25519(body, ed_key("unit"), genesis_hash);
  if (std::holds_alternative<ev_delivery>(body)) return sign_ed25519(body, ed_key("station"), genesis_hash);
  return sign_ed25519(body, ed_key("admin"), genesis_hash);
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Commands in the committed example (its non-blank lines).
inline int64_t example_command_count() {
  const auto text = read_file(example_dir / "commands.jsonl");
  return std::count(text.begin(), text.end(), '\n');
}

// A fresh directory under the system temp dir, removed when the test ends.
class temp_dir {
 public:
  explicit temp_dir(std::string_view tag) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("energo-tools-" + std::string(tag) + "-" + (info ? std::string(info->name()) : "x") + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace energo::tools::test
