#pragma once
// Bitcoin/Qtum transaction model and wire encoding. Qtum's transaction serialization is Bitcoin's
// (version, inputs, outputs, lock time; BIP 144 witness form recognised on decode). Decoding is
// total: any byte string yields a transaction or an error, every count and length is checked
// against the bytes that remain before anything is allocated.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "crypto/bytes.hpp"
#include "net/qtum/error.hpp"

namespace energo::qtum {

namespace limits {
// Largest transaction we decode or encode. Qtum's standard-transaction limit is 100 kB of
// weight/4 and its block limit 2 MB; a full block's worth covers anything a node can return.
inline constexpr std::size_t tx_bytes_max = 2'000'000;
// Bitcoin's MAX_SIZE for CompactSize values; larger lengths are malformed.
inline constexpr uint64_t compact_size_max = 0x02000000;
}  // namespace limits

using bytes = std::vector<uint8_t>;

// A transaction id in internal byte order (as hashed); the RPC shows it reversed.
using txid_t = crypto::hash256;

struct outpoint {
  txid_t txid{};
  uint32_t index = 0;
  auto operator<=>(const outpoint&) const = default;
};

struct tx_input {
  outpoint prevout;
  bytes script_sig;
  uint32_t sequence = 0xffffffff;
  std::vector<bytes> witness;  // empty for legacy inputs
  bool operator==(const tx_input&) const = default;
};

struct tx_output {
  int64_t value_sat = 0;
  bytes script_pubkey;
  bool operator==(const tx_output&) const = default;
};

struct transaction {
  int32_t version = 2;
  std::vector<tx_input> inputs;
  std::vector<tx_output> outputs;
  uint32_t lock_time = 0;

  [[nodiscard]] bool has_witness() const;
  bool operator==(const transaction&) const = default;
};

// Witness form iff some input has a witness (BIP 144), legacy otherwise.
[[nodiscard]] bytes encode(const transaction& tx);
// Legacy form always (what the txid hashes).
[[nodiscard]] bytes encode_legacy(const transaction& tx);
// All bytes must be consumed; witness form accepted.
[[nodiscard]] qtum_result<transaction> decode_transaction(crypto::byte_span data);

[[nodiscard]] txid_t txid_of(const transaction& tx);  // sha256d of the legacy form
// Display form used by RPC: byte-reversed hex. Parsing refuses anything but 64 hex digits.
[[nodiscard]] std::string txid_hex(const txid_t& id);
[[nodiscard]] std::optional<txid_t> parse_txid_hex(std::string_view hex);

// Byte writer/reader shared by the encoders (little-endian, Bitcoin CompactSize).
class byte_writer {
 public:
  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  void compact_size(uint64_t v);
  void raw(crypto::byte_span data) { out_.insert(out_.end(), data.begin(), data.end()); }
  void var_bytes(crypto::byte_span data) {
    compact_size(data.size());
    raw(data);
  }
  [[nodiscard]] bytes& data() { return out_; }

 private:
  bytes out_;
};

}  // namespace energo::qtum
