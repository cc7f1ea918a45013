// The wire codec: frames with a hard maximum, round trips, and malformed input refused as values.
#include <gtest/gtest.h>

#include "net/wire.hpp"

namespace {

using namespace energo;

TEST(Wire, FrameReaderSplitsAndReassemblesFrames) {
  net::frame_reader r(1024);
  const std::string a = net::frame_of("hello");
  const std::string b = net::frame_of(std::string(300, 'x'));
  const std::string both = a + b;
  // Byte by byte: a frame comes out only when complete.
  int frames = 0;
  for (char c : both) {
    r.feed(std::span<const char>(&c, 1));
    auto f = r.next();
    ASSERT_TRUE(f);
    if (f->has_value()) ++frames;
  }
  EXPECT_EQ(frames, 2);
  EXPECT_EQ(r.buffered_bytes(), 0u);
}

TEST(Wire, FrameAboveTheMaximumIsRefusedBeforeBuffering) {
  net::frame_reader r(net::limits::client_frame_bytes_max);
  const char header[4] = {'\x7f', '\xff', '\xff', '\xff'};
  r.feed(header);
  auto f = r.next();
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, net::wire_errc::frame_too_large);
}

TEST(Wire, RaftMessageRoundTrip) {
  consensus::message m;
  m.group = 1;
  m.type = consensus::message_type::append;
  m.from = 7;
  m.to = 9;
  m.term = 3;
  m.log_term = 2;
  m.index = 41;
  m.entries = {{3, 42, consensus::entry_type::normal, "abc"}, {3, 43, consensus::entry_type::noop, ""}};
  m.commit = 40;
  m.context = 5;
  m.snap.index = 10;
  m.snap.config.voters = {7, 9};
  m.chunk_data = std::string("\0\1\2", 3);
  auto f = net::decode_peer_frame(net::encode_peer_raft(m));
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->raft);
  const auto& d = *f->raft;
  EXPECT_EQ(d.type, m.type);
  EXPECT_EQ(d.from, 7u);
  EXPECT_EQ(d.to, 9u);
  EXPECT_EQ(d.entries, m.entries);
  EXPECT_EQ(d.commit, 40u);
  EXPECT_EQ(d.snap.config.voters, m.snap.config.voters);
  EXPECT_EQ(d.chunk_data, m.chunk_data);
}

TEST(Wire, HelloRoundTrip) {
  auto f = net::decode_peer_frame(net::encode_peer_hello({"c1", 77, net::limits::wire_version}));
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->hello);
  EXPECT_EQ(f->hello->cluster_id, "c1");
  EXPECT_EQ(f->hello->node, 77u);
}

TEST(Wire, GarbageIsAnErrorNotACrash) {
  // Misaligned, empty, random words, a truncated real message, and a huge claimed segment.
  EXPECT_EQ(net::decode_peer_frame("abc").error().code, net::wire_errc::frame_misaligned);
  EXPECT_FALSE(net::decode_peer_frame(""));
  EXPECT_FALSE(net::decode_client_request(std::string(64, '\xff')));
  const std::string good = net::encode_peer_raft(consensus::message{});
  EXPECT_FALSE(net::decode_peer_frame(good.substr(0, 16)));
  std::string huge(16, '\0');
  huge[4] = '\xff';
  huge[5] = '\xff';
  huge[6] = '\xff';
  huge[7] = '\x0f';  // segment 0 claims ~2^28 words
  EXPECT_FALSE(net::decode_client_request(huge));
  // A raft message type beyond the enum is refused.
  consensus::message m;
  m.type = static_cast<consensus::message_type>(200);
  EXPECT_FALSE(net::decode_peer_frame(net::encode_peer_raft(m)));
}

TEST(Wire, ClientRequestAndResponseRoundTrip) {
  net::client_request req;
  req.id = 12;
  req.what = net::client_request::kind::submit;
  req.command = "cmd-bytes";
  auto d = net::decode_client_request(net::encode_client_request(req));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->id, 12u);
  EXPECT_EQ(d->command, "cmd-bytes");
  net::client_response res;
  res.id = 12;
  res.what = net::client_response::kind::outcome;
  res.outcome.index = 99;
  res.outcome.accepted = false;
  res.outcome.code_name = "stale_nonce";
  auto r = net::decode_client_response(net::encode_client_response(res));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->what, net::client_response::kind::outcome);
  EXPECT_EQ(r->outcome.index, 99u);
  EXPECT_EQ(r->outcome.code_name, "stale_nonce");
}

TEST(Wire, QueryRequestRoundTripAndBounds) {
  net::client_request req;
  req.id = 7;
  req.what = net::client_request::kind::query;
  req.query.name = "account";
  req.query.params_json = R"({"address":"x"})";
  req.query.stale = true;
  auto d = net::decode_client_request(net::encode_client_request(req));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->what, net::client_request::kind::query);
  EXPECT_EQ(d->query.name, "account");
  EXPECT_EQ(d->query.params_json, R"({"address":"x"})");
  EXPECT_TRUE(d->query.stale);
  req.query.name.clear();
  EXPECT_FALSE(net::decode_client_request(net::encode_client_request(req)));
  req.query.name = std::string(net::limits::query_name_bytes_max + 1, 'q');
  EXPECT_FALSE(net::decode_client_request(net::encode_client_request(req)));
  req.query.name = "account";
  req.query.params_json = std::string(net::limits::query_params_bytes_max + 1, ' ');
  EXPECT_FALSE(net::decode_client_request(net::encode_client_request(req)));
  net::client_response res;
  res.what = net::client_response::kind::query;
  res.text = R"({"a":1})";
  auto r = net::decode_client_response(net::encode_client_response(res));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->what, net::client_response::kind::query);
  EXPECT_EQ(r->text, R"({"a":1})");
}

// Cap'n Proto text may hold NUL bytes; the encoder used to cut them off (std::string -> Text
// goes through c_str()), so a decoded request did not survive re-encoding (tests/fuzz
// client_frame, regressions/client_frame/query-name-nul).
TEST(Wire, TextWithEmbeddedNulSurvivesARoundTrip) {
  net::client_request q;
  q.what = net::client_request::kind::query;
  q.query.name = std::string("\0acc", 4);
  q.query.params_json = std::string("{}\0x", 4);
  auto back = net::decode_client_request(net::encode_client_request(q));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->query.name, q.query.name);
  EXPECT_EQ(back->query.params_json, q.query.params_json);

  net::client_response r;
  r.what = net::client_response::kind::failure;
  r.failure.message = std::string("bad\0tail", 8);
  auto rb = net::decode_client_response(net::encode_client_response(r));
  ASSERT_TRUE(rb.has_value());
  EXPECT_EQ(rb->failure.message, r.failure.message);

  auto hello = net::decode_peer_frame(net::encode_peer_hello(net::peer_hello{std::string("c\0d", 3), 2}));
  ASSERT_TRUE(hello.has_value() && hello->hello.has_value());
  EXPECT_EQ(hello->hello->cluster_id, std::string("c\0d", 3));
}

}  // namespace
