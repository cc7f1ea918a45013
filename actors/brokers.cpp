// Peer and client brokers (CAF io::broker with our own framing; CAF's BASP has no
// authentication and its wire format follows CAF's version). Both run on the scheduler: they
// only parse, encode and move bytes, never block. Listening sockets bind the configured host
// (loopback by default).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/actors_internal.hpp"
#include "actors/messages.hpp"
#include "actors/membership.hpp"
#include "actors/state_codec.hpp"
#include "actors/submission_table.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "net/client_conn.hpp"
#include "net/peer_handshake.hpp"

#include <nlohmann/json.hpp>

namespace energo::actors {

namespace cs = energo::consensus;
using caf::io::connection_handle;

namespace {
constexpr auto reconnect_interval = std::chrono::milliseconds(250);
// Bytes waiting in one peer connection's write buffer; beyond it Raft messages are dropped (Raft
// retransmits) instead of buffering without bound for a slow or stuck peer.
constexpr std::size_t peer_write_buffer_bytes_max = 32u << 20;
static_assert(limits::raft_snapshot_chunk_bytes * limits::raft_snapshot_chunks_in_flight < peer_write_buffer_bytes_max,
              "a follower's snapshot window must fit its link's write buffer (else chunks are dropped)");
constexpr std::size_t client_write_buffer_bytes_max = 4u << 20;
// Reads: CAF 0.17's scribe shrinks its read buffer to the bytes a read returned and grows it
// back, zero-filled, to the receive policy's size before the next read. At a fixed 64 KiB every
// small client request cost a 64 KiB memset (5 % of a node's CPU samples at 8,000 orders/s,
// perf on the closed-loop bench). So a connection reads read_chunk_min_bytes at a time until a
// read fills the buffer (bulk traffic: batches, snapshot chunks), then read_chunk_max_bytes, and
// drops back once a read returns less than the small size.
constexpr std::size_t read_chunk_min_bytes = 4u << 10;
constexpr std::size_t read_chunk_max_bytes = 64u << 10;

void adapt_read(caf::io::broker* self, connection_handle hdl, std::size_t got, std::size_t& size) {
  std::size_t want = size;
  if (got >= size) want = read_chunk_max_bytes;
  else if (got < read_chunk_min_bytes) want = read_chunk_min_bytes;
  if (want == size) return;
  size = want;
  self->configure_read(hdl, caf::io::receive_policy::at_most(size));
}

// Binds the listening socket from inside the broker and reports the port (or why not).
bool listen(caf::io::broker* self, const net::endpoint& ep, std::promise<bind_result>& bound) {
  auto r = self->add_tcp_doorman(ep.port, ep.host.c_str(), true);
  if (!r) {
    bound.set_value({0, "cannot listen on " + ep.host + ":" + std::to_string(ep.port) + ": " + self->system().render(r.error())});
    self->quit();
    return false;
  }
  bound.set_value({r->second, {}});
  return true;
}
}  // namespace

// ---- Peer broker ------------------------------------------------------------------------------
//
// Every connection runs Energo's Noise XX handshake (net/peer_handshake.hpp): we are the
// initiator on the links we dial (one per other member, expecting that member's key) and the
// responder on accepted ones. A key is admitted if it belongs to the latest registry the apply
// actor published (committed members, including members just added as learners), to a departing
// member (dropped from the registry, still in the Raft configuration: the leader's hold-back must
// reach it so it learns of its removal) or to the members the join target named (a joining node). Raft messages travel as sealed Cap'n Proto
// frames, on our own link to the peer, or on the peer's link to us while ours is not up (link_to);
// a message must name the authenticated node as its sender. Any failure (bad frame,
// handshake, decryption, decoding, a wrong sender) logs the reason and closes that connection only.

namespace {
constexpr auto handshake_deadline = std::chrono::seconds(5);   // an unauthenticated connection is closed after
constexpr auto redial_after_failure = std::chrono::seconds(2); // a dialled link whose handshake failed
constexpr std::size_t unauthenticated_connections_max = 64;
constexpr std::size_t departing_max = limits::members_max;  // removed members still in the Raft configuration
}  // namespace

struct peer_broker_state {
  struct conn {
    std::optional<net::peer_channel> ch;
    bool outbound = false;
    cs::node_id peer = cs::no_node;  // outbound: the member dialled; inbound: set once authenticated
    std::chrono::steady_clock::time_point opened;
    std::size_t read_size = read_chunk_min_bytes;  // adapt_read
  };
  struct slot {
    std::optional<connection_handle> hdl;
    std::chrono::steady_clock::time_point next_dial{};
  };
  std::map<connection_handle, conn> conns;
  std::map<cs::node_id, slot> out;
  std::shared_ptr<const member_registry> registry;
  // Members the registry dropped while the Raft configuration still holds them: the leader holds
  // a removed member in its configuration until that member's log carries its removal
  // (raft_actor.cpp, removal_due), which needs this link. Dialled and admitted like members until
  // raft says the configuration no longer holds them (raft_config). At most
  // departing_max; an entry is dropped at once if the configuration is known not to hold it.
  std::map<cs::node_id, member_record> departing;
  std::optional<std::set<cs::node_id>> raft_config;  // unknown until raft's first raft_config
  uint64_t dropped = 0;
  static inline const char* name = "peer_broker";
};

namespace {

using peer_self = caf::stateful_actor<peer_broker_state, caf::io::broker>*;

bool admitted(peer_self self, const ctx_ptr& ctx, const crypto::ed25519_public_key& key) {
  if (key == ctx->node_key.public_key()) return false;
  if (self->state.registry && self->state.registry->find_key(key) != nullptr) return true;
  for (const auto& [id, m] : self->state.departing) {
    if (m.key == key) return true;
  }
  return std::find(ctx->join_admitted.begin(), ctx->join_admitted.end(), key) != ctx->join_admitted.end();
}

net::peer_handshake_config channel_config(peer_self self, const ctx_ptr& ctx, net::noise::role role) {
  net::peer_handshake_config c;
  c.local_role = role;
  c.cluster_id = ctx->cluster_id;
  c.genesis_hash = ctx->genesis_hash;
  c.node_key = ctx->node_key;
  c.is_admitted = [self, ctx](const crypto::ed25519_public_key& k) { return admitted(self, ctx, k); };
  return c;
}

void write_output(peer_self self, connection_handle hdl, net::peer_channel& ch) {
  auto bytes = ch.take_output();
  if (bytes.empty()) return;
  auto& buf = self->wr_buf(hdl);
  // One memcpy: insert() from uint8_t iterators into CAF's char buffer converted byte by byte
  // (15 % of a leader's CPU samples while it sent a 100 MB snapshot, bench/README.md).
  const std::size_t at = buf.size();
  buf.resize(at + bytes.size());
  std::memcpy(buf.data() + at, bytes.data(), bytes.size());
  self->flush(hdl);
}

void close_conn(peer_self self, connection_handle hdl, const std::string& reason) {
  auto& s = self->state;
  auto it = s.conns.find(hdl);
  if (it != s.conns.end()) {
    spdlog::warn("peer: closing {} connection {} (node {}): {}", it->second.outbound ? "outbound" : "inbound",
                 self->remote_addr(hdl), it->second.peer, reason);
    if (it->second.outbound) {
      auto o = s.out.find(it->second.peer);
      if (o != s.out.end()) {
        o->second.hdl.reset();
        o->second.next_dial = std::chrono::steady_clock::now() + redial_after_failure;
      }
    }
    s.conns.erase(it);
  }
  self->close(hdl);
}

// The command hashes (the apply actor's waiter keys) in a forwarded proposal.
std::vector<std::string> hashes_of_forward(const cs::message& m) {
  std::vector<std::string> out;
  auto add = [&](std::string_view bytes) {
    const auto h = crypto::sha256(crypto::as_bytes(bytes));
    out.emplace_back(reinterpret_cast<const char*>(h.data()), h.size());
  };
  for (const auto& e : m.entries) {
    const auto kind = kind_of(e.data);
    if (kind == entry_kind::admin_request) {
      add(std::string_view(e.data).substr(1));
    } else if (kind == entry_kind::command_batch) {
      if (auto batch = decode_command_batch(e.data)) {
        for (const auto& c : *batch) add(c);
      }
    }
  }
  return out;
}

// Outbound slots follow the registry: one per other member; removed members are disconnected.
// The member record of a node we dial: a registry member, or a departing one.
const member_record* dial_record(peer_self self, cs::node_id id) {
  auto& s = self->state;
  if (auto it = s.registry->members.find(id); it != s.registry->members.end()) return &it->second;
  if (auto it = s.departing.find(id); it != s.departing.end()) return &it->second;
  return nullptr;
}

// The link a message to `to` goes out on: our own (dialled) link when its handshake is done, else an
// authenticated link `to` dialled to us. A node that joined dials, until it has the registry, only
// the members of the cluster file its join target gave it (the bootstrap voters); a leader that
// joined after them is not among those, and the new node must answer it on the leader's link
// (else the leader never hears from it and it never catches up: fault sweep seed 9006).
std::optional<connection_handle> link_to(peer_self self, cs::node_id to) {
  auto& s = self->state;
  if (auto it = s.out.find(to); it != s.out.end() && it->second.hdl) {
    const auto& c = s.conns.at(*it->second.hdl);
    if (c.ch->established()) return it->second.hdl;
  }
  for (const auto& [hdl, c] : s.conns) {
    if (!c.outbound && c.peer == to && c.ch && c.ch->established()) return hdl;
  }
  return std::nullopt;
}

// A new registry: members it dropped become departing while the Raft configuration may hold them.
void take_registry(peer_self self, const ctx_ptr& ctx, std::shared_ptr<const member_registry> reg) {
  auto& s = self->state;
  if (s.registry) {
    for (const auto& [id, m] : s.registry->members) {
      if (id == ctx->self || reg->members.count(id) != 0) continue;
      if (s.raft_config && s.raft_config->count(id) == 0) continue;
      if (s.departing.size() >= departing_max) {
        spdlog::warn("peer: {} departing members already; node {} is dropped at once", departing_max, id);
        continue;
      }
      s.departing[id] = m;
    }
  }
  for (auto it = s.departing.begin(); it != s.departing.end();) {
    it = reg->members.count(it->first) != 0 ? s.departing.erase(it) : std::next(it);
  }
  s.registry = std::move(reg);
}

void follow_registry(peer_self self, const ctx_ptr& ctx) {
  auto& s = self->state;
  for (const auto& [id, m] : s.registry->members) {
    if (id != ctx->self) s.out[id];
  }
  for (const auto& [id, m] : s.departing) s.out[id];
  for (auto it = s.out.begin(); it != s.out.end();) {
    if (dial_record(self, it->first) != nullptr) {
      ++it;
      continue;
    }
    if (it->second.hdl) {
      const auto hdl = *it->second.hdl;
      it->second.hdl.reset();
      close_conn(self, hdl, "no longer a member");
    }
    it = s.out.erase(it);
  }
  std::vector<connection_handle> gone;
  for (const auto& [hdl, c] : s.conns) {
    if (!c.outbound && c.ch && c.ch->remote_node_key() && !admitted(self, ctx, *c.ch->remote_node_key())) gone.push_back(hdl);
  }
  for (auto hdl : gone) close_conn(self, hdl, "no longer a member");
}

}  // namespace

caf::behavior peer_broker(caf::stateful_actor<peer_broker_state, caf::io::broker>* self, ctx_ptr ctx, raft_actor raft,
                          apply_actor apply, bind_promise bound) {
  if (!listen(self, ctx->peer_listen, *bound)) return {};
  self->state.registry = std::make_shared<const member_registry>(ctx->initial_registry);
  follow_registry(self, ctx);
  caf::anon_send(caf::actor_cast<caf::actor>(self), connect_atom::value);
  return {
      [self, ctx](connect_atom) {
        auto& s = self->state;
        const auto now = std::chrono::steady_clock::now();
        for (auto& [id, o] : s.out) {
          if (o.hdl || now < o.next_dial) continue;
          const auto* m = dial_record(self, id);
          if (m == nullptr) continue;
          auto ep = net::parse_endpoint(m->peer);
          if (!ep) continue;
          // Loopback / LAN connect: CAF 0.17 connects synchronously; a refused port fails at once.
          auto hdl = self->add_tcp_scribe(ep->host, ep->port);
          if (!hdl) continue;
          auto cfg = channel_config(self, ctx, net::noise::role::initiator);
          cfg.expected_peer = m->key;
          auto ch = net::peer_channel::create(std::move(cfg));
          if (!ch) {
            spdlog::error("peer: cannot start a handshake: {}", ch.error().message);
            self->close(*hdl);
            continue;
          }
          o.hdl = *hdl;
          auto& c = s.conns[*hdl];
          c.ch.emplace(std::move(*ch));
          c.outbound = true;
          c.peer = id;
          c.opened = now;
          self->configure_read(*hdl, caf::io::receive_policy::at_most(read_chunk_min_bytes));
          write_output(self, *hdl, *c.ch);
        }
        // Handshakes that do not finish in time.
        std::vector<connection_handle> late;
        for (const auto& [hdl, c] : s.conns) {
          if (!c.ch->established() && now - c.opened > handshake_deadline) late.push_back(hdl);
        }
        for (auto hdl : late) close_conn(self, hdl, "handshake did not finish in time");
        // Anonymous on purpose: a broker's termination in CAF 0.17 does not drain its mailbox, so a
        // timer message that arrives after the stop stays there; with the broker as its sender it
        // would hold the broker alive (a reference cycle: the shutdown leak LeakSanitizer reported).
        caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), reconnect_interval, connect_atom::value);
      },
      [self, ctx](members_atom, std::shared_ptr<const member_registry> reg) {
        take_registry(self, ctx, std::move(reg));
        follow_registry(self, ctx);
      },
      [self, ctx](raft_config_atom, const std::vector<uint64_t>& ids) {
        auto& s = self->state;
        s.raft_config.emplace(ids.begin(), ids.end());
        for (auto it = s.departing.begin(); it != s.departing.end();) {
          if (s.raft_config->count(it->first) != 0) {
            ++it;
            continue;
          }
          spdlog::info("peer: node {} left the Raft configuration; closing its link", it->first);
          it = s.departing.erase(it);
        }
        follow_registry(self, ctx);
      },
      [self, apply](peer_out_atom, const cs::message& m) {
        auto& s = self->state;
        // Raft retransmits what it sends, except a proposal a follower forwards to its leader:
        // dropped, nothing would answer its clients before the submit timeout.
        auto dropped = [&] {
          ++s.dropped;
          if (m.type == cs::message_type::forward_proposal) {
            if (auto hashes = hashes_of_forward(m); !hashes.empty()) self->send(apply, proposals_lost_atom::value, std::move(hashes));
          }
        };
        const auto link = link_to(self, m.to);
        if (!link) return dropped();
        const auto hdl = *link;
        auto& c = s.conns.at(hdl);
        if (self->wr_buf(hdl).size() > peer_write_buffer_bytes_max) return dropped();
        const auto body = net::encode_peer_raft(m);
        if (auto r = c.ch->send(crypto::as_bytes(body)); !r) {
          dropped();
          if (c.ch->closed_because()) return close_conn(self, hdl, r.error().message);
          spdlog::warn("peer: message to {} not sent: {}", m.to, r.error().message);
          return;
        }
        write_output(self, hdl, *c.ch);
      },
      [self, ctx](const caf::io::new_connection_msg& msg) {
        auto& s = self->state;
        std::size_t pending = 0;
        for (const auto& [h, c] : s.conns) pending += c.ch->established() ? 0 : 1;
        if (pending >= unauthenticated_connections_max) {
          spdlog::warn("peer: too many unauthenticated connections; refusing {}", self->remote_addr(msg.handle));
          self->close(msg.handle);
          return;
        }
        auto ch = net::peer_channel::create(channel_config(self, ctx, net::noise::role::responder));
        if (!ch) {
          self->close(msg.handle);
          return;
        }
        auto& c = s.conns[msg.handle];
        c.ch.emplace(std::move(*ch));
        c.opened = std::chrono::steady_clock::now();
        self->configure_read(msg.handle, caf::io::receive_policy::at_most(read_chunk_min_bytes));
      },
      [self, ctx, raft](const caf::io::new_data_msg& msg) {
        auto& s = self->state;
        auto it = s.conns.find(msg.handle);
        if (it == s.conns.end()) return;
        auto& c = it->second;
        adapt_read(self, msg.handle, msg.buf.size(), c.read_size);
        const bool was_established = c.ch->established();
        std::vector<std::vector<uint8_t>> messages;
        auto r = c.ch->on_bytes(net::byte_span(reinterpret_cast<const uint8_t*>(msg.buf.data()), msg.buf.size()), messages);
        if (!r) {
          return close_conn(self, msg.handle, std::string(net::to_string(r.error().code)) + ": " + r.error().message);
        }
        write_output(self, msg.handle, *c.ch);
        if (c.ch->established() && !was_established) {
          const auto id = node_id_of_key(*c.ch->remote_node_key());
          if (c.outbound && id != c.peer) return close_conn(self, msg.handle, "reached another node than dialled");
          c.peer = id;
          spdlog::info("peer: {} link with node {} ({}) authenticated", c.outbound ? "outbound" : "inbound", id,
                       self->remote_addr(msg.handle));
        }
        for (const auto& body : messages) {
          auto frame = net::decode_peer_frame(std::string_view(reinterpret_cast<const char*>(body.data()), body.size()));
          if (!frame) return close_conn(self, msg.handle, "malformed frame: " + frame.error().message);
          if (!frame->raft) return close_conn(self, msg.handle, "unexpected hello on an authenticated link");
          auto& m = *frame->raft;
          if (m.from != c.peer || m.to != ctx->self) {
            return close_conn(self, msg.handle, "message from " + std::to_string(m.from) + " to " + std::to_string(m.to) +
                                                    " on the link of node " + std::to_string(c.peer));
          }
          self->send(raft, peer_in_atom::value, std::move(m));
        }
      },
      [self](const caf::io::connection_closed_msg& msg) {
        auto& s = self->state;
        auto it = s.conns.find(msg.handle);
        if (it == s.conns.end()) return;
        if (it->second.outbound) {
          spdlog::info("peer: link to {} closed; reconnecting", it->second.peer);
          if (auto o = s.out.find(it->second.peer); o != s.out.end()) o->second.hdl.reset();
        }
        s.conns.erase(it);
      },
      [](const caf::io::acceptor_closed_msg&) {},
      [self](stop_atom) {
        self->close_all();
        self->quit();
      },
  };
}

