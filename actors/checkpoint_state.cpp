#include "actors/checkpoint_state.hpp"

#include <nlohmann/json.hpp>

#include "actors/membership.hpp"
#include "common/le_bytes.hpp"
#include "ledger/byte_io.hpp"
#include "net/qtum/anchor.hpp"
#include "net/qtum/script.hpp"

namespace energo::actors {

namespace {

constexpr uint8_t book_version = 1;
constexpr uint8_t book_version_replacements = 2;  // v1 + an intent's replaced transactions (written only then)
constexpr uint8_t kind_mark = 4;
constexpr uint8_t kind_intent = 5;
constexpr uint8_t kind_record = 6;

using namespace energo::le_bytes;

void put_record(std::string& out, const anchor_record& r) {
  put_u64(out, r.index);
  put_raw(out, r.root);
  put_raw(out, r.txid);
  put_raw(out, r.block_hash);
  put_u64(out, r.height);
}
anchor_record get_record(reader& r) {
  anchor_record a;
  a.index = r.u64();
  a.root = r.raw<32>();
  a.txid = r.raw<32>();
  a.block_hash = r.raw<32>();
  a.height = r.u64();
  return a;
}

// Txid from the raw bytes; nullopt if they are not one transaction.
std::optional<qtum::transaction> decode_tx(std::string_view raw) {
  auto tx = qtum::decode_transaction(crypto::as_bytes(raw));
  if (!tx) return std::nullopt;
  return std::move(*tx);
}

std::string hex_of(const crypto::hash256& h) { return crypto::to_hex(h); }

std::optional<int64_t> change_of(const qtum::transaction& tx) {
  if (tx.outputs.size() >= 2 && qtum::parse_p2pkh(tx.outputs[1].script_pubkey)) return tx.outputs[1].value_sat;
  return std::nullopt;
}

}  // namespace

bool anchor_intent::is_one_of_its_txs(const qtum::txid_t& t) const {
  if (t == txid) return true;
  for (const auto& r : replaced)
    if (r.txid == t) return true;
  return false;
}

const anchor_record* checkpoint_book::find_anchor(uint64_t index) const {
  for (const auto& a : anchors)
    if (a.index == index) return &a;
  return nullptr;
}

std::string encode_mark_entry() { return std::string(1, static_cast<char>(kind_mark)); }

std::string encode_intent_entry(const anchor_intent& i) {
  std::string out;
  put_u8(out, kind_intent);
  put_u64(out, i.index);
  put_u64(out, i.build_height);
  put_bytes32(out, i.raw_tx);
  if (i.replaces) put_raw(out, *i.replaces);
  return out;
}

std::string encode_record_entry(const anchor_record& r) {
  std::string out;
  put_u8(out, kind_record);
  put_record(out, r);
  return out;
}

std::optional<anchor_intent> decode_intent_entry(std::string_view payload) {
  reader r{payload};
  if (r.u8() != kind_intent) return std::nullopt;
  anchor_intent i;
  i.index = r.u64();
  i.build_height = r.u64();
  i.raw_tx = r.bytes32(limits::anchor_tx_bytes_max);
  if (r.good && r.in.size() == 32) i.replaces = r.raw<32>();  // a replacement names the txid in flight
  if (!r.good || !r.in.empty()) return std::nullopt;
  const auto tx = decode_tx(i.raw_tx);
  if (!tx) return std::nullopt;
  i.txid = qtum::txid_of(*tx);
  return i;
}

std::optional<anchor_record> decode_record_entry(std::string_view payload) {
  reader r{payload};
  if (r.u8() != kind_record) return std::nullopt;
  auto a = get_record(r);
  if (!r.good || !r.in.empty()) return std::nullopt;
  return a;
}

void apply_mark(checkpoint_book& b, uint64_t index, const crypto::hash256& own_root) {
  b.marks[index] = own_root;
  while (b.marks.size() > limits::checkpoint_marks_kept_max) b.marks.erase(b.marks.begin());
}

// The outpoints every transaction for the intent's index spends (see checkpoint_state.hpp).
std::vector<qtum::outpoint> common_inputs_of(const anchor_intent& i, const qtum::transaction& tx) {
  if (!i.common_inputs.empty()) return i.common_inputs;
  std::vector<qtum::outpoint> out;
  for (const auto& in : tx.inputs) out.push_back(in.prevout);
  return out;
}

// Why `next` may not replace the intent in flight `now` ("" = it may): same index, another
// transaction, room for one more, and it spends an outpoint every earlier one spends
// (conflicting spends: at most one of them is ever mined). On success, `common` is what the
// replacement leaves in common.
std::string replacement_refusal(const anchor_intent& now, const anchor_intent& next, std::vector<qtum::outpoint>& common) {
  if (next.index != now.index) {
    return "a replacement must anchor the same index as the one in flight (" + std::to_string(now.index) + ")";
  }
  const auto a = decode_tx(now.raw_tx);
  const auto c = decode_tx(next.raw_tx);
  if (!a || !c) return "the transaction does not decode";
  if (now.is_one_of_its_txs(qtum::txid_of(*c))) return "the same anchor transaction is already in flight";
  if (now.replaced.size() >= limits::anchor_replacements_max) {
    return "index " + std::to_string(now.index) + " was already replaced " + std::to_string(now.replaced.size()) + " times";
  }
  common.clear();
  for (const auto& p : common_inputs_of(now, *a)) {
    for (const auto& in : c->inputs) {
      if (in.prevout == p) {
        common.push_back(p);
        break;
      }
    }
  }
  if (common.empty()) return "a replacement must spend an input every earlier anchor for this index spends (else two could be mined)";
  return {};
}

std::string apply_intent(checkpoint_book& b, const anchor_intent& i, std::string_view cluster_id) {
  std::vector<qtum::outpoint> common;
  if (b.intent) {
    if (!i.replaces || *i.replaces != b.intent->txid) {
      return b.intent->txid == i.txid ? "the same anchor transaction is already in flight"
                                      : "another anchor (index " + std::to_string(b.intent->index) + ") is in flight";
    }
    if (auto why = replacement_refusal(*b.intent, i, common); !why.empty()) return why;
    // A valid replacement passes every check below like any intent, then takes the place.
  } else if (i.replaces) {
    return "it replaces an anchor that is not in flight";
  }
  if (i.index <= b.last_anchored_index()) {
    return "index " + std::to_string(i.index) + " is not above the last anchored index " +
           std::to_string(b.last_anchored_index());
  }
  const auto mark = b.marks.find(i.index);
  if (mark == b.marks.end()) {
    return "index " + std::to_string(i.index) + " is not a marked index in this replica's window of " +
           std::to_string(limits::checkpoint_marks_kept_max) + " roots";
  }
  const auto tx = decode_tx(i.raw_tx);
  if (!tx) return "the transaction does not decode";
  const auto payload = qtum::find_anchor_payload(*tx);
  if (!payload) return "the transaction carries no anchor payload: " + payload.error().message;
  if (payload->cluster_id_hash != qtum::cluster_id_hash_of(cluster_id)) return "the payload names another cluster";
  if (payload->log_index != i.index) return "the payload anchors index " + std::to_string(payload->log_index);
  if (payload->state_root != mark->second) {
    return "the payload root " + hex_of(payload->state_root) + " is not this replica's root " + hex_of(mark->second) +
           " at index " + std::to_string(i.index);
  }
  anchor_intent kept = i;
  kept.txid = qtum::txid_of(*tx);
  kept.replaces.reset();
  kept.replaced.clear();
  kept.common_inputs.clear();
  if (b.intent) {  // a replacement (checked above)
    kept.replaced = b.intent->replaced;
    const auto old = decode_tx(b.intent->raw_tx);
    kept.replaced.push_back(replaced_anchor{b.intent->txid, old ? change_of(*old) : std::nullopt});
    kept.common_inputs = std::move(common);
  }
  b.intent = std::move(kept);
  return {};
}

std::string apply_record(checkpoint_book& b, const anchor_record& r) {
  if (!b.intent) return "no anchor is in flight";
  if (b.intent->index != r.index || !b.intent->is_one_of_its_txs(r.txid)) {
    return "the record (index " + std::to_string(r.index) + ", txid " + qtum::txid_hex(r.txid) +
           ") is not the anchor in flight (index " + std::to_string(b.intent->index) + ", txid " +
           qtum::txid_hex(b.intent->txid) + ")";
  }
  const auto mark = b.marks.find(r.index);
  if (mark == b.marks.end()) {
    return "index " + std::to_string(r.index) + " is older than this replica's window of " +
           std::to_string(limits::checkpoint_marks_kept_max) + " marked roots";
  }
  if (mark->second != r.root) {
    return "the recorded root " + hex_of(r.root) + " is not this replica's root " + hex_of(mark->second) +
           " at index " + std::to_string(r.index);
  }
  // The change output (output 1 of our anchors) of the transaction mined funds the next anchor.
  b.change.reset();
  std::optional<int64_t> change;
  if (r.txid == b.intent->txid) {
    if (const auto tx = decode_tx(b.intent->raw_tx)) change = change_of(*tx);
  } else {
    for (const auto& x : b.intent->replaced)
      if (x.txid == r.txid) change = x.change_sat;
  }
  if (change) b.change = change_coin{qtum::outpoint{r.txid, 1}, *change, r.height};
  b.anchors.push_back(r);
  while (b.anchors.size() > limits::anchors_kept_max) b.anchors.pop_front();
  b.intent.reset();
  return {};
}

std::string encode_book(const checkpoint_book& b) {
  std::string out;
  // v1 unless a replacement is in flight, so a book without one reads on nodes that predate them.
  const bool v2 = b.intent && !b.intent->replaced.empty();
  put_u8(out, v2 ? book_version_replacements : book_version);
  put_u32(out, static_cast<uint32_t>(b.marks.size()));
  for (const auto& [index, root] : b.marks) {
    put_u64(out, index);
    put_raw(out, root);
  }
  put_u8(out, b.intent ? 1 : 0);
  if (b.intent) {
    put_u64(out, b.intent->index);
    put_u64(out, b.intent->build_height);
    put_bytes32(out, b.intent->raw_tx);
    if (v2) {
      put_u8(out, static_cast<uint8_t>(b.intent->replaced.size()));
      for (const auto& x : b.intent->replaced) {
        put_raw(out, x.txid);
        put_u8(out, x.change_sat ? 1 : 0);
        put_u64(out, static_cast<uint64_t>(x.change_sat.value_or(0)));
      }
      put_u8(out, static_cast<uint8_t>(b.intent->common_inputs.size()));
      for (const auto& p : b.intent->common_inputs) {
        put_raw(out, p.txid);
        put_u32(out, p.index);
      }
    }
  }
  put_u32(out, static_cast<uint32_t>(b.anchors.size()));
  for (const auto& a : b.anchors) put_record(out, a);
  put_u8(out, b.change ? 1 : 0);
  if (b.change) {
    put_raw(out, b.change->point.txid);
    put_u32(out, b.change->point.index);
    put_u64(out, static_cast<uint64_t>(b.change->value_sat));
    put_u64(out, b.change->height);
  }
  return out;
}

std::optional<checkpoint_book> decode_book(std::string_view bytes) {
  if (bytes.size() > limits::checkpoint_book_bytes_max) return std::nullopt;
  reader r{bytes};
  const uint8_t version = r.u8();
  if (version != book_version && version != book_version_replacements) return std::nullopt;
  checkpoint_book b;
  const uint32_t marks = r.u32();
  if (!r.good || marks > limits::checkpoint_marks_kept_max) return std::nullopt;
  for (uint32_t i = 0; i < marks && r.good; ++i) {
    const uint64_t index = r.u64();
    b.marks[index] = r.raw<32>();
  }
  const uint8_t has_intent = r.u8();
  if (has_intent > 1) return std::nullopt;
  if (has_intent) {
    anchor_intent i;
    i.index = r.u64();
    i.build_height = r.u64();
    i.raw_tx = r.bytes32(limits::anchor_tx_bytes_max);
    if (!r.good) return std::nullopt;
    const auto tx = decode_tx(i.raw_tx);
    if (!tx) return std::nullopt;
    i.txid = qtum::txid_of(*tx);
    if (version == book_version_replacements) {
      const uint8_t replaced = r.u8();
      if (!r.good || replaced == 0 || replaced > limits::anchor_replacements_max) return std::nullopt;
      for (uint8_t k = 0; k < replaced && r.good; ++k) {
        replaced_anchor x;
        x.txid = r.raw<32>();
        const uint8_t has = r.u8();
        const auto value = static_cast<int64_t>(r.u64());
        if (has > 1 || value < 0) return std::nullopt;
        if (has) x.change_sat = value;
        i.replaced.push_back(x);
      }
      const uint8_t common = r.u8();
      if (!r.good || common == 0 || common > limits::anchor_inputs_max) return std::nullopt;
      for (uint8_t k = 0; k < common && r.good; ++k) {
        qtum::outpoint p;
        p.txid = r.raw<32>();
        p.index = r.u32();
        i.common_inputs.push_back(p);
      }
      if (!r.good) return std::nullopt;
    }
    b.intent = std::move(i);
  }
  const uint32_t anchors = r.u32();
  if (!r.good || anchors > limits::anchors_kept_max) return std::nullopt;
  for (uint32_t i = 0; i < anchors && r.good; ++i) b.anchors.push_back(get_record(r));
  const uint8_t has_change = r.u8();
  if (has_change > 1) return std::nullopt;
  if (has_change) {
    change_coin c;
    c.point.txid = r.raw<32>();
    c.point.index = r.u32();
    c.value_sat = static_cast<int64_t>(r.u64());
    c.height = r.u64();
    if (c.value_sat < 0) return std::nullopt;
    b.change = c;
  }
  if (!r.good || !r.in.empty() || b.marks.size() != marks) return std::nullopt;
  return b;
}

// ---- Proof files ---------------------------------------------------------------------------------

std::string block_hash_hex(const crypto::hash256& h) { return qtum::txid_hex(h); }

std::optional<ledger::account> decode_account_leaf(crypto::byte_span bytes) {
  ledger::byte_reader r(bytes);
  ledger::account a;
  uint8_t kind = 0, flags = 0;
  bool good = r.get_array(a.address) && r.get_u8(kind) && r.get_u8(flags) && r.get_array(a.key.bytes) &&
              r.get_i64(a.tsl_units) && r.get_i64(a.watt_wh) && r.get_i64(a.fee_debt_units) && r.get_u64(a.nonce) &&
              r.get_i64(a.minted_wh) && r.get_i64(a.burned_wh) && r.get_i64(a.grid_export_wh) &&
              r.get_i64(a.grid_import_wh) && r.get_i64(a.fees_paid_units);
  if (!good || r.remaining() != 0 || kind > 2 || flags > 3) return std::nullopt;
  a.kind = static_cast<ledger::account_kind>(kind);
  a.key_known = (flags & 1) != 0;
  a.granted = (flags & 2) != 0;
  // Paired check: the decoder is only trusted where it gives back the very bytes.
  const auto again = ledger::account_leaf_bytes(a);
  if (!std::equal(again.begin(), again.end(), bytes.begin(), bytes.end())) return std::nullopt;
  return a;
}

std::string proof_file_json(std::string_view cluster_id, std::string_view address_text, const ledger::account_proof& p,
                            const anchor_record& anchor) {
  nlohmann::json j;
  j["format"] = "energo-balance-proof/1";
  j["cluster_id"] = std::string(cluster_id);
  j["address"] = std::string(address_text);
  j["index"] = anchor.index;
  j["state_root"] = hex_of(anchor.root);
  j["anchor"] = {{"txid", qtum::txid_hex(anchor.txid)}, {"block_hash", block_hash_hex(anchor.block_hash)},
                 {"height", anchor.height}};
  j["balances"] = {{"tsl_units", p.record.tsl_units}, {"watt_wh", p.record.watt_wh},
                   {"fee_debt_units", p.record.fee_debt_units}, {"nonce", p.record.nonce}};
  j["leaf"] = crypto::to_hex(ledger::account_leaf_bytes(p.record));
  auto siblings = nlohmann::json::array();
  for (const auto& s : p.path.siblings) siblings.push_back(hex_of(s));
  j["path"] = {{"leaf_index", p.path.leaf_index}, {"leaf_count", p.path.leaf_count}, {"siblings", siblings}};
  j["accounts_root"] = hex_of(p.accounts_root);
  j["meters_root"] = hex_of(p.meters_root);
  j["units_root"] = hex_of(p.units_root);
  j["globals_hash"] = hex_of(p.globals_hash);
  j["market_hash"] = hex_of(p.market_hash);
  return j.dump(2);
}

energo::result<parsed_proof, std::string> parse_proof_file(std::string_view text) {
  using fail = energo::unexpected<std::string>;
  constexpr std::size_t siblings_max = 64;  // a Merkle path over at most 2^64 leaves
  try {
    const auto j = nlohmann::json::parse(text);
    if (j.at("format").get<std::string>() != "energo-balance-proof/1") return fail{"not an energo balance proof file"};
    parsed_proof p;
    p.cluster_id = j.at("cluster_id").get<std::string>();
    p.index = j.at("index").get<uint64_t>();
    auto hash = [&](const nlohmann::json& v, const char* what) -> crypto::hash256 {
      auto h = crypto::array_from_hex<32>(v.get<std::string>());
      if (!h) throw std::runtime_error(std::string(what) + " is not 32 bytes of hex");
      return *h;
    };
    p.root = hash(j.at("state_root"), "state_root");
    const auto txid = qtum::parse_txid_hex(j.at("anchor").at("txid").get<std::string>());
    const auto block = qtum::parse_txid_hex(j.at("anchor").at("block_hash").get<std::string>());
    if (!txid || !block) return fail{"anchor txid / block_hash are not 64 hex digits"};
    p.txid = *txid;
    p.block_hash = *block;
    const auto leaf = crypto::from_hex(j.at("leaf").get<std::string>());
    if (!leaf) return fail{"leaf is not hex"};
    auto account = decode_account_leaf(*leaf);
    if (!account) return fail{"leaf is not an account record"};
    p.proof.record = *account;
    const auto& path = j.at("path");
    p.proof.path.leaf_index = path.at("leaf_index").get<uint64_t>();
    p.proof.path.leaf_count = path.at("leaf_count").get<uint64_t>();
    const auto& siblings = path.at("siblings");
    if (!siblings.is_array() || siblings.size() > siblings_max) return fail{"path.siblings: at most 64 hashes"};
    for (const auto& s : siblings) p.proof.path.siblings.push_back(hash(s, "path sibling"));
    p.proof.accounts_root = hash(j.at("accounts_root"), "accounts_root");
    p.proof.meters_root = hash(j.at("meters_root"), "meters_root");
    p.proof.units_root = hash(j.at("units_root"), "units_root");
    p.proof.globals_hash = hash(j.at("globals_hash"), "globals_hash");
    p.proof.market_hash = hash(j.at("market_hash"), "market_hash");
    return p;
  } catch (const std::exception& e) {
    return fail{std::string("malformed proof file: ") + e.what()};
  }
}

}  // namespace energo::actors
