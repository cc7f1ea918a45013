// ingest: a pool of stateless workers (one per core) that decode, bound and verify client
// commands — the only place signatures are checked; the log carries verified commands — then
// hand them to the apply actor, which registers the client as waiting and proposes.
// clock: on the leader only, proposes `tick` entries from the wall clock (or its demo speed-up).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include <caf/all.hpp>

#include <cstdlib>
#include <fstream>

#include "actors/actors_internal.hpp"
#include "actors/messages.hpp"
#include "actors/tick_source.hpp"
#include "crypto/hash.hpp"

namespace energo::actors {

ingest_actor::behavior_type ingest_worker(ingest_actor::pointer self, ctx_ptr ctx, apply_actor apply) {
  return {
      [self, ctx, apply](submit_atom, std::string& bytes) -> caf::result<net::client_response> {
        if (bytes.size() > ledger::limits::command_bytes_max) {
          return net::client_response::refused(net::client_errc::too_large, "command larger than " +
                                                          std::to_string(ledger::limits::command_bytes_max) + " bytes");
        }
        auto cmd = ledger::decode(crypto::as_bytes(bytes));
        if (!cmd) return net::client_response::refused(net::client_errc::malformed, cmd.error().message);
        if (std::holds_alternative<ledger::tick>(cmd->body)) {
          return net::client_response::refused(net::client_errc::system_command, "tick is proposed by the leader's clock only");
        }
        if (auto v = ledger::verify(*cmd, ctx->genesis_hash); !v) {
          return net::client_response::refused(net::client_errc::bad_signature, v.error().message);
        }
        const auto h = crypto::sha256(crypto::as_bytes(bytes));
        std::string hash(reinterpret_cast<const char*>(h.data()), h.size());
        auto rp = self->make_response_promise<net::client_response>();
        rp.delegate(apply, submit_atom::value, std::move(hash), std::move(bytes));
        return rp;
      },
      [self, ctx, apply](admin_atom, std::string& bytes) -> caf::result<net::client_response> {
        // A membership request: decoded and verified here to keep forgeries out of the log; the
        // apply actor verifies again (the registry is rebuilt from the log alone) and checks the nonce.
        auto req = decode_admin_request(bytes);
        if (!req) return net::client_response::refused(net::client_errc::malformed, "membership request does not decode");
        const auto& admins = ctx->genesis.admins;
        if (std::find(admins.begin(), admins.end(), req->admin_key) == admins.end()) {
          return net::client_response::refused(net::client_errc::bad_signature, "membership request not signed by a genesis admin key");
        }
        if (!verify_admin_request(*req, ctx->cluster_id, ctx->genesis_hash)) {
          return net::client_response::refused(net::client_errc::bad_signature, "membership request signature does not verify");
        }
        const auto h = crypto::sha256(crypto::as_bytes(bytes));
        std::string hash(reinterpret_cast<const char*>(h.data()), h.size());
        auto rp = self->make_response_promise<net::client_response>();
        rp.delegate(apply, admin_atom::value, std::move(hash), std::move(bytes));
        return rp;
      },
  };
}

struct clock_state {
  static inline const char* name = "clock";
  std::optional<tick_source> source;
};

namespace {
// TEST ONLY (tests/cluster_faults, the "jump of the leader's clock" nemesis): when the
// environment names ENERGO_TEST_CLOCK_OFFSET_FILE and that file holds an integer, it is added to
// the wall clock, re-read at every tick so a running node's clock can jump. Absent (as in every
// deployment), the wall clock is used as is. Bounded to +-10 years so a bad file cannot overflow.
int64_t test_clock_offset_ms() {
  static const char* path = std::getenv("ENERGO_TEST_CLOCK_OFFSET_FILE");
  if (path == nullptr) return 0;
  std::ifstream f(path);
  long long v = 0;
  if (!(f >> v)) return 0;
  constexpr long long bound_ms = 10LL * 366 * 24 * 3600 * 1000;
  return std::clamp<long long>(v, -bound_ms, bound_ms);
}
}  // namespace

// Every interval: if this node leads, read the ledger time and propose the tick source's next time
// (actors/tick_source.hpp: the wall clock, or the demo speed-up), at most step_ms_max ahead.
using clock_self_actor = clock_actor::extend<caf::reacts_to<timer_atom>>;  // + its own timer

clock_self_actor::behavior_type clock_behavior(clock_self_actor::stateful_pointer<clock_state> self, ctx_ptr ctx,
                                               raft_actor raft, apply_actor apply) {
  const auto interval = std::chrono::milliseconds(ctx->clock_interval_ms);
  self->state.source.emplace(ctx->clock_speedup, ctx->clock_step_ms_max);
  self->delayed_send(self, interval, timer_atom::value);
  return {
      [self, ctx, raft, apply, interval](timer_atom) {
        self->delayed_send(self, interval, timer_atom::value);
        self->request(raft, interval, status_atom::value).then([self, raft, apply, interval](const raft_view& v) {
          if (v.role != "leader") {
            self->state.source->lost_leadership();
            return;
          }
          self->request(apply, interval, status_atom::value).then([self, raft](const apply_view& a) {
            using namespace std::chrono;
            const int64_t wall_ms =
                duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() + test_clock_offset_ms();
            const int64_t steady_ms = duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
            if (auto next = self->state.source->next(wall_ms, steady_ms, a.ledger_time_ms)) {
              caf::anon_send(raft, propose_tick_atom::value, *next);
            }
          });
        });
      },
      [self](stop_atom) { self->quit(); },
  };
}

// CAF 0.17's actor_pool is dynamically typed (its factory returns `caf::actor`, make() returns one).
// The pool only forwards each message, sender and request id unchanged, to one worker, and every
// worker is an ingest_actor: the pool's handle is cast to that interface here, the one unchecked
// step, so the client broker and the HTTP gateway send to it checked like to any typed actor.
ingest_actor spawn_ingest(caf::actor_system& sys, ctx_ptr ctx, apply_actor apply) {
  const std::size_t workers = std::max<uint32_t>(1, ctx->ingest_workers);
  auto pool = caf::actor_pool::make(
      sys.dummy_execution_unit(), workers,
      [&sys, ctx, apply] { return caf::actor_cast<caf::actor>(sys.spawn(ingest_worker, ctx, apply)); },
      caf::actor_pool::round_robin());
  return caf::actor_cast<ingest_actor>(std::move(pool));
}

clock_actor spawn_clock(caf::actor_system& sys, ctx_ptr ctx, raft_actor raft, apply_actor apply) {
  return sys.spawn(clock_behavior, std::move(ctx), std::move(raft), std::move(apply));
}

}  // namespace energo::actors
