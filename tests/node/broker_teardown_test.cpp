// The client broker, in process, stopped while a submission waits (actors/brokers.cpp). CAF 0.17's
// broker termination (abstract_broker::cleanup) skips the mailbox draining other actors get, and
// the mailbox stays open: a message that reaches a stopped broker stays there for good. If that
// message names the broker itself as its sender, the broker holds a strong reference to itself and
// is never freed (LeakSanitizer reported it at a node's SIGTERM exit in CI: the submission sweep's
// timer, sent with delayed_send(self, ...)). Here the sweep is armed, the broker stops, the sweep's
// timer fires after the stop; once the actor system is gone, nothing may still hold the broker.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/actors_internal.hpp"
#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "net/client_conn.hpp"

namespace {

using namespace energo;
using namespace energo::actors;
using namespace std::chrono_literals;

// An ingest that takes submissions and never answers (a leader that cannot commit), keeping each
// promise until it stops; `taken` counts them.
struct silent_ingest_state {
  std::vector<caf::response_promise> held;
};

ingest_actor::behavior_type silent_ingest(ingest_actor::stateful_pointer<silent_ingest_state> self,
                                          std::shared_ptr<std::atomic<int>> taken) {
  return {
      [self, taken](submit_atom, const std::string&) -> caf::result<net::client_response> {
        ++*taken;
        self->state.held.push_back(self->make_response_promise());
        return caf::delegated<net::client_response>{};
      },
      [self, taken](admin_atom, const std::string&) -> caf::result<net::client_response> {
        ++*taken;
        self->state.held.push_back(self->make_response_promise());
        return caf::delegated<net::client_response>{};
      },
  };
}

TEST(client_broker_teardown, StoppedWithASubmissionWaitingItIsFreedWithTheActorSystem) {
  caf::weak_actor_ptr broker_ref;
  {
    caf::actor_system_config cfg;
    configure_actor_system(cfg);
    cfg.load<caf::io::middleman>();
    caf::actor_system sys{cfg};
    auto ctx = std::make_shared<node_context>();
    ctx->client_listen = net::endpoint{"127.0.0.1", 0};
    auto taken = std::make_shared<std::atomic<int>>(0);
    auto ingest = sys.spawn(silent_ingest, taken);
    auto bound = std::make_shared<std::promise<bind_result>>();
    auto port = bound->get_future();
    auto broker = spawn_client_broker(sys, ctx, raft_actor{}, apply_actor{}, ingest, bound);
    ASSERT_TRUE(broker);
    const auto b = port.get();
    ASSERT_TRUE(b.error.empty()) << b.error;
    broker_ref = caf::actor_cast<caf::weak_actor_ptr>(broker);

    // One submission: the broker adds it to its table and arms the sweep (250 ms).
    net::client_conn c;
    ASSERT_TRUE(c.connect({"127.0.0.1", b.port}, 1000ms));
    net::client_request req;
    req.what = net::client_request::kind::submit;
    req.command = "held by the silent ingest";
    EXPECT_FALSE(c.call(req, 100ms)) << "the silent ingest answered";
    EXPECT_EQ(taken->load(), 1);
    EXPECT_EQ(ctx->metrics->client_inflight_submissions.load(), 1);

    // Stop the broker before its sweep fires, wait for it to terminate, then long enough for the
    // sweep's timer to reach the stopped broker.
    {
      caf::scoped_actor self{sys};
      self->monitor(broker);
      self->anon_send(broker, stop_atom::value);
      bool down = false;
      self->receive([&](const caf::down_msg&) { down = true; }, caf::after(5s) >> [] {});
      ASSERT_TRUE(down) << "the broker did not stop";
    }
    std::this_thread::sleep_for(400ms);
    caf::anon_send_exit(ingest, caf::exit_reason::user_shutdown);
    broker = nullptr;
    ingest = nullptr;
  }
  // The actor system is gone: no mailbox, clock or registry may still hold the broker.
  EXPECT_FALSE(broker_ref.lock()) << "the stopped client broker is still referenced (a message to itself in its mailbox)";
}

}  // namespace
