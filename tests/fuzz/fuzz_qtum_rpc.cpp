// The Qtum node's answers (net/qtum/rpc_client.hpp): the JSON-RPC reply of one HTTP exchange
// (parse_rpc_reply), every method's "result" parser, and the raw transaction decoder that
// getrawtransaction's hex and broadcast() feed. Input: [selector][status][rest].
//   selector bit 0 clear: rest is a reply body, status picks the HTTP status
//   selector bit 0 set:   rest is a raw transaction -> decode_transaction
// Contract: nothing throws or aborts; every refusal carries a message; a parsed reply's result
// goes through every method parser, and what they accept is within the client's bounds
// (block_txids_max, scan_coins_max, amounts below 2^53 sat, vout a u32); an accepted
// transaction re-encodes to exactly the input (the decoder is canonical) and, without witness
// data, its txid is the double SHA-256 of the input.
#include "net/qtum/rpc_client.hpp"
#include "net/qtum/tx.hpp"
#include "crypto/hash.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;

namespace {

constexpr int statuses[] = {200, 500, 404, 401, 403, 503, 302, 0};

void check_error(const qtum::qtum_error& e) { FUZZ_CHECK(!e.message.empty() || e.code == qtum::error_code::rpc); }

void transaction(fuzz::byte_span raw) {
  auto tx = qtum::decode_transaction(raw);
  if (!tx) {
    check_error(tx.error());
    return;
  }
  const auto enc = qtum::encode(*tx);
  FUZZ_CHECK(std::equal(enc.begin(), enc.end(), raw.begin(), raw.end()));
  // A legacy transaction's id is the double SHA-256 of the bytes it came from.
  if (!tx->has_witness()) FUZZ_CHECK(qtum::txid_of(*tx) == crypto::sha256d(raw));
}

void reply(int status, std::string_view body) {
  auto r = qtum::parse_rpc_reply(status, body);
  if (!r.result) {
    check_error(r.result.error());
    FUZZ_CHECK(!r.retryable || status == 503 || r.result.error().rpc_code == qtum::rpc_in_warmup);
    return;
  }
  FUZZ_CHECK(status == 200 && !r.retryable);
  const nlohmann::json& j = *r.result;
  if (auto n = qtum::parse_block_count(j); !n) check_error(n.error());
  if (auto h = qtum::parse_block_hash(j); !h) check_error(h.error());
  // The expected hash is the reply's own when it has one, so the parser gets past that check.
  crypto::hash256 expected{};
  if (j.is_object() && j.contains("hash") && j["hash"].is_string()) {
    if (auto h = qtum::parse_txid_hex(j["hash"].get<std::string>())) expected = *h;
  }
  if (auto b = qtum::parse_block(j, expected); b) {
    FUZZ_CHECK(b->hash == expected && b->txids.size() <= qtum::limits::block_txids_max);
  } else {
    check_error(b.error());
  }
  if (auto raw = qtum::parse_raw_transaction(j); raw) {
    transaction(*raw);
  } else {
    check_error(raw.error());
  }
  if (auto v = qtum::parse_mempool_verdict(j); !v) check_error(v.error());
  if (auto id = qtum::parse_sent_txid(j); !id) check_error(id.error());
  if (auto s = qtum::parse_scan(j); s) {
    FUZZ_CHECK(s->coins.size() <= qtum::limits::scan_coins_max);
    for (const auto& c : s->coins) FUZZ_CHECK(c.value_sat >= 0 && c.value_sat < (int64_t{1} << 53));
  } else {
    check_error(s.error());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::reader in(data, size);
  const uint8_t selector = in.u8();
  const int status = statuses[in.u8() % std::size(statuses)];
  if (selector & 1) {
    transaction(in.rest());
  } else {
    reply(status, fuzz::as_text(in.rest()));
  }
  return 0;
}