// ---- Client broker ----------------------------------------------------------------------------

// Who asked: the handle and the serial of that connection. A handle is the socket's number, which
// the OS hands to the next client once this one is gone; an answer that outlives its connection
// (a submit waits up to the submit timeout) must not reach that next client, whose request ids
// start at 1 too: it would take another command's outcome for its own (found by
// tests/cluster_faults).
struct client_ref {
  connection_handle hdl;
  uint64_t serial = 0;
};

// How often the client broker answers the submissions past their deadline (submission_table.hpp);
// the deadline is a backstop (submit_timeout_ms + 2 s: the apply actor answers its own timeout
// first), so a quarter second late is fine.
constexpr auto submit_sweep_interval = std::chrono::milliseconds(250);

struct client_broker_state {
  struct conn {
    net::frame_reader reader;
    uint64_t serial = 0;  // unique per accepted connection (handles are socket numbers, reused)
    std::size_t read_size = read_chunk_min_bytes;  // adapt_read
  };
  std::map<connection_handle, conn> conns;
  uint64_t next_serial = 1;
  // Submissions (and admin requests) waiting for ingest's answer; its size is the in-flight count
  // bounded by submit_inflight_max. Set up with the timeout when the broker starts.
  submission_table<client_ref> submits{std::chrono::milliseconds(0)};
  bool sweep_armed = false;  // a timer_atom to self is on its way
  bool stopping = false;
  static inline const char* name = "client_broker";
};

