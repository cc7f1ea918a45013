// The peer wire's message decoder (net/wire.hpp decode_peer_frame, net/schema/peer.capnp): the
// hello and every Raft message a peer sends, entries and snapshot chunks included; this is the
// Raft *message* decoder (what travels inside the authenticated peer channel). Input: a frame
// body. Contract: a refusal is a wire_error with a message; an accepted frame is exactly one of
// hello / raft, its enums are known values, the hello's cluster id is within its bound, entries
// and chunk data are no larger than the body (plus the traversal allowance), and its value survives encode -> decode
// (compared through a second encoding: Cap'n Proto bytes are not canonical).
#include "net/wire.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto body = fuzz::as_text(fuzz::byte_span(data, size));
  auto f = net::decode_peer_frame(body);
  if (!f) {
    FUZZ_CHECK(!f.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(f->hello.has_value() != f->raft.has_value());
  std::string enc;
  if (f->hello) {
    FUZZ_CHECK(f->hello->cluster_id.size() <= net::limits::cluster_id_bytes_max);
    enc = net::encode_peer_hello(*f->hello);
  } else {
    const auto& m = *f->raft;
    FUZZ_CHECK(static_cast<uint8_t>(m.type) <= static_cast<uint8_t>(consensus::message_type::forward_proposal));
    std::size_t payload = m.chunk_data.size();
    for (const auto& e : m.entries) {
      FUZZ_CHECK(static_cast<uint8_t>(e.type) <= static_cast<uint8_t>(consensus::entry_type::noop));
      payload += e.data.size();
    }
    // Cap'n Proto lets pointers alias one object; the traversal limit (body words + 64,
    // wire.cpp) bounds what aliasing can multiply.
    FUZZ_CHECK(payload <= body.size() + 64 * 8);
    enc = net::encode_peer_raft(m);
  }
  auto again = net::decode_peer_frame(enc);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->hello.has_value() == f->hello.has_value());
  FUZZ_CHECK((again->hello ? net::encode_peer_hello(*again->hello) : net::encode_peer_raft(*again->raft)) == enc);
  return 0;
}
