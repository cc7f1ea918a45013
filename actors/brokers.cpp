// Peer and client brokers (CAF io::broker with our own framing; CAF's BASP has no
// authentication and its wire format follows CAF's version). Both run on the scheduler: they
// only parse, encode and move bytes, never block. Listening sockets bind the configured host
// (loopback by default).
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/actors_internal.hpp"
#include "actors/messages.hpp"
#include "actors/peer_transport.hpp"

namespace energo::actors {

namespace cs = energo::consensus;
using caf::io::connection_handle;

namespace {
constexpr auto reconnect_interval = std::chrono::milliseconds(250);
// Bytes waiting in one peer connection's write buffer; beyond it Raft messages are dropped (Raft
// retransmits) instead of buffering without bound for a slow or stuck peer.
constexpr std::size_t peer_write_buffer_bytes_max = 32u << 20;
constexpr std::size_t client_write_buffer_bytes_max = 4u << 20;
constexpr std::size_t read_chunk_bytes = 64u << 10;

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

struct peer_broker_state {
  struct outbound {
    std::optional<connection_handle> hdl;
    outbound_link link;
  };
  struct inbound {
    inbound_link link;
    cs::node_id from = cs::no_node;  // set by the hello
  };
  std::map<cs::node_id, outbound> out;
  std::map<connection_handle, inbound> in;
  std::map<connection_handle, cs::node_id> out_by_hdl;
  uint64_t dropped = 0;
  static inline const char* name = "peer_broker";
};

caf::behavior peer_broker(caf::stateful_actor<peer_broker_state, caf::io::broker>* self, ctx_ptr ctx, caf::actor raft,
                          bind_promise bound) {
  if (!listen(self, ctx->peer_listen, *bound)) return {};
  for (const auto& [id, p] : ctx->peers) {
    if (id != ctx->self) self->state.out[id];
  }
  self->send(self, connect_atom::value);
  auto drop_in = [self](connection_handle hdl, const std::string& reason) {
    spdlog::warn("peer: closing inbound connection {}: {}", self->remote_addr(hdl), reason);
    self->state.in.erase(hdl);
    self->close(hdl);
  };
  return {
      [self, ctx](connect_atom) {
        for (auto& [id, o] : self->state.out) {
          if (o.hdl) continue;
          const auto& ep = ctx->peers.at(id).peer;
          // Loopback / LAN connect: CAF 0.17 connects synchronously; a refused port fails at once.
          auto hdl = self->add_tcp_scribe(ep.host, ep.port);
          if (!hdl) continue;
          o.hdl = *hdl;
          self->state.out_by_hdl[*hdl] = id;
          self->configure_read(*hdl, caf::io::receive_policy::at_most(read_chunk_bytes));
          auto& buf = self->wr_buf(*hdl);
          o.link.seal(buf, net::encode_peer_hello({ctx->cluster_id, ctx->self, net::limits::wire_version}));
          self->flush(*hdl);
          spdlog::info("peer: connected to {} ({}:{})", id, ep.host, ep.port);
        }
        self->delayed_send(self, reconnect_interval, connect_atom::value);
      },
      [self](peer_out_atom, const cs::message& m) {
        auto it = self->state.out.find(m.to);
        if (it == self->state.out.end() || !it->second.hdl) {
          ++self->state.dropped;
          return;
        }
        auto& buf = self->wr_buf(*it->second.hdl);
        if (buf.size() > peer_write_buffer_bytes_max) {
          ++self->state.dropped;
          return;
        }
        it->second.link.seal(buf, net::encode_peer_raft(m));
        self->flush(*it->second.hdl);
      },
      [self](const caf::io::new_connection_msg& msg) {
        self->state.in.emplace(msg.handle, peer_broker_state::inbound{});
        self->configure_read(msg.handle, caf::io::receive_policy::at_most(read_chunk_bytes));
      },
      [self, ctx, raft, drop_in](const caf::io::new_data_msg& msg) {
        auto it = self->state.in.find(msg.handle);
        if (it == self->state.in.end()) return;  // data on an outbound link: peers never answer there
        std::vector<std::string> bodies;
        if (auto r = it->second.link.open(msg.buf, bodies); !r) {
          for (auto& b : bodies) (void)b;
          drop_in(msg.handle, std::string(net::to_string(r.error().code)) + ": " + r.error().message);
          return;
        }
        for (const auto& body : bodies) {
          auto frame = net::decode_peer_frame(body);
          if (!frame) {
            drop_in(msg.handle, "malformed frame: " + frame.error().message);
            return;
          }
          auto& conn = self->state.in.at(msg.handle);
          if (conn.from == cs::no_node) {
            if (!frame->hello) {
              drop_in(msg.handle, "first frame is not a hello");
              return;
            }
            if (frame->hello->cluster_id != ctx->cluster_id) {
              drop_in(msg.handle, "wrong cluster id '" + frame->hello->cluster_id + "'");
              return;
            }
            if (frame->hello->node == ctx->self || ctx->peers.count(frame->hello->node) == 0) {
              drop_in(msg.handle, "node " + std::to_string(frame->hello->node) + " is not a member");
              return;
            }
            conn.from = frame->hello->node;
            spdlog::info("peer: accepted node {} from {}", conn.from, self->remote_addr(msg.handle));
            continue;
          }
          if (!frame->raft) {
            drop_in(msg.handle, "second hello");
            return;
          }
          auto& m = *frame->raft;
          if (m.from != conn.from || m.to != ctx->self) {
            drop_in(msg.handle, "message from " + std::to_string(m.from) + " to " + std::to_string(m.to) +
                                    " on the link of node " + std::to_string(conn.from));
            return;
          }
          self->send(raft, peer_in_atom::value, std::move(m));
        }
      },
      [self](const caf::io::connection_closed_msg& msg) {
        self->state.in.erase(msg.handle);
        if (auto it = self->state.out_by_hdl.find(msg.handle); it != self->state.out_by_hdl.end()) {
          spdlog::info("peer: link to {} closed; reconnecting", it->second);
          self->state.out[it->second].hdl.reset();
          self->state.out_by_hdl.erase(it);
        }
      },
      [](const caf::io::acceptor_closed_msg&) {},
      [self](stop_atom) {
        self->close_all();
        self->quit();
      },
  };
}

// ---- Client broker ----------------------------------------------------------------------------

struct client_broker_state {
  std::map<connection_handle, net::frame_reader> conns;
  uint32_t inflight = 0;
  bool stopping = false;
  static inline const char* name = "client_broker";
};

namespace {

using client_self = caf::stateful_actor<client_broker_state, caf::io::broker>*;

void reply(client_self self, connection_handle hdl, uint64_t id, net::client_response r) {
  if (!self->valid(hdl)) return;  // the client went away
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

net::client_response fail(net::client_errc code, std::string message) {
  net::client_response r;
  r.what = net::client_response::kind::failure;
  r.failure = net::client_failure{code, std::move(message), 0};
  return r;
}

}  // namespace

caf::behavior client_broker(caf::stateful_actor<client_broker_state, caf::io::broker>* self, ctx_ptr ctx,
                            caf::actor raft, caf::actor apply, caf::actor ingest, bind_promise bound) {
  if (!listen(self, ctx->client_listen, *bound)) return {};
  const auto timeout = std::chrono::milliseconds(ctx->submit_timeout_ms + 2000);
  return {
      [self, ctx](const caf::io::new_connection_msg& msg) {
        if (self->state.stopping || self->state.conns.size() >= ctx->client_connections_max) {
          self->close(msg.handle);
          return;
        }
        self->state.conns.emplace(msg.handle, net::frame_reader(net::limits::client_frame_bytes_max));
        self->configure_read(msg.handle, caf::io::receive_policy::at_most(read_chunk_bytes));
      },
      [self, ctx, raft, apply, ingest, timeout](const caf::io::new_data_msg& msg) {
        auto it = self->state.conns.find(msg.handle);
        if (it == self->state.conns.end()) return;
        const auto hdl = msg.handle;
        auto drop = [self, hdl](const std::string& reason) {
          spdlog::warn("client: closing connection {}: {}", self->remote_addr(hdl), reason);
          self->state.conns.erase(hdl);
          self->close(hdl);
        };
        it->second.feed(msg.buf);
        for (;;) {
          auto cit = self->state.conns.find(hdl);
          if (cit == self->state.conns.end()) return;
          auto body = cit->second.next();
          if (!body) return drop(std::string(net::to_string(body.error().code)) + ": " + body.error().message);
          if (!body->has_value()) return;
          auto req = net::decode_client_request(**body);
          if (!req) return drop("malformed request: " + req.error().message);
          const uint64_t id = req->id;
          if (self->state.stopping) {
            reply(self, hdl, id, fail(net::client_errc::shutting_down, "the node is shutting down"));
            continue;
          }
          switch (req->what) {
            case net::client_request::kind::submit: {
              if (self->state.inflight >= ctx->submit_inflight_max) {
                reply(self, hdl, id, fail(net::client_errc::busy, "the node's submission queue is full; retry"));
                break;
              }
              ++self->state.inflight;
              self->request(ingest, timeout, submit_atom::value, std::move(req->command))
                  .then(
                      [self, hdl, id](net::client_response& r) {
                        --self->state.inflight;
                        reply(self, hdl, id, std::move(r));
                      },
                      [self, hdl, id](caf::error& e) {
                        --self->state.inflight;
                        reply(self, hdl, id, fail(net::client_errc::timeout, "no answer: " + self->system().render(e)));
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
                                  reply(self, hdl, id, fail(net::client_errc::internal, "apply actor did not answer"));
                                });
                      },
                      [self, hdl, id](caf::error&) {
                        reply(self, hdl, id, fail(net::client_errc::internal, "raft actor did not answer"));
                      });
              break;
            }
            case net::client_request::kind::account: {
              const address_bytes address = req->account.address;
              auto on_error = [self, hdl, id](caf::error&) {
                reply(self, hdl, id, fail(net::client_errc::timeout, "read not served"));
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
                          reply(self, hdl, id, fail(static_cast<net::client_errc>(code), "read index not confirmed; retry"));
                          return;
                        }
                        self->request(apply, timeout, read_atom::value, index, address)
                            .then([self, hdl, id](net::client_response& r) { reply(self, hdl, id, std::move(r)); },
                                  on_error);
                      },
                      on_error);
              break;
            }
          }
        }
      },
      [self](const caf::io::connection_closed_msg& msg) { self->state.conns.erase(msg.handle); },
      [](const caf::io::acceptor_closed_msg&) {},
      [self](stop_atom) {
        // Stop accepting work: close the listening socket; connections get `shutting_down`.
        self->state.stopping = true;
        self->close_all();
        self->quit();
      },
  };
}

caf::actor spawn_peer_broker(caf::actor_system& sys, ctx_ptr ctx, caf::actor raft, bind_promise bound) {
  return sys.middleman().spawn_broker(peer_broker, std::move(ctx), std::move(raft), std::move(bound));
}

caf::actor spawn_client_broker(caf::actor_system& sys, ctx_ptr ctx, caf::actor raft, caf::actor apply,
                               caf::actor ingest, bind_promise bound) {
  return sys.middleman().spawn_broker(client_broker, std::move(ctx), std::move(raft), std::move(apply),
                                      std::move(ingest), std::move(bound));
}

}  // namespace energo::actors