namespace {

using client_self = caf::stateful_actor<client_broker_state, caf::io::broker>*;

void reply(client_self self, client_ref to, uint64_t id, net::client_response r) {
  auto c = self->state.conns.find(to.hdl);
  if (c == self->state.conns.end() || c->second.serial != to.serial) return;  // the client went away
  const auto hdl = to.hdl;
  if (!self->valid(hdl)) return;
  r.id = id;
  auto& buf = self->wr_buf(hdl);
  if (buf.size() > client_write_buffer_bytes_max) {
    spdlog::warn("client: {} does not read its answers; closing", self->remote_addr(hdl));
    self->state.conns.erase(hdl);
    self->close(hdl);
    return;
  }
  net::append_frame(buf, net::encode_client_response(r));
  self->flush(hdl);
}

// The submission numbered `n` leaves the table (the in-flight gauge follows): who to answer, or
// nothing if the sweep already answered it.
std::optional<submission_table<client_ref>::waiting> take_submission(client_self self, const node_context& ctx, uint64_t n) {
  auto w = self->state.submits.take(n);
  ctx.metrics->client_inflight_submissions.store(static_cast<int64_t>(self->state.submits.size()), std::memory_order_relaxed);
  return w;
}

// Keeps one sweep timer on its way while submissions wait (none when idle). Anonymous, like the
// peer broker's reconnect timer and for the same reason: a sweep that reaches the broker after it
// stopped stays in its mailbox (CAF 0.17 does not drain a broker's), and with the broker as its
// sender it would keep the broker alive for good (tests/node/broker_teardown_test.cpp).
void arm_submit_sweep(client_self self) {
  auto& st = self->state;
  if (st.sweep_armed || st.submits.empty()) return;
  st.sweep_armed = true;
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), submit_sweep_interval, timer_atom::value);
}

