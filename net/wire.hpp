#pragma once
// Wire codec of energo-node: length-prefixed frames carrying Cap'n Proto messages
// (net/schema/peer.capnp, net/schema/client.capnp), mapped to and from plain C++ structs so that
// the actors and energoctl never touch Cap'n Proto types.
//
// Frame = u32 big-endian body length + body (a Cap'n Proto flat array, unpacked). A length above
// the stream's named maximum, a body that is not whole words, or a message Cap'n Proto refuses
// (traversal and nesting limits below) is a wire_error: the caller closes that one connection.
// Nothing here allocates more than the checked frame length.
#include "net/limits.hpp"
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "consensus/types.hpp"

namespace energo::net {

namespace limits {
// A Raft append carries at most consensus::limits::max_entries_bytes_per_append (256 KiB) of
// payload; a snapshot chunk at most snapshot_chunk_bytes_max (64 KiB). 8 MiB leaves room for
// per-entry overhead and a larger configured append without letting a peer make us buffer more.
inline constexpr std::size_t peer_frame_bytes_max = 8u << 20;
// A client request carries at most one command (ledger::limits::command_bytes_max = 4 KiB).
inline constexpr std::size_t client_frame_bytes_max = 64u << 10;
// Responses a client reads may be larger: cluster info carries the genesis (a joining node).
inline constexpr std::size_t client_response_frame_bytes_max = 4u << 20;
inline constexpr std::size_t client_response_text_bytes_max = client_response_frame_bytes_max - 4096;
inline constexpr uint64_t capnp_nesting_limit = 16;
inline constexpr uint32_t wire_version = 1;
inline constexpr std::size_t text_bytes_max = 4096;  // names, messages in responses
inline constexpr std::size_t query_name_bytes_max = 64;
inline constexpr std::size_t query_params_bytes_max = 4096;  // a query's JSON parameters
}  // namespace limits

enum class wire_errc : uint8_t {
  frame_too_large = 1,  // length prefix above the stream's maximum
  frame_misaligned,     // body length not a multiple of 8 (Cap'n Proto words)
  malformed,            // Cap'n Proto refused the message, or a field is out of its bounds
  unexpected_message,   // a well-formed message that is not allowed here (e.g. no hello first)
};
[[nodiscard]] std::string_view to_string(wire_errc code);

struct wire_error {
  wire_errc code = wire_errc::malformed;
  std::string message;
};
template <class T>
using wire_result = energo::result<T, wire_error>;

// ---- Framing ------------------------------------------------------------------------------------

// Incremental frame splitter for one connection. feed() appends bytes; next() returns the next
// complete body, nothing while incomplete, or an error (then the connection must be closed).
// Buffers at most one frame: header + max_body_bytes.
class frame_reader {
 public:
  explicit frame_reader(std::size_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}
  void feed(std::span<const char> bytes) { buf_.insert(buf_.end(), bytes.begin(), bytes.end()); }
  [[nodiscard]] wire_result<std::optional<std::string>> next();
  [[nodiscard]] std::size_t buffered_bytes() const { return buf_.size() - pos_; }

