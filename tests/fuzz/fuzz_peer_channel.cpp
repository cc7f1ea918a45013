// Peer frames and the Noise XX handshake, as an unauthenticated (or half-authenticated) peer
// can drive them. Input: [mode][...]
//   mode 0  local responder; the rest is the byte stream from the remote, fed in two chunks
//           split at the next byte (frame reassembly across reads).
//   mode 1  local initiator (message 1 already sent); the rest is the remote's byte stream.
//   mode 2  local responder; an honest remote initiator sends message 1, reads message 2, then
//           sends message 3 whose encrypted payload is [u16 length][payload] from the input;
//           whatever remains is raw bytes after it (transport frames if the proof was valid).
//   mode 3  local initiator; an honest remote responder answers message 1 with message 2 whose
//           payload is [u16 length][payload]; the rest as in mode 2.
// Contract: no crash; after any error the channel is closed for good (closed_because set, every
// later on_bytes fails) and nothing is delivered; a channel is established only with the
// remote's real node key (the fuzzer cannot forge an Ed25519 signature).
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/peer_harness.hpp"

using namespace energo;
using net::noise::role;

namespace {

void feed_and_check(net::peer_channel& ch, fuzz::byte_span stream, std::size_t split) {
  std::vector<std::vector<uint8_t>> messages;
  split = split < stream.size() ? split : stream.size();
  for (auto chunk : {stream.first(split), stream.subspan(split)}) {
    if (chunk.empty()) continue;
    const bool was_closed = ch.closed_because().has_value();
    auto r = ch.on_bytes(chunk, messages);
    if (!r) {
      FUZZ_CHECK(ch.closed_because().has_value());
      auto again = ch.on_bytes(chunk, messages);
      FUZZ_CHECK(!again.has_value());
      return;
    }
    FUZZ_CHECK(!was_closed);
    (void)ch.take_output();
  }
  if (ch.established()) {
    FUZZ_CHECK(ch.remote_node_key().has_value() && *ch.remote_node_key() == fuzz::peer::node_key(2).public_key());
  } else {
    FUZZ_CHECK(messages.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::reader in(data, size);
  const uint8_t mode = in.u8() % 4;
  switch (mode) {
    case 0: {
      auto ch = net::peer_channel::create(fuzz::peer::local_config(role::responder));
      FUZZ_CHECK(ch.has_value());
      const std::size_t split = in.u8();
      feed_and_check(*ch, in.rest(), split);
      break;
    }
    case 1: {
      auto ch = net::peer_channel::create(fuzz::peer::local_config(role::initiator));
      FUZZ_CHECK(ch.has_value());
      (void)ch->take_output();
      const std::size_t split = in.u8();
      feed_and_check(*ch, in.rest(), split);
      break;
    }
    case 2: {
      auto ch = net::peer_channel::create(fuzz::peer::local_config(role::responder));
      FUZZ_CHECK(ch.has_value());
      auto remote = fuzz::peer::remote_noise(role::initiator);
      auto m1 = remote.write_message({});
      FUZZ_CHECK(m1.has_value());
      std::vector<std::vector<uint8_t>> messages;
      FUZZ_CHECK(ch->on_bytes(net::encode_frame(*m1), messages).has_value());
      auto m2 = remote.read_message(fuzz::peer::unframe(ch->take_output()));
      FUZZ_CHECK(m2.has_value());
      const auto payload = in.take(in.u16());
      auto m3 = remote.write_message(payload);
      if (!m3) return 0;  // payload above the Noise message limit: nothing to send
      auto stream = net::encode_frame(*m3);
      const auto rest = in.rest();
      stream.insert(stream.end(), rest.begin(), rest.end());
      feed_and_check(*ch, stream, stream.size() - rest.size());
      break;
    }
    case 3: {
      auto ch = net::peer_channel::create(fuzz::peer::local_config(role::initiator));
      FUZZ_CHECK(ch.has_value());
      auto remote = fuzz::peer::remote_noise(role::responder);
      auto m1 = remote.read_message(fuzz::peer::unframe(ch->take_output()));
      FUZZ_CHECK(m1.has_value());
      const auto payload = in.take(in.u16());
      auto m2 = remote.write_message(payload);
      if (!m2) return 0;  // payload above the Noise message limit: nothing to send
      auto stream = net::encode_frame(*m2);
      const auto rest = in.rest();
      stream.insert(stream.end(), rest.begin(), rest.end());
      feed_and_check(*ch, stream, stream.size() - rest.size());
      break;
    }
  }
  return 0;
}
