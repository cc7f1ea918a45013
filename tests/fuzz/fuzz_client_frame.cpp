// The client port's wire (net/wire.hpp): the frame splitter a node runs on every client
// connection, and the Cap'n Proto request and response decoders (net/schema/client.capnp),
// including the named read ('query'). Input: [selector][rest].
//   selector % 3 == 0: rest is a request body   -> decode_client_request
//   selector % 3 == 1: rest is a response body  -> decode_client_response
//   selector % 3 == 2: [max][chunk][stream]     -> frame_reader, fed in chunks
// Contract: a refusal is a wire_error with a message; an accepted message is within the codec's
// bounds and its value survives encode -> decode (Cap'n Proto bytes are not canonical, so the
// check is encode(decode(x)) == encode(decode(encode(decode(x))))). The frame splitter yields
// exactly the frames an independent walk of the stream finds and buffers at most one frame.
#include "net/wire.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;

namespace {

void request(std::string_view body) {
  auto r = net::decode_client_request(body);
  if (!r) {
    FUZZ_CHECK(!r.error().message.empty());
    return;
  }
  using kind = net::client_request::kind;
  if (r->what == kind::query) {
    FUZZ_CHECK(!r->query.name.empty() && r->query.name.size() <= net::limits::query_name_bytes_max);
    FUZZ_CHECK(!r->query.params_json.empty() && r->query.params_json.size() <= net::limits::query_params_bytes_max);
  }
  FUZZ_CHECK(r->command.size() <= body.size());
  const auto enc = net::encode_client_request(*r);
  auto again = net::decode_client_request(enc);
  if (!again) std::fprintf(stderr, "re-decode failed: %s\n", again.error().message.c_str());
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->what == r->what && again->id == r->id);
  FUZZ_CHECK(net::encode_client_request(*again) == enc);
}

void response(std::string_view body) {
  auto r = net::decode_client_response(body);
  if (!r) {
    FUZZ_CHECK(!r.error().message.empty());
    return;
  }
  const auto& o = r->outcome;
  FUZZ_CHECK(o.code_name.size() <= net::limits::text_bytes_max && o.message.size() <= net::limits::text_bytes_max);
  FUZZ_CHECK(r->status.name.size() <= net::limits::text_bytes_max);
  FUZZ_CHECK(r->failure.message.size() <= net::limits::text_bytes_max);
  FUZZ_CHECK(r->text.size() <= net::limits::client_response_text_bytes_max);
  FUZZ_CHECK(r->status.voters.size() <= body.size());
  const auto enc = net::encode_client_response(*r);
  auto again = net::decode_client_response(enc);
  if (!again) std::fprintf(stderr, "re-decode failed: %s\n", again.error().message.c_str());
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->what == r->what && again->id == r->id);
  FUZZ_CHECK(net::encode_client_response(*again) == enc);
}

void frames(fuzz::reader& in) {
  const std::size_t max_bytes = std::size_t{in.u8()} * 8u;  // 0..2040: small, so too_large is reachable
  const std::size_t chunk = std::size_t{1} + in.u8();
  const auto stream = fuzz::as_text(in.rest());

  net::frame_reader reader(max_bytes);
  std::vector<std::string> got;
  bool failed = false;
  for (std::size_t pos = 0; pos < stream.size() && !failed; pos += chunk) {
    const auto piece = stream.substr(pos, chunk);
    reader.feed(std::span<const char>(piece.data(), piece.size()));
    while (true) {
      auto f = reader.next();
      if (!f) {
        FUZZ_CHECK(f.error().code == net::wire_errc::frame_too_large);
        failed = true;
        break;
      }
      if (!f->has_value()) break;
      got.push_back(std::move(**f));
    }
    // At most one incomplete frame is held (plus the chunk that completed nothing yet).
    if (!failed) FUZZ_CHECK(reader.buffered_bytes() < net::limits::frame_header_bytes + max_bytes + chunk);
  }

  // The oracle: walk the stream by hand (u32 big-endian length, then the body; empty bodies
  // are frames too, the codec refuses them later).
  std::vector<std::string> expected;
  bool expect_fail = false;
  std::size_t pos = 0;
  while (stream.size() - pos >= 4) {
    const auto* p = reinterpret_cast<const unsigned char*>(stream.data() + pos);
    const std::size_t len = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
    if (len > max_bytes) {
      expect_fail = true;
      break;
    }
    if (stream.size() - pos - 4 < len) break;
    expected.emplace_back(stream.substr(pos + 4, len));
    pos += 4 + len;
  }
  FUZZ_CHECK(failed == expect_fail);
  FUZZ_CHECK(got == expected);
  std::string reencoded;
  for (const auto& f : got) reencoded += net::frame_of(f);
  FUZZ_CHECK(stream.substr(0, reencoded.size()) == reencoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::reader in(data, size);
  const uint8_t selector = in.u8();
  switch (selector % 3) {
    case 0: request(fuzz::as_text(in.rest())); break;
    case 1: response(fuzz::as_text(in.rest())); break;
    default: frames(in); break;
  }
  return 0;
}