// `energoctl log-level [LEVEL]` (docs/operations.md "Logs"): the query name `log_level`, served
// here, never by the apply actor (so the HTTP gateway, which asks the actors directly, cannot
// reach it). Accepted only on a loopback connection: the log level is this process's own knob,
// not replicated state, and changing it needs the same trust as sending SIGHUP - a shell on the
// machine. An admin signature would need a replay guard of its own outside the replicated registry.
bool is_loopback(const std::string& addr) {
  return addr.rfind("127.", 0) == 0 || addr == "::1" || addr.rfind("::ffff:127.", 0) == 0;
}

std::string level_name(spdlog::level::level_enum l) {
  return l == spdlog::level::warn ? "warn" : std::string(spdlog::level::to_string_view(l).data(), spdlog::level::to_string_view(l).size());
}

net::client_response log_level_answer(const std::string& remote, const std::string& params_json) {
  if (!is_loopback(remote)) {
    spdlog::warn("client: log_level refused from {} (loopback only)", remote);
    return net::client_response::refused(net::client_errc::not_supported, "log_level is accepted only on a loopback connection to the client port");
  }
  const auto p = nlohmann::json::parse(params_json.empty() ? "{}" : params_json, nullptr, false);
  if (!p.is_object() || p.size() > 1 || (p.size() == 1 && (!p.contains("level") || !p["level"].is_string()))) {
    return net::client_response::refused(net::client_errc::malformed, "log_level takes {} or {\"level\": \"trace|debug|info|warn|error\"}");
  }
  nlohmann::json j;
  j["previous"] = level_name(spdlog::get_level());
  if (p.contains("level")) {
    const auto level = p["level"].get<std::string>();
    if (level != "trace" && level != "debug" && level != "info" && level != "warn" && level != "error") {
      return net::client_response::refused(net::client_errc::malformed, "log level '" + level.substr(0, 16) + "' is not trace, debug, info, warn or error");
    }
    spdlog::set_level(spdlog::level::from_str(level));
    // Logged at the new level or info, whichever is higher, so that the change always appears.
    spdlog::log(std::max(spdlog::get_level(), spdlog::level::info), "log level {} -> {} (energoctl log-level, from {})",
                j["previous"].get<std::string>(), level, remote);
  }
  j["level"] = level_name(spdlog::get_level());
  net::client_response r;
  r.what = net::client_response::kind::query;
  r.text = j.dump();
  return r;
}

}  // namespace

