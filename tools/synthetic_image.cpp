#include "tools/synthetic_image.hpp"

#include "actors/state_codec.hpp"
#include "crypto/hash.hpp"
#include "node/snapshot_file.hpp"

namespace energo::tools {

namespace {

ledger::account_address synthetic_address(uint32_t n) {
  std::string tag = "energo/synthetic/v1/";
  for (int k = 0; k < 4; ++k) tag.push_back(static_cast<char>(n >> (8 * k)));
  return crypto::hash160_of(crypto::as_bytes(tag));
}

}  // namespace

energo::result<synthetic_image, std::string> make_synthetic_image(const ledger::genesis& g,
                                                                  const crypto::secp256k1_secret_key& from,
                                                                  uint32_t accounts, uint64_t applied_index) {
  using fail_t = energo::unexpected<std::string>;
  if (accounts > limits::synthetic_accounts_max) {
    return fail_t{"at most " + std::to_string(limits::synthetic_accounts_max) + " synthetic accounts"};
  }
  if (applied_index == 0) return fail_t{"the applied index must be at least 1 (restore refuses 0)"};
  auto created = ledger::ledger::create(g);
  if (!created) return fail_t{"the genesis does not create a ledger: " + created.error().message};
  ledger::ledger l = std::move(*created);
  const auto pub = from.public_key();
  for (uint32_t n = 0; n < accounts; ++n) {
    ledger::transfer t{pub, uint64_t{n} + 1, synthetic_address(n), ledger::asset::tsl, 1};
    if (auto r = l.apply(ledger::command{t, {}}); !r) {
      return fail_t{"transfer " + std::to_string(n) + " refused: " + r.error().message};
    }
  }
  synthetic_image out;
  out.state_root = l.state_root();
  out.accounts = static_cast<uint32_t>(l.accounts().size());
  out.applied_index = applied_index;
  actors::node_image img;
  img.applied_index = applied_index;
  const auto ledger_bytes = l.snapshot();
  img.ledger_bytes.assign(ledger_bytes.begin(), ledger_bytes.end());
  out.file = actors::encode_image(img);
  out.image_bytes = out.file.size();
  if (out.image_bytes > actors::limits::image_bytes_max) return fail_t{"the image would exceed 256 MiB: fewer accounts"};
  out.file += node::snapshot_file_trailer(out.file);
  return out;
}

}  // namespace energo::tools
