#include "actors/http_gateway.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <thread>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "actors/web_assets.hpp"
#include "crypto/bytes.hpp"
#include "ledger/commands.hpp"
#include "tools/command_json.hpp"

namespace energo::actors {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Stable error codes (docs/node.md "HTTP API"): the node's own (net::client_errc names, ledger
// refusal names) plus the gateway's: malformed_json, invalid_command, unsigned, bad_request,
// not_found, payload_too_large, uri_too_long, too_many_connections, too_many_streams, not_ready,
// internal.
void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message) {
  json j;
  j["error"]["code"] = code;
  j["error"]["message"] = message;
  res.status = status;
  res.set_content(dump(j), "application/json");
}

int status_of(net::client_errc code) {
  switch (code) {
    case net::client_errc::busy: return 503;
    case net::client_errc::malformed: return 400;
    case net::client_errc::bad_signature: return 401;
    case net::client_errc::system_command: return 403;
    case net::client_errc::no_leader: return 503;
    case net::client_errc::timeout: return 504;
    case net::client_errc::shutting_down: return 503;
    case net::client_errc::not_supported: return 404;
    case net::client_errc::internal: return 500;
    case net::client_errc::too_large: return 413;
  }
  return 500;
}

void send_failure(httplib::Response& res, const net::client_failure& f) {
  send_error(res, status_of(f.code), net::to_string(f.code), f.message);
  if (f.code == net::client_errc::busy || f.code == net::client_errc::no_leader) res.set_header("Retry-After", "1");
}

json outcome_json(const net::command_outcome& o) {
  json j;
  j["index"] = o.index;
  j["accepted"] = o.accepted;
  j["code"] = o.accepted ? "ok" : o.code_name;
  if (!o.message.empty()) j["message"] = o.message;
  j["duplicate"] = o.duplicate;
  j["minted_wh"] = o.minted_wh;
  j["burned_wh"] = o.burned_wh;
  j["fees_units"] = o.fees_units;
  j["order_id"] = o.order_id;
  j["filled_wh"] = o.filled_wh;
  j["trades"] = o.trades;
  j["session_id"] = o.session_id;
  j["created_account"] = o.created_account;
  j["epochs_closed"] = o.epochs_closed;
  return j;
}

// One URL parameter as a JSON value: "true"/"false" → bool, a decimal integer → number, else a
// string (docs/node.md: a query's parameters come from the URL).
json param_value(const std::string& v) {
  if (v == "true") return true;
  if (v == "false") return false;
  if (!v.empty() && v.size() <= 19) {
    int64_t n = 0;
    const auto* end = v.data() + v.size();
    const auto r = std::from_chars(v.data(), end, n);
    const bool leading_zero = v.size() > 1 && (v[0] == '0' || (v[0] == '-' && v[1] == '0'));
    if (r.ec == std::errc() && r.ptr == end && !leading_zero) return n;
  }
  return v;
}

// The friendly aliases of named queries (actors/query.hpp). A path parameter, if any, becomes the
// query parameter `path_param`; URL parameters are added as for /api/v1/query/{name}. Names added
// later answer not_supported (404) until the node knows them.
struct query_alias {
  const char* pattern;
  const char* query;
  const char* path_param;  // nullptr: none
};
constexpr query_alias query_aliases[] = {
    {R"(/api/v1/accounts/([1-9A-HJ-NP-Za-km-z]{1,64}))", "account", "address"},
    {R"(/api/v1/accounts/([1-9A-HJ-NP-Za-km-z]{1,64})/analytics)", "analytics", "address"},
    {R"(/api/v1/accounts/([1-9A-HJ-NP-Za-km-z]{1,64})/statement)", "statement", "address"},
    {R"(/api/v1/accounts/([1-9A-HJ-NP-Za-km-z]{1,64})/history)", "account_history", "address"},
    {R"(/api/v1/accounts/([1-9A-HJ-NP-Za-km-z]{1,64})/orders)", "orders", "address"},
    {"/api/v1/summary", "summary", nullptr},
    {"/api/v1/book", "book", nullptr},
    {"/api/v1/trades", "trades", nullptr},
    {"/api/v1/epochs", "epochs", nullptr},
    {"/api/v1/ev/sessions", "ev_sessions", nullptr},
};

// Connections beyond `connections_max` (queued or served) are handed to a one-thread lane whose
// requests all get 503 too_many_connections; the lane's own backlog is bounded too (beyond it the
// accepting thread answers, which slows accepting down: back-pressure instead of memory).
thread_local bool refusal_lane = false;

