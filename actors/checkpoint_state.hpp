#pragma once
// Replicated checkpoint state of a node (SPEC §7; docs/node.md "Checkpoints on Qtum"). Pure: no
// clock, no I/O; every replica computes the same book from the same log. It lives in the apply
// actor beside the ledger (state key "checkpoints", and inside the node image).
//
// Three log entry kinds, each appended only by the leader's raft actor for its own checkpoint
// actor (a leader refuses them when forwarded, membership.hpp forwardable()):
//   4  checkpoint mark  "take the state root here": every replica records (index, its own root);
//   5  anchor intent    the signed anchor transaction for a marked index, replicated BEFORE it is
//                       sent, so any later leader knows what is in flight and re-sends that same
//                       transaction instead of anchoring the index again;
//   6  anchor record    the intent's transaction reached the confirmation depth: index, root,
//                       txid, block hash, height.
// Each replica checks intents and records against the root it computed itself at that index
// (the marks window); what does not match, or is older than the window, is refused and logged.
// At most one intent is in flight: a second one is refused until the first is recorded, except a
// replacement (a fee bump, docs/node.md "Stuck anchors"): an intent that names the one in flight,
// for the same index, and spends an outpoint that EVERY earlier transaction for that index spends
// (`common_inputs`). All of them conflict pairwise, so at most one can ever be in the chain: the
// index is still anchored at most once. Any of them may be recorded (the original may be mined
// after all, e.g. from another node's mempool).
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "ledger/ledger.hpp"
#include "net/qtum/tx.hpp"

namespace energo::actors {

namespace limits {
inline constexpr std::size_t checkpoint_marks_kept_max = 64;  // (index, own root) window
inline constexpr std::size_t anchors_kept_max = 1024;         // confirmed anchor records kept
// Ledger images kept (locally, per replica) at the latest marks, for balance proofs.
inline constexpr std::size_t checkpoint_images_kept_max = 8;
inline constexpr std::size_t anchor_tx_bytes_max = 16u << 10;  // 50 P2PKH inputs ≈ 7.5 kB
inline constexpr std::size_t checkpoint_book_bytes_max = 1u << 20;
inline constexpr std::size_t anchor_replacements_max = 8;     // per index; beyond: refused
inline constexpr std::size_t anchor_inputs_max = 64;          // common inputs kept (the builder uses <= 50)
}  // namespace limits

// A transaction for the index in flight that a replacement took the place of.
struct replaced_anchor {
  qtum::txid_t txid{};
  std::optional<int64_t> change_sat;  // its change output (output 1), if it has one
  bool operator==(const replaced_anchor&) const = default;
};

struct anchor_intent {
  uint64_t index = 0;          // the marked log index it anchors
  std::string raw_tx;          // signed transaction, legacy serialization
  uint64_t build_height = 0;   // the Qtum tip when it was built (confirmations are followed from here)
  qtum::txid_t txid{};         // derived from raw_tx on decode
  // Entry only (never kept in the book): the txid of the intent in flight this one replaces.
  // Encoded as 32 trailing bytes; entries without them are ordinary intents, as before.
  std::optional<qtum::txid_t> replaces;
  // Book only, set by apply_intent on a replacement: the earlier transactions for this index
  // (oldest first) and the outpoints every one of them and raw_tx spend. Both empty: no
  // replacement yet (the common inputs are then raw_tx's own).
  std::vector<replaced_anchor> replaced;
  std::vector<qtum::outpoint> common_inputs;
  [[nodiscard]] bool is_one_of_its_txs(const qtum::txid_t& t) const;
  bool operator==(const anchor_intent&) const = default;
};

struct anchor_record {
  uint64_t index = 0;
  crypto::hash256 root{};
  qtum::txid_t txid{};
  crypto::hash256 block_hash{};  // internal byte order, like txid
  uint64_t height = 0;
  bool operator==(const anchor_record&) const = default;
};

// The output the next anchor spends (the last recorded anchor's change), so no wallet is needed.
struct change_coin {
  qtum::outpoint point;
  int64_t value_sat = 0;
  uint64_t height = 0;
  bool operator==(const change_coin&) const = default;
};

struct checkpoint_book {
  std::map<uint64_t, crypto::hash256> marks;  // own state root at each marked index, newest kept
  std::optional<anchor_intent> intent;        // at most one anchor in flight
  std::deque<anchor_record> anchors;          // confirmed, in index order, newest kept
  std::optional<change_coin> change;
  bool operator==(const checkpoint_book&) const = default;

  [[nodiscard]] uint64_t last_anchored_index() const { return anchors.empty() ? 0 : anchors.back().index; }
  [[nodiscard]] const anchor_record* find_anchor(uint64_t index) const;
};

[[nodiscard]] std::string encode_mark_entry();
[[nodiscard]] std::string encode_intent_entry(const anchor_intent& i);
[[nodiscard]] std::string encode_record_entry(const anchor_record& r);
[[nodiscard]] std::optional<anchor_intent> decode_intent_entry(std::string_view payload);
[[nodiscard]] std::optional<anchor_record> decode_record_entry(std::string_view payload);

// Apply rules. An empty string means applied; otherwise the reason it was refused (nothing changed).
void apply_mark(checkpoint_book& b, uint64_t index, const crypto::hash256& own_root);
[[nodiscard]] std::string apply_intent(checkpoint_book& b, const anchor_intent& i, std::string_view cluster_id);
[[nodiscard]] std::string apply_record(checkpoint_book& b, const anchor_record& r);

[[nodiscard]] std::string encode_book(const checkpoint_book& b);
[[nodiscard]] std::optional<checkpoint_book> decode_book(std::string_view bytes);

// ---- Balance proof files (energoctl account prove / proof verify) -----------------------------

// Hex helpers for hashes shown the way a Qtum node shows them (byte-reversed).
[[nodiscard]] std::string block_hash_hex(const crypto::hash256& h);

// The JSON proof file: the account leaf, its Merkle path, the other state-root parts, the anchor.
[[nodiscard]] std::string proof_file_json(std::string_view cluster_id, std::string_view address_text,
                                          const ledger::account_proof& p, const anchor_record& anchor);
struct parsed_proof {
  std::string cluster_id;
  uint64_t index = 0;
  crypto::hash256 root{};  // what the file claims; verification uses the root found on chain
  qtum::txid_t txid{};
  crypto::hash256 block_hash{};
  ledger::account_proof proof;
};
// Refuses anything malformed with a message (a tampered file that still parses fails verification).
[[nodiscard]] energo::result<parsed_proof, std::string> parse_proof_file(std::string_view text);
// The inverse of ledger::account_leaf_bytes (checked by re-encoding).
[[nodiscard]] std::optional<ledger::account> decode_account_leaf(crypto::byte_span bytes);

}  // namespace energo::actors
