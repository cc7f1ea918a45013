#pragma once
// A synthetic node image of a chosen size for the snapshot-transfer bench and test
// (bench/snapshot_transfer.sh, tests/node/membership_test.cpp): the genesis's ledger, then one
// transfer of 1 TSL unit from a funded account to each of N new accounts, applied through the real
// ledger API (ledger::apply: nonces and entitlement checked, signatures not — they would only cost
// time), wrapped as a node image (actors/state_codec.hpp) and as a snapshot file with its checksum
// trailer (node/snapshot_file.hpp), which `energo-node restore` seeds voters from.
// ~127 bytes of image per account (the ledger's account record), so 100 MB ≈ 790,000 accounts.
#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "crypto/secp256k1.hpp"
#include "ledger/ledger.hpp"

namespace energo::tools {

namespace limits {
// Below ledger::limits::accounts_max, and an image of 256 MiB (actors::limits::image_bytes_max)
// at ~127 bytes per account is ~2.1 million: the image would be refused before this binds.
inline constexpr uint32_t synthetic_accounts_max = 2'000'000;
}  // namespace limits

struct synthetic_image {
  std::string file;          // image + "ENSHA256" trailer: an `energoctl snapshot save` file
  std::size_t image_bytes = 0;
  uint64_t applied_index = 0;
  crypto::hash256 state_root{};
  uint32_t accounts = 0;     // accounts in the ledger (genesis ones included)
};

// `from` must hold at least `accounts` TSL units in `g` and sign nothing yet (nonce 0 in g: any
// genesis account). The recipients' addresses are HASH160("energo/synthetic/v1/" || u32 LE n): no
// key can spend them, so the image's state can only be read, which is all a transfer bench needs.
[[nodiscard]] energo::result<synthetic_image, std::string> make_synthetic_image(const ledger::genesis& g,
                                                                                const crypto::secp256k1_secret_key& from,
                                                                                uint32_t accounts, uint64_t applied_index);

}  // namespace energo::tools