class gateway_task_queue final : public httplib::TaskQueue {
 public:
  explicit gateway_task_queue(std::size_t connections_max)
      : max_(connections_max), pool_(connections_max), refusals_(1) {}
  void enqueue(std::function<void()> fn) override {
    if (active_.fetch_add(1) < max_) {
      pool_.enqueue([this, fn = std::move(fn)] {
        fn();
        active_.fetch_sub(1);
      });
      return;
    }
    active_.fetch_sub(1);
    if (refused_pending_.fetch_add(1) >= limits::http_refused_pending_max) {
      refused_pending_.fetch_sub(1);
      refusal_lane = true;
      fn();
      refusal_lane = false;
      return;
    }
    refusals_.enqueue([this, fn = std::move(fn)] {
      refusal_lane = true;
      fn();
      refusal_lane = false;
      refused_pending_.fetch_sub(1);
    });
  }
  void shutdown() override {
    pool_.shutdown();
    refusals_.shutdown();
  }

 private:
  const std::size_t max_;
  std::atomic<std::size_t> active_{0};
  std::atomic<std::size_t> refused_pending_{0};
  httplib::ThreadPool pool_;
  httplib::ThreadPool refusals_;
};

}  // namespace

struct http_gateway::impl {
  caf::actor_system& sys;
  node_handles actors;
  std::shared_ptr<const node_context> ctx;
  http_options options;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<uint32_t> inflight{0};  // submissions through this gateway

  impl(caf::actor_system& s, node_handles a, std::shared_ptr<const node_context> c, http_options o)
      : sys(s), actors(std::move(a)), ctx(std::move(c)), options(std::move(o)) {}

  std::chrono::milliseconds read_timeout() const { return std::chrono::milliseconds(options.read_timeout_ms); }

  // --- bridges to the actors (block this httplib thread only) ---

  std::optional<raft_view> raft_status() {
    caf::scoped_actor self{sys};
    std::optional<raft_view> out;
    self->request(actors.raft, read_timeout(), status_atom::value)
        .receive([&](const raft_view& v) { out = v; }, [](caf::error&) {});
    return out;
  }

  std::optional<apply_view> apply_status() {
    caf::scoped_actor self{sys};
    std::optional<apply_view> out;
    self->request(actors.apply, read_timeout(), status_atom::value)
        .receive([&](const apply_view& v) { out = v; }, [](caf::error&) {});
    return out;
  }

  // The leader's commit index confirmed by a read-index round (SPEC §6: linearizable reads), or
  // the failure.
  energo::result<uint64_t, net::client_failure> read_index() {
    caf::scoped_actor self{sys};
    energo::result<uint64_t, net::client_failure> out =
        energo::unexpected<net::client_failure>{net::client_failure{net::client_errc::timeout, "read index not confirmed", 0}};
    self->request(actors.raft, read_timeout(), read_index_atom::value)
        .receive(
            [&](uint16_t code, uint64_t index) {
              if (code == 0) out = index;
              else out = energo::unexpected<net::client_failure>{
                       net::client_failure{static_cast<net::client_errc>(code), "read index not confirmed; retry", 0}};
            },
            [](caf::error&) {});
    return out;
  }

  // A named query (actors/query.hpp), linearizable unless `stale`, written into `res`.
  void query(httplib::Response& res, const std::string& name, const std::string& params, bool stale) {
    uint64_t index = 0;
    if (!stale) {
      auto ri = read_index();
      if (!ri) return send_failure(res, ri.error());
      index = *ri;
    }
    caf::scoped_actor self{sys};
    bool answered = false;
    self->request(actors.apply, read_timeout(), query_atom::value, index, name, params)
        .receive(
            [&](net::client_response& r) {
              answered = true;
              if (r.what == net::client_response::kind::query) {
                res.status = 200;
                res.set_content(r.text, "application/json");
              } else if (r.what == net::client_response::kind::failure) {
                send_failure(res, r.failure);
              } else {
                send_error(res, 500, "internal", "unexpected answer to a query");
              }
            },
            [](caf::error&) {});
    if (!answered) send_error(res, 504, "timeout", "the query was not served in time");
  }

