// Crash-test child: opens a node_store and writes in a loop until the parent SIGKILLs it,
// reporting through stdout (a pipe) what it is about to write ("intent") and what a synced write
// has returned ("ack"). Fixed 40-byte little-endian records: kind, seq, a, b, c.
//   storage_crash_child append <dir> <seed>   log entries + hard state, with suffix truncations
//   storage_crash_child apply  <dir> <seed>   state-machine batches + applied index
//   storage_crash_child hold   <dir>          open, report ready, wait to be killed
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <random>
#include <string>

#include "storage/node_store.hpp"
#include "tests/storage/crash_protocol.hpp"

using namespace energo::storage;

namespace {

void send(crash_protocol::message m) {
  char buf[crash_protocol::message_bytes];
  crash_protocol::encode(m, buf);
  if (::write(STDOUT_FILENO, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) std::_Exit(3);
}

[[noreturn]] void fail(const char* what, const storage_error& e) {
  std::fprintf(stderr, "crash child: %s: %s: %s\n", what, to_string(e.code), e.message.c_str());
  std::_Exit(2);
}

std::unique_ptr<node_store> open_store(const char* dir) {
  store_options o;
  o.cluster_id = "crash-test";
  o.recovery_tail_entries = SIZE_MAX;
  auto s = node_store::open(dir, o);
  if (!s) fail("open", s.error());
  return std::move(*s);
}

[[noreturn]] void run_append(const char* dir, uint64_t seed) {
  auto store = open_store(dir);
  std::mt19937_64 rng(seed);
  const group_id g = crash_protocol::group;
  log_index last = store->last_index(g);
  log_term last_term = last == 0 ? 0 : *store->term(g, last);
  hard_state_record hs = store->hard_state(g);
  for (uint64_t seq = 1;; ++seq) {
    log_term term = std::max({last_term, hs.term, log_term{1}});
    log_index from = last + 1;
    if (last > hs.commit && rng() % 6 == 0) {  // a new leader overwrites an uncommitted suffix
      from = hs.commit + 1 + rng() % (last - hs.commit);
      ++term;
    }
    std::vector<log_record> entries;
    const uint64_t count = 1 + rng() % 40;
    for (log_index i = from; i < from + count; ++i) {
      entries.push_back({term, i, 0, crash_protocol::payload_for(i, term)});
    }
    const log_index new_last = entries.back().index;
    hs = {term, 1, hs.commit + rng() % (new_last - hs.commit + 1)};
    send({crash_protocol::kind_intent, seq, new_last, term, hs.commit});
    const group_write w{g, entries, hs};
    if (auto r = store->persist(std::span<const group_write>(&w, 1)); !r) fail("persist", r.error());
    send({crash_protocol::kind_ack, seq, new_last, term, hs.commit});
    last = new_last;
    last_term = term;
  }
}

[[noreturn]] void run_apply(const char* dir) {
  auto store = open_store(dir);
  const group_id g = crash_protocol::group;
  for (log_index n = store->applied_index(g) + 1;; ++n) {
    const auto writes = crash_protocol::apply_writes(n);
    send({crash_protocol::kind_intent, n, 0, 0, 0});
    if (auto r = store->apply_batch(g, writes, n); !r) fail("apply_batch", r.error());
    send({crash_protocol::kind_ack, n, 0, 0, 0});
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s append|apply|hold <dir> [seed]\n", argv[0]);
    return 1;
  }
  const std::string mode = argv[1];
  const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 0;
  if (mode == "append") run_append(argv[2], seed);
  if (mode == "apply") run_apply(argv[2]);
  if (mode == "hold") {
    auto store = open_store(argv[2]);
    send({crash_protocol::kind_ready, 0, 0, 0, 0});
    for (;;) ::pause();
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 1;
}