caf::behavior client_broker(caf::stateful_actor<client_broker_state, caf::io::broker>* self, ctx_ptr ctx,
                            raft_actor raft, apply_actor apply, ingest_actor ingest, bind_promise bound) {
  if (!listen(self, ctx->client_listen, *bound)) return {};
  const auto timeout = std::chrono::milliseconds(ctx->submit_timeout_ms + 2000);
  self->state.submits = submission_table<client_ref>(timeout);
  return {
      [self, ctx](timer_atom) {
        // The submission sweep: answer `timeout` to whatever is past its deadline.
        auto& st = self->state;
        st.sweep_armed = false;
        for (auto& w : st.submits.expire(std::chrono::steady_clock::now())) {
          ctx->metrics->refused(static_cast<uint16_t>(net::client_errc::timeout));
          reply(self, w.to, w.id,
                net::client_response::refused(net::client_errc::timeout, "no answer within " + std::to_string(st.submits.timeout().count()) +
                                                                               " ms; the outcome is unknown: resubmit the same command"));
        }
        ctx->metrics->client_inflight_submissions.store(static_cast<int64_t>(st.submits.size()), std::memory_order_relaxed);
        arm_submit_sweep(self);
      },
      [self, ctx](const caf::io::new_connection_msg& msg) {
        if (self->state.stopping || self->state.conns.size() >= ctx->client_connections_max) {
          self->close(msg.handle);
          return;
        }
        auto& st = self->state;
        st.conns.insert_or_assign(msg.handle, client_broker_state::conn{net::frame_reader(net::limits::client_frame_bytes_max),
                                                                        st.next_serial++});
        ctx->metrics->client_connections.store(static_cast<int64_t>(st.conns.size()), std::memory_order_relaxed);
        self->configure_read(msg.handle, caf::io::receive_policy::at_most(read_chunk_min_bytes));
      },
      [self, ctx, raft, apply, ingest, timeout](const caf::io::new_data_msg& msg) {
        auto it = self->state.conns.find(msg.handle);
        if (it == self->state.conns.end()) return;
        const client_ref hdl{msg.handle, it->second.serial};
        auto drop = [self, hdl](const std::string& reason) {
          spdlog::warn("client: closing connection {}: {}", self->remote_addr(hdl.hdl), reason);
          self->state.conns.erase(hdl.hdl);
          self->close(hdl.hdl);
        };
        adapt_read(self, msg.handle, msg.buf.size(), it->second.read_size);
        it->second.reader.feed(msg.buf);
        for (;;) {
          auto cit = self->state.conns.find(hdl.hdl);
          if (cit == self->state.conns.end()) return;
          auto body = cit->second.reader.next();
          if (!body) return drop(std::string(net::to_string(body.error().code)) + ": " + body.error().message);
          if (!body->has_value()) return;
          auto req = net::decode_client_request(**body);
          if (!req) return drop("malformed request: " + req.error().message);
          const uint64_t id = req->id;
          if (self->state.stopping) {
            reply(self, hdl, id, net::client_response::refused(net::client_errc::shutting_down, "the node is shutting down"));
            continue;
          }
          switch (req->what) {
            case net::client_request::kind::submit:
            case net::client_request::kind::admin: {
              // Both are signed submissions through ingest and share the in-flight bound.
              auto& subs = self->state.submits;
              if (subs.size() >= ctx->submit_inflight_max) {
                ctx->metrics->refused(static_cast<uint16_t>(net::client_errc::busy));
                reply(self, hdl, id, net::client_response::refused(net::client_errc::busy, "the node's submission queue is full; retry"));
                break;
              }
              // No CAF request timeout (submission_table.hpp says why): the table's deadline and
              // the sweep answer a submission nobody answers.
              const uint64_t n = subs.add(hdl, id, std::chrono::steady_clock::now());
              ctx->metrics->client_inflight_submissions.store(static_cast<int64_t>(subs.size()), std::memory_order_relaxed);
              arm_submit_sweep(self);
              auto on_answer = [self, ctx, n](net::client_response& r) {
                auto w = take_submission(self, *ctx, n);
                if (!w) return;  // already answered `timeout` by the sweep
                if (r.what == net::client_response::kind::failure) ctx->metrics->refused(static_cast<uint16_t>(r.failure.code));
                reply(self, w->to, w->id, std::move(r));
              };
              auto on_error = [self, ctx, n](caf::error& e) {
                auto w = take_submission(self, *ctx, n);
                if (!w) return;
                ctx->metrics->refused(static_cast<uint16_t>(net::client_errc::timeout));
                reply(self, w->to, w->id, net::client_response::refused(net::client_errc::timeout, "no answer: " + self->system().render(e)));
              };
              if (req->what == net::client_request::kind::submit) {
                self->request(ingest, caf::infinite, submit_atom::value, std::move(req->command)).then(on_answer, on_error);
              } else {
                self->request(ingest, caf::infinite, admin_atom::value, std::move(req->command)).then(on_answer, on_error);
              }
              break;
            }
            case net::client_request::kind::members:
            case net::client_request::kind::cluster_info: {
              const bool members = req->what == net::client_request::kind::members;
              auto on_text = [self, hdl, id, members](std::string& text) {
                net::client_response r;
                r.what = members ? net::client_response::kind::members : net::client_response::kind::cluster_info;
                r.text = std::move(text);
                reply(self, hdl, id, std::move(r));
              };
              auto on_error = [self, hdl, id](caf::error&) {
                reply(self, hdl, id, net::client_response::refused(net::client_errc::internal, "no answer from the node's actors"));
              };
              if (members) self->request(raft, timeout, members_atom::value).then(on_text, on_error);
              else self->request(apply, timeout, cluster_atom::value).then(on_text, on_error);
              break;
            }
            case net::client_request::kind::checkpoint: {
              // Served from this replica's checkpoint book (every replica checked each record
              // against its own root), so any node answers.
              const bool prove = req->checkpoint.address.has_value();
              self->request(apply, timeout, checkpoint_query_atom::value, req->checkpoint.address.value_or(address_bytes{}),
                            req->checkpoint.at_index, prove)
                  .then(
                      [self, hdl, id](std::string& text) {
                        net::client_response r;
                        r.what = net::client_response::kind::checkpoint;
                        r.text = std::move(text);
                        reply(self, hdl, id, std::move(r));
                      },
                      [self, hdl, id](caf::error&) {
                        reply(self, hdl, id, net::client_response::refused(net::client_errc::internal, "no answer from the node's actors"));
                      });
              break;
            }
            case net::client_request::kind::status: {
              self->request(raft, timeout, status_atom::value)
                  .then(
                      [self, hdl, id, ctx, apply, timeout](const raft_view& rv) {
                        self->request(apply, timeout, status_atom::value)
                            .then(
                                [self, hdl, id, ctx, rv](const apply_view& av) {
                                  net::client_response r;
                                  r.what = net::client_response::kind::status;
                                  auto& s = r.status;
                                  s.node_id = ctx->self;
                                  s.name = ctx->name;
                                  s.role = rv.role;
                                  s.term = rv.term;
                                  s.leader = rv.leader;
                                  s.commit_index = rv.commit_index;
                                  s.last_index = rv.last_index;
                                  s.snapshot_index = rv.snapshot_index;
                                  s.voters = rv.voters;
                                  s.cluster_id = ctx->cluster_id;
                                  s.applied_index = av.applied_index;
                                  s.state_root = av.state_root;
                                  s.ledger_time_ms = av.ledger_time_ms;
                                  s.epoch = av.epoch;
                                  reply(self, hdl, id, std::move(r));
                                },
                                [self, hdl, id](caf::error&) {
                                  reply(self, hdl, id, net::client_response::refused(net::client_errc::internal, "apply actor did not answer"));
                                });
                      },
                      [self, hdl, id](caf::error&) {
                        reply(self, hdl, id, net::client_response::refused(net::client_errc::internal, "raft actor did not answer"));
                      });
              break;
            }
            case net::client_request::kind::account: {
              const address_bytes address = req->account.address;
              auto on_error = [self, hdl, id](caf::error&) {
                reply(self, hdl, id, net::client_response::refused(net::client_errc::timeout, "read not served"));
              };
              if (req->account.stale) {
                self->request(apply, timeout, read_atom::value, uint64_t{0}, address)
                    .then([self, hdl, id](net::client_response& r) { reply(self, hdl, id, std::move(r)); }, on_error);
                break;
              }
              // Linearizable: the leader confirms its leadership (read index), then we wait until
              // this replica applied that index.
              self->request(raft, timeout, read_index_atom::value)
                  .then(
                      [self, hdl, id, apply, address, timeout, on_error](uint16_t code, uint64_t index) {
                        if (code != 0) {
                          reply(self, hdl, id, net::client_response::refused(static_cast<net::client_errc>(code), "read index not confirmed; retry"));
                          return;
                        }
                        self->request(apply, timeout, read_atom::value, index, address)
                            .then([self, hdl, id](net::client_response& r) { reply(self, hdl, id, std::move(r)); },
                                  on_error);
                      },
                      on_error);
              break;
            }
            case net::client_request::kind::query: {
              if (req->query.name == "log_level") {
                reply(self, hdl, id, log_level_answer(self->remote_addr(hdl.hdl), req->query.params_json));
                break;
              }
              // Same consistency as account reads: linearizable unless `stale`.
              auto on_error = [self, hdl, id](caf::error&) {
                reply(self, hdl, id, net::client_response::refused(net::client_errc::timeout, "query not served"));
              };
              auto q = std::make_shared<net::query_request>(std::move(req->query));
              auto ask = [self, hdl, id, apply, timeout, q, on_error](uint64_t index) {
                self->request(apply, timeout, query_atom::value, index, q->name, q->params_json)
                    .then([self, hdl, id](net::client_response& r) { reply(self, hdl, id, std::move(r)); }, on_error);
              };
              if (q->stale) {
                ask(0);
                break;
              }
              self->request(raft, timeout, read_index_atom::value)
                  .then(
                      [self, hdl, id, ask](uint16_t code, uint64_t index) {
                        if (code != 0) {
                          reply(self, hdl, id, net::client_response::refused(static_cast<net::client_errc>(code), "read index not confirmed; retry"));
                          return;
                        }
                        ask(index);
                      },
                      on_error);
              break;
            }
          }
        }
      },
      [self, ctx](const caf::io::connection_closed_msg& msg) {
        self->state.conns.erase(msg.handle);
        ctx->metrics->client_connections.store(static_cast<int64_t>(self->state.conns.size()), std::memory_order_relaxed);
      },
      [](const caf::io::acceptor_closed_msg&) {},
      [self](stop_atom) {
        // Stop accepting work: close the listening socket; connections get `shutting_down`.
        self->state.stopping = true;
        self->close_all();
        self->quit();
      },
  };
}

// The broker is dynamically typed; its handle is cast to the interface of what it is sent
// (messages.hpp, peer_broker_actor), which its behaviour above handles.
peer_broker_actor spawn_peer_broker(caf::actor_system& sys, ctx_ptr ctx, raft_actor raft, apply_actor apply,
                                    bind_promise bound) {
  return caf::actor_cast<peer_broker_actor>(
      sys.middleman().spawn_broker(peer_broker, std::move(ctx), std::move(raft), std::move(apply), std::move(bound)));
}

caf::actor spawn_client_broker(caf::actor_system& sys, ctx_ptr ctx, raft_actor raft, apply_actor apply,
                               ingest_actor ingest, bind_promise bound) {
  return sys.middleman().spawn_broker(client_broker, std::move(ctx), std::move(raft), std::move(apply),
                                      std::move(ingest), std::move(bound));
}

}  // namespace energo::actors