  // URL parameters (except `stale`) → one JSON object; false with `res` set on bad input.
  bool params_of(const httplib::Request& req, json& params, httplib::Response& res) {
    params = json::object();
    if (req.params.size() > limits::http_query_params_max) {
      send_error(res, 400, "bad_request", "too many URL parameters");
      return false;
    }
    for (const auto& [k, v] : req.params) {
      if (k == "stale") continue;
      if (params.contains(k)) {
        send_error(res, 400, "bad_request", "URL parameter '" + k + "' given twice");
        return false;
      }
      params[k] = param_value(v);
    }
    return true;
  }

  void serve_query(const httplib::Request& req, httplib::Response& res, const std::string& name, json params) {
    const std::string text = dump(params);
    if (text.size() > net::limits::query_params_bytes_max) {
      return send_error(res, 413, "payload_too_large", "query parameters above " +
                                                            std::to_string(net::limits::query_params_bytes_max) + " bytes");
    }
    const auto stale = req.get_param_value("stale");
    query(res, name, text, stale == "1" || stale == "true");
  }

  // --- routes ---

  void status(httplib::Response& res) {
    const auto rv = raft_status();
    const auto av = apply_status();
    if (!rv || !av) return send_error(res, 504, "timeout", "the node's actors did not answer");
    json j;
    j["node_id"] = ctx->self;
    j["node_id_text"] = std::to_string(ctx->self);  // JavaScript numbers hold 53 bits
    j["name"] = ctx->name;
    j["cluster_id"] = ctx->cluster_id;
    j["role"] = rv->role;
    j["term"] = rv->term;
    j["leader"] = rv->leader;
    j["leader_text"] = std::to_string(rv->leader);
    j["commit_index"] = rv->commit_index;
    j["last_index"] = rv->last_index;
    j["snapshot_index"] = rv->snapshot_index;
    j["voters"] = rv->voters;
    j["applied_index"] = av->applied_index;
    j["applied_index_memory"] = ctx->metrics->apply_applied_index.load(std::memory_order_relaxed);
    j["state_root"] = crypto::to_hex(crypto::as_bytes(av->state_root));
    j["ledger_time_ms"] = av->ledger_time_ms;
    j["epoch"] = av->epoch;
    res.set_content(dump(j), "application/json");
  }

  void members(httplib::Response& res) {
    caf::scoped_actor self{sys};
    bool answered = false;
    self->request(actors.raft, read_timeout(), members_atom::value)
        .receive(
            [&](std::string& text) {
              answered = true;
              res.set_content(text, "application/json");
            },
            [](caf::error&) {});
    if (!answered) send_error(res, 504, "timeout", "the raft actor did not answer");
  }

  void submit(const httplib::Request& req, httplib::Response& res) {
    auto doc = tools::parse_json(req.body, options.body_bytes_max);
    if (!doc) return send_error(res, 400, "malformed_json", doc.error().to_string());
    if (!doc->is_object()) return send_error(res, 400, "malformed_json", "the body must be a JSON object");
    std::string bytes;
    if (doc->size() == 1 && doc->contains("hex")) {
      // hex of ledger::encode() bytes: exactly what the client port's submit carries
      const auto& h = (*doc)["hex"];
      if (!h.is_string()) return send_error(res, 400, "invalid_command", "\"hex\" must be a string");
      auto b = crypto::from_hex(h.get<std::string>());
      if (!b) return send_error(res, 400, "invalid_command", "\"hex\" is not even-length hex");
      bytes.assign(b->begin(), b->end());
    } else {
      const auto type = doc->find("type");
      if (!doc->contains("signature") && !(type != doc->end() && type->is_string() && *type == "tick")) {
        return send_error(res, 401, "unsigned", "the command has no \"signature\": sign it first (energo-keys sign)");
      }
      auto cmd = tools::command_from_json(*doc, ctx->genesis.network, tools::signature_form::signed_form);
      if (!cmd) return send_error(res, 400, "invalid_command", cmd.error().to_string());
      const auto encoded = ledger::encode(*cmd);
      bytes.assign(encoded.begin(), encoded.end());
    }
    auto& m = *ctx->metrics;
    if (inflight.fetch_add(1) >= ctx->submit_inflight_max) {
      inflight.fetch_sub(1);
      m.refused(static_cast<uint16_t>(net::client_errc::busy));
      return send_failure(res, {net::client_errc::busy, "the node's submission queue is full; retry", 0});
    }
    std::optional<net::client_response> answer;
    {
      caf::scoped_actor self{sys};
      self->request(actors.ingest, std::chrono::milliseconds(ctx->submit_timeout_ms + 2000), submit_atom::value,
                    std::move(bytes))
          .receive([&](net::client_response& r) { answer = std::move(r); }, [](caf::error&) {});
    }
    inflight.fetch_sub(1);
    if (!answer) {
      m.refused(static_cast<uint16_t>(net::client_errc::timeout));
      return send_error(res, 504, "timeout",
                        "no answer in time; the outcome is unknown: resubmit the same signed command (it applies at "
                        "most once)");
    }
    if (answer->what == net::client_response::kind::failure) {
      m.refused(static_cast<uint16_t>(answer->failure.code));
      return send_failure(res, answer->failure);
    }
    if (answer->what != net::client_response::kind::outcome) return send_error(res, 500, "internal", "unexpected answer");
    json j;
    j["outcome"] = outcome_json(answer->outcome);
    if (!answer->outcome.accepted) {
      // A ledger rule refused it: a definite outcome, the nonce is consumed (SPEC §8).
      j["error"]["code"] = answer->outcome.code_name;
      j["error"]["message"] = answer->outcome.message;
      res.status = 422;
    }
    res.set_content(dump(j), "application/json");
  }