 private:
  std::size_t max_body_bytes_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;
};

// Header + body, appended to `out`.
void append_frame(std::vector<char>& out, std::string_view body);
[[nodiscard]] std::string frame_of(std::string_view body);

// ---- Peer messages ------------------------------------------------------------------------------

struct peer_hello {
  std::string cluster_id;
  consensus::node_id node = consensus::no_node;
  uint32_t wire_version = limits::wire_version;
};

// One decoded peer frame: exactly one of the two is set.
struct peer_frame {
  std::optional<peer_hello> hello;
  std::optional<consensus::message> raft;
};

[[nodiscard]] std::string encode_peer_hello(const peer_hello& h);
[[nodiscard]] std::string encode_peer_raft(const consensus::message& m);
[[nodiscard]] wire_result<peer_frame> decode_peer_frame(std::string_view body);

// ---- Client protocol ----------------------------------------------------------------------------

// Stable codes of a failed client request (not a ledger refusal: those are outcomes).
enum class client_errc : uint16_t {
  busy = 1,            // a bounded queue is full: retry later (nothing was queued)
  malformed = 2,       // the command does not decode
  bad_signature = 3,   // the signature does not verify
  system_command = 4,  // clients may not submit ticks
  no_leader = 5,       // no leader known; retry
  timeout = 6,         // not applied within the deadline; the outcome is unknown, resubmitting the
                       // same signed command is safe (its nonce makes it apply at most once)
  shutting_down = 7,
  not_supported = 8,
  internal = 9,
  too_large = 10,
};
[[nodiscard]] std::string_view to_string(client_errc code);

struct client_failure {
  client_errc code = client_errc::internal;
  std::string message;
  consensus::node_id leader_hint = consensus::no_node;
};

struct account_query {
  std::array<uint8_t, 20> address{};
  bool stale = false;
};

// A named read answered as JSON by the node (actors/query.hpp lists the names).
struct query_request {
  std::string name;
  std::string params_json = "{}";
  bool stale = false;
};

// Checkpoints on Qtum: no address = the anchor list; an address = a balance proof at an anchor.
struct checkpoint_query {
  std::optional<std::array<uint8_t, 20>> address;
  uint64_t at_index = 0;  // 0 = the latest confirmed anchor
};

struct client_request {
  enum class kind : uint8_t { submit, status, account, admin, members, cluster_info, query, checkpoint };
  uint64_t id = 0;
  kind what = kind::status;
  std::string command;  // submit: ledger::encode() bytes; admin: a signed membership request
  account_query account;
  query_request query;
  checkpoint_query checkpoint;
};

struct command_outcome {
  uint64_t index = 0;
  bool accepted = false;
  uint16_t code = 0;  // ledger::errc when refused
  std::string code_name;
  std::string message;
  bool duplicate = false;
  int64_t minted_wh = 0;
  int64_t burned_wh = 0;
  int64_t fees_units = 0;
  uint64_t order_id = 0;
  int64_t filled_wh = 0;
  int64_t trades = 0;
  uint64_t session_id = 0;
  bool created_account = false;
  int64_t epochs_closed = 0;
};

struct node_status {
  uint64_t node_id = 0;
  std::string name;
  std::string role;
  uint64_t term = 0;
  uint64_t leader = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  std::string state_root;  // 32 raw bytes
  std::vector<uint64_t> voters;
  std::string cluster_id;
  int64_t ledger_time_ms = 0;
  uint64_t epoch = 0;
  uint64_t last_index = 0;
  uint64_t snapshot_index = 0;
};

struct account_answer {
  bool found = false;
  int64_t tsl_units = 0;
  int64_t watt_wh = 0;
  uint64_t nonce = 0;
  uint64_t applied_index = 0;
  int64_t fee_debt_units = 0;
};

struct client_response {
  enum class kind : uint8_t { outcome, status, account, failure, members, cluster_info, query, checkpoint };
  uint64_t id = 0;
  kind what = kind::failure;
  std::string text;  // members, cluster_info, query, checkpoint: a JSON object
  command_outcome outcome;
  node_status status;
  account_answer account;
  client_failure failure;

  // A refusal: what a handler answers when the request cannot be served (leader: a hint, 0 if none).
  [[nodiscard]] static client_response refused(client_errc code, std::string message, uint64_t leader = 0) {
    client_response r;
    r.what = kind::failure;
    r.failure = client_failure{code, std::move(message), leader};
    return r;
  }
};

[[nodiscard]] std::string encode_client_request(const client_request& r);
[[nodiscard]] wire_result<client_request> decode_client_request(std::string_view body);
[[nodiscard]] std::string encode_client_response(const client_response& r);
[[nodiscard]] wire_result<client_response> decode_client_response(std::string_view body);

}  // namespace energo::net