  void livez(httplib::Response& res) {
    // Alive = the actor that drives everything (raft) still answers.
    if (!raft_status()) return send_error(res, 503, "not_live", "the raft actor does not answer");
    res.set_content(R"({"live":true})", "application/json");
  }

  void readyz(httplib::Response& res) {
    // Ready = a leader confirms its commit index (read index) and this replica applied it.
    auto ri = read_index();
    if (!ri) return send_error(res, 503, "not_ready", "no leader confirmed a read index: " + ri.error().message);
    const auto applied = static_cast<uint64_t>(ctx->metrics->apply_applied_index.load(std::memory_order_relaxed));
    if (applied < *ri) {
      return send_error(res, 503, "not_ready",
                        "catching up: applied " + std::to_string(applied) + " of " + std::to_string(*ri));
    }
    json j;
    j["ready"] = true;
    j["applied_index"] = applied;
    j["read_index"] = *ri;
    res.set_content(dump(j), "application/json");
  }

  void events(const httplib::Request&, httplib::Response& res) {
    auto sub = ctx->events->subscribe();
    if (!sub) return send_error(res, 503, "too_many_streams", "too many event streams are open");
    auto& m = *ctx->metrics;
    m.http_event_subscribers.fetch_add(1, std::memory_order_relaxed);
    res.set_header("Cache-Control", "no-store");
    auto handle = *sub;
    auto hub = ctx->events;
    auto metrics = ctx->metrics;
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, handle, hub, first = true](std::size_t, httplib::DataSink& sink) mutable {
          if (first) {
            // The current applied index at once, so a client needs no extra request to start.
            first = false;
            const auto applied = ctx->metrics->apply_applied_index.load(std::memory_order_relaxed);
            const std::string hello = "retry: 1000\nevent: hello\ndata: {\"applied_index\":" + std::to_string(applied) + "}\n\n";
            return sink.write(hello.data(), hello.size());
          }
          if (stopping.load()) return false;
          auto batch = hub->next(handle, 1000ms);
          if (!batch) {
            sink.done();
            return true;  // dropped (fell behind) or shutting down: the stream ends
          }
          std::string out;
          if (batch->empty()) out = ": keep-alive\n\n";  // detects a gone client within a second
          for (const auto& e : *batch) {
            out += "id: " + std::to_string(e.id) + "\nevent: " + e.type + "\ndata: " + e.data + "\n\n";
          }
          return sink.write(out.data(), out.size());
        },
        [handle, hub, metrics](bool) {
          hub->unsubscribe(handle);
          metrics->http_event_subscribers.fetch_sub(1, std::memory_order_relaxed);
        });
  }

  void routes() {
    auto& s = server;
    auto& m = *ctx->metrics;
    s.set_pre_routing_handler([this, &m](const httplib::Request&, httplib::Response& res) {
      m.http_requests_total.fetch_add(1, std::memory_order_relaxed);
      if (refusal_lane) {
        m.http_connections_refused_total.fetch_add(1, std::memory_order_relaxed);
        send_error(res, 503, "too_many_connections",
                   "the node serves " + std::to_string(options.connections_max) + " connections at once; retry");
        res.set_header("Connection", "close");
        res.set_header("Retry-After", "1");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (stopping.load()) {
        send_error(res, 503, "shutting_down", "the node is shutting down");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours already
      switch (res.status) {
        case 404: send_error(res, 404, "not_found", "no such route"); break;
        case 413: send_error(res, 413, "payload_too_large", "the request body is above the limit"); break;
        case 414: send_error(res, 414, "uri_too_long", "the request line is too long"); break;
        case 400: send_error(res, 400, "bad_request", "the request is not valid HTTP"); break;
        default: send_error(res, res.status, "http_" + std::to_string(res.status), "request failed"); break;
      }
      return httplib::Server::HandlerResponse::Handled;
    }));
    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      send_error(res, 500, "internal", "the request failed inside the node");
    });

    s.Get("/livez", [this](const httplib::Request&, httplib::Response& res) { livez(res); });
    s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) { readyz(res); });
    s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(render_prometheus(*ctx->metrics, ctx->checkpoint_stats.get()), "text/plain; version=0.0.4; charset=utf-8");
    });
    s.Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& res) { status(res); });
    s.Get("/api/v1/members", [this](const httplib::Request&, httplib::Response& res) { members(res); });
    s.Get(R"(/api/v1/query/([a-z][a-z0-9_]{0,63}))", [this](const httplib::Request& req, httplib::Response& res) {
      json params;
      if (!params_of(req, params, res)) return;
      serve_query(req, res, req.matches[1].str(), std::move(params));
    });
    for (const auto& a : query_aliases) {
      s.Get(a.pattern, [this, a](const httplib::Request& req, httplib::Response& res) {
        json params;
        if (!params_of(req, params, res)) return;
        if (a.path_param != nullptr) params[a.path_param] = req.matches[1].str();
        serve_query(req, res, a.query, std::move(params));
      });
    }
    s.Post("/api/v1/commands", [this](const httplib::Request& req, httplib::Response& res) { submit(req, res); });
    s.Get("/api/v1/events", [this](const httplib::Request& req, httplib::Response& res) { events(req, res); });
    // The dashboard (web/, embedded).
    s.Get(R"(/|/[a-z0-9_\-]{1,64}\.(html|js|css|svg))", [](const httplib::Request& req, httplib::Response& res) {
      const std::string path = req.path == "/" ? "/index.html" : req.path;
      for (const auto& f : web::assets()) {
        if (f.path == path) {
          res.set_content(std::string(f.body), std::string(f.content_type).c_str());
          return;
        }
      }
      send_error(res, 404, "not_found", "no such file");
    });
  }
};

http_gateway::http_gateway(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
http_gateway::~http_gateway() { stop(); }

energo::result<std::unique_ptr<http_gateway>, std::string> http_gateway::start(caf::actor_system& sys,
                                                                              const node_handles& actors,
                                                                              std::shared_ptr<const node_context> ctx,
                                                                              http_options options) {
  auto p = std::make_unique<impl>(sys, actors, std::move(ctx), std::move(options));
  auto& s = p->server;
  const auto connections = std::max<uint32_t>(1, p->options.connections_max);
  s.new_task_queue = [connections] { return new gateway_task_queue(connections); };
  s.set_payload_max_length(p->options.body_bytes_max);
  const auto io = std::chrono::milliseconds(p->options.io_timeout_ms);
  s.set_read_timeout(io);
  s.set_write_timeout(io);
  s.set_keep_alive_timeout(std::max<time_t>(1, limits::http_keep_alive_ms / 1000));
  s.set_default_headers({{"X-Content-Type-Options", "nosniff"}});
  p->routes();
  const auto& ep = p->options.listen;
  p->port = ep.port == 0 ? s.bind_to_any_port(ep.host) : (s.bind_to_port(ep.host, ep.port) ? ep.port : -1);
  if (p->port <= 0) return energo::unexpected<std::string>{"cannot listen on " + ep.host + ":" + std::to_string(ep.port)};
  auto* raw = p.get();
  p->thread = std::thread([raw] {
    if (!raw->server.listen_after_bind() && !raw->stopping.load()) spdlog::error("http: the gateway stopped serving");
  });
  // httplib's stop() only works once the server runs: wait for it (a bound socket starts at once).
  for (int i = 0; i < 1000 && !s.is_running(); ++i) std::this_thread::sleep_for(1ms);
  return std::unique_ptr<http_gateway>(new http_gateway(std::move(p)));
}

uint16_t http_gateway::port() const { return static_cast<uint16_t>(impl_->port); }

void http_gateway::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  impl_->ctx->events->close();  // ends every event stream
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace energo::actors
