// The raft actor: owns the consensus core and the Raft log in storage/. Runs detached (its own
// thread) because every ready is made durable with a synced RocksDB write before its messages
// leave (consensus/raft.hpp contract); blocking a scheduler thread on fsync would stall every
// other actor sharing it.
#include <algorithm>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <optional>

#include <caf/all.hpp>

#include "actors/actors_internal.hpp"
#include "actors/messages.hpp"
#include "actors/membership.hpp"
#include "actors/state_codec.hpp"
#include "crypto/bytes.hpp"
#include "net/secure_session.hpp"

#include <nlohmann/json.hpp>
#include <set>
#include "consensus/raft.hpp"

namespace energo::actors {

namespace cs = energo::consensus;
namespace st = energo::storage;

storage::log_record to_record(const cs::entry& e) { return {e.term, e.index, static_cast<uint8_t>(e.type), e.data}; }
cs::entry from_record(st::log_record r) {
  return {r.term, r.index, static_cast<cs::entry_type>(r.type), std::move(r.payload)};
}
st::snapshot_meta_record to_record(const cs::snapshot_meta& m, uint64_t bytes) {
  st::snapshot_meta_record r;
  r.index = m.index;
  r.term = m.term;
  r.config.voters.assign(m.config.voters.begin(), m.config.voters.end());
  r.config.learners.assign(m.config.learners.begin(), m.config.learners.end());
  r.config.voters_outgoing.assign(m.config.voters_outgoing.begin(), m.config.voters_outgoing.end());
  r.data_bytes = bytes;
  return r;
}
cs::snapshot_meta from_record(const st::snapshot_meta_record& m) {
  cs::snapshot_meta s{m.index, m.term, {}};
  s.config.voters.insert(m.config.voters.begin(), m.config.voters.end());
  s.config.learners.insert(m.config.learners.begin(), m.config.learners.end());
  s.config.voters_outgoing.insert(m.config.voters_outgoing.begin(), m.config.voters_outgoing.end());
  return s;
}

static_assert(limits::raft_snapshot_chunk_bytes + limits::raft_chunk_overhead_bytes_max <= net::limits::session_plaintext_bytes_max,
              "a snapshot chunk with its Raft message must fit one sealed peer frame");

namespace {

constexpr uint64_t read_deadline_ticks = 100;       // a read index not confirmed by then fails
constexpr std::size_t proposals_pending_max = 65536; // commands buffered between two readies

[[noreturn]] void fatal_storage(const char* what, const st::storage_error& e) {
  // A failed synced write leaves the core ahead of the disk; continuing could break a promise
  // already made to a peer. Stop at once (etcd does the same); restart recovers from RocksDB.
  spdlog::critical("raft: {} failed: {}: {}; stopping (exit 5)", what, st::to_string(e.code), e.message);
  spdlog::shutdown();
  std::_Exit(5);
}

// Every this many ticks (about a second) the raft actor checks the store: a RocksDB background
// error (failed flush, compaction or WAL write) or a data disk below its free-space reserve stops
// the node at once, before anything more is acknowledged.
uint64_t storage_check_ticks(const node_context& ctx) { return std::max<uint64_t>(1, 1000 / std::max(1u, ctx.tick_ms)); }

void check_storage(const node_context& ctx) {
  if (auto failed = ctx.store->failed()) fatal_storage("the store", *failed);
  if (ctx.disk_free_bytes_min == 0) return;
  auto free_bytes = ctx.store->disk_free_bytes();
  if (!free_bytes) fatal_storage("checking free space", free_bytes.error());
  if (*free_bytes < ctx.disk_free_bytes_min) {
    spdlog::critical("raft: the data disk is full: {} MiB free, below limits.disk_free_mib_min ({} MiB); stopping (exit 5)",
                     *free_bytes >> 20, ctx.disk_free_bytes_min >> 20);
    spdlog::shutdown();
    std::_Exit(5);
  }
}

}  // namespace

struct raft_state {
  ctx_ptr ctx;
  std::optional<cs::raft_node> core;
  apply_actor apply;
  peer_broker_actor peers;
  bool ready_scheduled = false;
  bool in_install = false;  // waiting for the apply actor to install a snapshot
  uint64_t ticks = 0;
  // A batch of commands proposed by one message (the apply actor batches its submissions): one
  // answer for the batch, the first failure if any part failed.
  struct pending_batch {
    caf::typed_response_promise<uint16_t, uint64_t> promise;
    std::size_t remaining = 0;
    uint16_t code = 0;
    uint64_t leader = 0;
  };
  struct proposal {
    std::string command;
    std::shared_ptr<pending_batch> batch;  // null for a command a follower forwarded (it tracks its own)
  };
  std::vector<proposal> proposals;
  struct pending_read {
    caf::typed_response_promise<uint16_t, uint64_t> promise;
    uint64_t deadline_tick = 0;
  };
  std::map<uint64_t, pending_read> reads;
  uint64_t next_read_ctx = 1;
  cs::role last_role = cs::role::follower;
  cs::node_id last_leader = cs::no_node;
  // The latest registry the apply actor published: the leader reconciles the Raft configuration
  // towards it (actors/membership.hpp).
  std::shared_ptr<const member_registry> registry;
  std::map<cs::node_id, std::chrono::steady_clock::time_point> last_contact;  // last message from each peer
  uint64_t refused_forwards = 0;
  uint64_t last_term = 0;  // a change is told to apply (term_changed): proposals may have been lost
  // Whether this node saw itself in a registry; once it did, a registry without it means it was
  // removed (docs/node.md "Membership"): it stops itself (exit 8).
  bool member_seen = false;
  bool removed = false;
  // Members the registry dropped, held in the Raft configuration until they can know it (below).
  struct removal {
    uint64_t commit_index = 0;  // the leader's commit when the registry without it arrived
    uint64_t since_tick = 0;
    uint64_t caught_up_tick = 0;  // first tick its match covered commit_index (0: not yet)
  };
  std::map<cs::node_id, removal> removals;
  // The Raft configuration last told to the peer broker (tell_config).
  std::optional<cs::membership> config_told;
  static inline const char* name = "raft";
};

namespace {

// The public interface (messages.hpp), the wiring message and the self messages.
using raft_self_actor = raft_wired_actor::extend<caf::reacts_to<tick_atom>, caf::reacts_to<ready_atom>>;
using self_ptr = raft_self_actor::stateful_pointer<raft_state>;

void schedule_ready(self_ptr self) {
  auto& s = self->state;
  if (s.ready_scheduled || s.in_install) return;
  s.ready_scheduled = true;
  self->send(self, ready_atom::value);
}

uint16_t code_of(const cs::raft_error& e) {
  switch (e.code) {
    case cs::raft_error_code::no_leader:
    case cs::raft_error_code::not_leader:
    case cs::raft_error_code::leader_not_ready: return static_cast<uint16_t>(net::client_errc::no_leader);
    case cs::raft_error_code::entry_too_large: return static_cast<uint16_t>(net::client_errc::too_large);
    default: return static_cast<uint16_t>(net::client_errc::busy);
  }
}

// Packs buffered proposals into entries of at most proposal_commands_max commands and
// entry_bytes_max bytes, and proposes them (a follower's core forwards them to the leader).
void flush_proposals(self_ptr self) {
  auto& s = self->state;
  if (s.proposals.empty()) return;
  const uint64_t entry_bytes_max = s.core->cfg().lim.entry_bytes_max;
  std::size_t i = 0;
  while (i < s.proposals.size()) {
    std::vector<std::string> batch;
    std::size_t bytes = 16;
    std::size_t j = i;
    // At least one command per entry, so a command too large for any entry (refused by propose
    // as entry_too_large) cannot stop the loop.
    while (j < s.proposals.size() && batch.size() < s.ctx->proposal_commands_max &&
           (j == i || bytes + s.proposals[j].command.size() + 4 <= entry_bytes_max)) {
      bytes += s.proposals[j].command.size() + 4;
      batch.push_back(std::move(s.proposals[j].command));
      ++j;
    }
    auto res = s.core->propose(encode_command_batch(batch));
    for (std::size_t k = i; k < j; ++k) {
      if (!s.proposals[k].batch) continue;  // forwarded: dropped on error, the follower's client retries
      auto& b = *s.proposals[k].batch;
      if (!res && b.code == 0) {
        b.code = code_of(res.error());
        b.leader = res.error().leader_hint;
      }
      if (--b.remaining == 0) b.promise.deliver(b.code, b.code == 0 ? s.core->leader() : b.leader);
    }
    i = j;
  }
  s.proposals.clear();
}

void finish_ready(self_ptr self, cs::ready r);

// Gauges of actors/metrics.hpp, refreshed after every ready.
void publish_metrics(const raft_state& s) {
  auto& m = *s.ctx->metrics;
  const auto& core = *s.core;
  constexpr auto relaxed = std::memory_order_relaxed;
  m.raft_term.store(static_cast<int64_t>(core.term()), relaxed);
  m.raft_commit_index.store(static_cast<int64_t>(core.commit_index()), relaxed);
  m.raft_last_index.store(static_cast<int64_t>(core.last_index()), relaxed);
  m.raft_snapshot_index.store(static_cast<int64_t>(core.snapshot_metadata().index), relaxed);
  m.raft_is_leader.store(core.role() == cs::role::leader ? 1 : 0, relaxed);
  m.raft_proposals_pending.store(static_cast<int64_t>(s.proposals.size()), relaxed);
  const auto writes = s.ctx->store->log_writes();
  m.raft_log_writes_synced_total.store(writes.synced, relaxed);
  m.raft_log_writes_deferred_total.store(writes.deferred, relaxed);
}

// Whether the leader holds its buffered commands for the next entry: while an append of its own is
// not yet committed, commands gather (up to proposal_commands_max) and go out in one entry with
// the ready that learns of that commit, instead of one entry, one fsync on every member and one
// append round per ready. Under load this turns many small rounds into few full ones; when idle
// the log is committed and a command is proposed at once. Followers never hold (they forward).
bool hold_proposals(const raft_state& s) {
  const auto& core = *s.core;
  return core.role() == cs::role::leader && core.commit_index() < core.last_index() &&
         s.proposals.size() < s.ctx->proposal_commands_max;
}

void process_ready(self_ptr self) {
  auto& s = self->state;
  s.ready_scheduled = false;
  if (s.in_install) return;
  if (!hold_proposals(s)) flush_proposals(self);
  if (!s.core->has_ready()) return;
  cs::ready r = s.core->get_ready();
  if (r.snapshot_to_install) {
    // (a) The apply actor installs it (state, applied index and meta in one synced batch) after
    // every committed entry sent to it before; we wait for it before (b)-(d). The data moves to
    // apply (no copy of a 100 MB image); advance() needs only the meta.
    s.in_install = true;
    cs::snapshot snap = std::move(*r.snapshot_to_install);
    r.snapshot_to_install = cs::snapshot{snap.meta, {}};
    spdlog::info("raft: installing snapshot at index {} term {} ({} bytes)", snap.meta.index, snap.meta.term, snap.data.size());
    self->request(s.apply, caf::infinite, install_atom::value, std::move(snap))
        .await([self, r = std::move(r)](bool installed) mutable {
          if (!installed) {
            spdlog::critical("raft: snapshot install failed; stopping (exit 5)");
            spdlog::shutdown();
            std::_Exit(5);
          }
          self->state.in_install = false;
          finish_ready(self, std::move(r));
        });
    return;
  }
  finish_ready(self, std::move(r));
}

// The peer broker keeps the link to a member the registry dropped for as long as the Raft
// configuration holds it (the hold-back in reconcile_membership needs the link to reach it).
void tell_config(self_ptr self) {
  auto& s = self->state;
  const auto& cur = s.core->membership();
  if (s.config_told && *s.config_told == cur) return;
  s.config_told = cur;
  std::vector<uint64_t> ids(cur.voters.begin(), cur.voters.end());
  ids.insert(ids.end(), cur.learners.begin(), cur.learners.end());
  self->send(s.peers, raft_config_atom::value, std::move(ids));
}

void finish_ready(self_ptr self, cs::ready r) {
  auto& s = self->state;
  const auto& ctx = *s.ctx;
  // (b) + (c): entries and hard state in one synced batch, before any message leaves. A ready
  // whose only durable change is the commit index (the leader learning of a quorum, a follower
  // told by a heartbeat) is written without a sync: Raft's commit index is volatile state (etcd's
  // MustSync), the next synced write covers it, and a crash that loses it loses no acknowledged
  // command, since every acknowledged entry was synced on a majority before it counted.
  if (!r.entries_to_persist.empty() || r.hard_state) {
    std::vector<st::log_record> records;
    records.reserve(r.entries_to_persist.size());
    for (const auto& e : r.entries_to_persist) records.push_back(to_record(e));
    st::group_write w{community_group, records, std::nullopt};
    auto sync = st::log_sync::always;
    if (r.hard_state) {
      w.hard_state = st::hard_state_record{r.hard_state->term, r.hard_state->vote, r.hard_state->commit};
      const st::hard_state_record stored = ctx.store->hard_state(community_group);
      if (records.empty() && w.hard_state->term == stored.term && w.hard_state->vote == stored.vote) {
        sync = st::log_sync::commit_only_deferred;
      }
    }
    if (auto res = ctx.store->persist(std::span<const st::group_write>(&w, 1), sync); !res) {
      fatal_storage("persist", res.error());
    }
  }
  // (d) messages
  auto& metrics = *ctx.metrics;
  for (auto& m : r.messages) {
    if (m.type == cs::message_type::snapshot_chunk) metrics.raft_snapshot_chunks_sent_total.fetch_add(1, std::memory_order_relaxed);
    self->send(s.peers, peer_out_atom::value, std::move(m));
  }
  // (e) committed entries, in order, to the apply actor
  if (!r.committed_entries.empty()) self->send(s.apply, committed_atom::value, r.committed_entries);
  for (const auto& rs : r.read_states) {
    auto it = s.reads.find(rs.request_ctx);
    if (it == s.reads.end()) continue;
    it->second.promise.deliver(uint16_t{0}, rs.index);
    s.reads.erase(it);
  }
  const bool wants_data = r.snapshot_data_wanted;
  s.core->advance(r);
  if (wants_data) {
    // (g) A lagging follower needs our snapshot's data: ask the apply actor for a fresh image.
    self->request(s.apply, caf::infinite, image_atom::value).then([self](uint64_t index, std::string image) {
      auto& st2 = self->state;
      if (index < st2.core->snapshot_metadata().index || index > st2.core->applied_index()) return;
      if (auto res = st2.core->compact(index, std::move(image)); !res) {
        spdlog::warn("raft: compact for snapshot data failed: {}", res.error().message);
      }
      schedule_ready(self);
    });
  }
  if (s.core->role() != s.last_role || s.core->leader() != s.last_leader) {
    spdlog::info("raft: {} in term {}, leader {}", cs::to_string(s.core->role()), s.core->term(), s.core->leader());
    if (s.core->leader() != s.last_leader) metrics.raft_leader_changes_total.fetch_add(1, std::memory_order_relaxed);
    s.last_role = s.core->role();
    s.last_leader = s.core->leader();
  }
  if (s.core->term() != s.last_term) {
    // A proposal of an earlier term that did not commit may be gone (overwritten by the new
    // leader's log); its clients would wait for the submit timeout. apply answers them now.
    s.last_term = s.core->term();
    self->send(s.apply, term_changed_atom::value, s.last_term);
  }
  tell_config(self);
  publish_metrics(s);
  if (s.core->has_ready()) schedule_ready(self);
}

// A learner is promoted once its log is within this many entries of the leader's.
constexpr uint64_t promote_lag_max = 64;

// Whether the leader may now drop `id` (gone from the registry) from the Raft configuration. Once
// it is dropped the leader stops replicating to it, so a removed node could never learn of its
// removal and would run on (campaigning in vain, refused by every member). The leader therefore
// waits until the node's log holds the registry change and one more heartbeat round has carried the
// commit index to it (it then applies the change and stops itself, exit 8), but never longer than
// removal_grace_election_timeouts: an unreachable node is removed anyway. The peer broker keeps the
// link to the node while the configuration holds it (tell_config): a node cut off while its
// removal committed learns of it once the cut heals within the grace (fault kind
// remove_cut_member, tests/cluster_faults).
constexpr uint64_t removal_grace_election_timeouts = 4;

bool removal_due(raft_state& s, cs::node_id id) {
  auto it = s.removals.find(id);
  if (it == s.removals.end()) return true;
  auto& r = it->second;
  const uint64_t grace_ticks = removal_grace_election_timeouts * s.ctx->election_ticks;
  if (s.ticks >= r.since_tick + grace_ticks) return true;
  const auto p = s.core->progress_of(id);
  if (!p || p->match < r.commit_index) return false;
  if (r.caught_up_tick == 0) r.caught_up_tick = s.ticks;
  return s.ticks >= r.caught_up_tick + 2ull * s.ctx->heartbeat_ticks + 1;
}

// Leader only: one single-server change towards the registry per call (the core refuses a second
// one while a change is uncommitted). Idempotent by construction: a change is proposed only while
// the configuration differs from the registry, so a repeated or stale proposal changes nothing.
void reconcile_membership(self_ptr self) {
  auto& s = self->state;
  auto& core = *s.core;
  if (!s.registry || core.role() != cs::role::leader || core.transfer_target() != cs::no_node) return;
  const auto desired = s.registry->desired_membership();
  if (desired.voters.empty()) return;
  const auto& cur = core.membership();
  // The leader itself must go (removed) or become a learner (demoted): it hands leadership to the
  // most up-to-date voter that stays one; the new leader then makes the change.
  auto hand_over = [&](const char* why) {
    cs::node_id best = cs::no_node;
    uint64_t best_match = 0;
    for (const auto& p : core.progress()) {
      if (p.id == core.id() || !cur.is_voter(p.id) || !desired.is_voter(p.id)) continue;
      if (best == cs::no_node || p.match > best_match) best = p.id, best_match = p.match;
    }
    if (best != cs::no_node && core.transfer_leadership(best)) {
      spdlog::info("raft: {}; transferring leadership to {}", why, best);
      schedule_ready(self);
    }
  };
  auto propose = [&](cs::config_change_type t, cs::node_id id) {
    auto r = core.propose_config_change({t, id});
    if (r) {
      spdlog::info("raft: proposed config change {} node {} at index {}", static_cast<int>(t), id, r->index);
      schedule_ready(self);
    } else if (r.error().code != cs::raft_error_code::config_change_pending &&
               r.error().code != cs::raft_error_code::leader_not_ready) {
      spdlog::warn("raft: config change for node {} refused: {}", id, r.error().message);
    }
  };
  for (auto id : desired.voters) {
    if (!cur.contains(id)) return propose(cs::config_change_type::add_learner, id);
  }
  for (auto id : desired.learners) {
    if (!cur.contains(id)) return propose(cs::config_change_type::add_learner, id);
  }
  for (auto id : desired.learners) {
    if (!cur.is_voter(id)) continue;
    // Demotion (voter -> learner): the core has no such single-server change, so it is a removal
    // followed (next call) by add_learner of the same node. The registry keeps the node all along,
    // so its links stay up and it does not stop; it is a voter in its own view until the leader
    // re-adds it (a few ticks), and pre-vote keeps a campaign of it harmless meanwhile.
    if (id != core.id()) return propose(cs::config_change_type::remove_node, id);
    return hand_over("demoted in the registry");
  }
  for (auto id : desired.voters) {
    if (!cur.is_learner(id)) continue;
    const auto p = core.progress_of(id);
    if (p && p->match + promote_lag_max >= core.last_index()) return propose(cs::config_change_type::promote_learner, id);
  }
  std::set<cs::node_id> present(cur.voters);
  present.insert(cur.learners.begin(), cur.learners.end());
  for (auto id : present) {
    if (desired.contains(id)) continue;
    if (id != core.id()) {
      if (!removal_due(s, id)) return;
      s.removals.erase(id);
      return propose(cs::config_change_type::remove_node, id);
    }
    return hand_over("removed from the registry");
  }
}

std::string members_json(self_ptr self) {
  auto& s = self->state;
  const auto& core = *s.core;
  nlohmann::json j;
  j["node_id"] = core.id();
  j["leader"] = core.leader();
  j["term"] = core.term();
  j["commit_index"] = core.commit_index();
  j["last_index"] = core.last_index();
  j["cluster_id"] = s.ctx->cluster_id;
  j["progress_known"] = core.role() == cs::role::leader;
  const auto now = std::chrono::steady_clock::now();
  auto list = nlohmann::json::array();
  std::set<cs::node_id> ids;
  if (s.registry) for (const auto& [id, m] : s.registry->members) ids.insert(id);
  for (auto id : core.membership().voters) ids.insert(id);
  for (auto id : core.membership().learners) ids.insert(id);
  for (auto id : ids) {
    nlohmann::json m;
    m["id"] = id;
    const member_record* rec = nullptr;
    if (s.registry) {
      auto it = s.registry->members.find(id);
      if (it != s.registry->members.end()) rec = &it->second;
    }
    m["name"] = rec ? rec->name : "";
    m["registry_role"] = rec ? std::string(to_string(rec->role)) : "removed";
    m["raft_role"] = core.membership().is_voter(id) ? "voter" : core.membership().is_learner(id) ? "learner" : "absent";
    m["public_key"] = rec ? crypto::to_hex(rec->key.bytes) : "";
    m["peer"] = rec ? rec->peer : "";
    m["client"] = rec ? rec->client : "";
    m["leader"] = id == core.leader();
    if (id == core.id()) {
      m["match_index"] = core.last_index();
      m["lag"] = 0;
      m["last_contact_ms"] = 0;
    } else if (auto p = core.progress_of(id)) {
      m["match_index"] = p->match;
      m["lag"] = core.last_index() > p->match ? core.last_index() - p->match : 0;
      m["state"] = std::string(cs::to_string(p->state));
    }
    if (id != core.id()) {
      auto c = s.last_contact.find(id);
      if (c != s.last_contact.end()) {
        m["last_contact_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(now - c->second).count();
      }
    }
    list.push_back(std::move(m));
  }
  j["members"] = std::move(list);
  return j.dump();
}

// Restart the core from the store (storage/README.md "Restart recipe").
cs::raft_node restart_core(const node_context& ctx) {
  auto& store = *ctx.store;
  cs::config cfg;
  cfg.id = ctx.self;
  cfg.group = community_group;
  cfg.election_ticks = static_cast<int>(ctx.election_ticks);
  cfg.heartbeat_ticks = static_cast<int>(ctx.heartbeat_ticks);
  cfg.lim.snapshot_chunk_bytes_max = limits::raft_snapshot_chunk_bytes;
  cfg.lim.max_inflight_snapshot_chunks = limits::raft_snapshot_chunks_in_flight;
  // A follower refuses a snapshot larger than any image the node could decode (before buffering).
  cfg.lim.snapshot_bytes_max = limits::image_bytes_max;
  cfg.random_seed = ctx.self ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  const auto hs = store.hard_state(community_group);
  std::vector<cs::entry> log;
  const auto last = store.last_index(community_group);
  for (uint64_t lo = store.first_index(community_group); lo <= last;) {
    auto chunk = store.entries(community_group, lo, last + 1, 64u << 20);
    if (!chunk) fatal_storage("read log", chunk.error());
    for (auto& rec : *chunk) log.push_back(from_record(std::move(rec)));
    lo = log.back().index + 1;
  }
  auto meta = store.snapshot_meta(community_group);
  if (!meta) fatal_storage("read snapshot meta", meta.error());
  const cs::hard_state chs{hs.term, hs.vote, hs.commit};
  // etcd's Config.Applied: entries at or below the apply actor's durable applied index are not
  // handed out again. Capped at the persisted commit: a crash between a snapshot install (state
  // and applied index written by apply) and the raft batch that records its commit can leave the
  // applied index ahead; the core then starts from the installed snapshot's index anyway.
  cfg.applied = std::min<uint64_t>(store.applied_index(community_group), hs.commit);
  if (meta->has_value()) {
    auto data = store.snapshot_data(community_group);
    if (!data) fatal_storage("read snapshot", data.error());
    if (data->empty()) {
      // A snapshot this node took itself: meta only (see snapshot_taken); the core asks for the
      // data when a follower needs it, and the apply actor answers with a fresh image.
      spdlog::info("raft: restart from snapshot meta at {} and {} log entries, term {} commit {}", (*meta)->index,
                   log.size(), hs.term, hs.commit);
      return cs::raft_node::restart(cfg, chs, std::optional<cs::snapshot_meta>{from_record(**meta)}, std::move(log));
    }
    cs::snapshot snap{from_record(**meta), std::move(*data)};
    spdlog::info("raft: restart from snapshot at {} and {} log entries, term {} commit {}", snap.meta.index, log.size(),
                 hs.term, hs.commit);
    return cs::raft_node::restart(cfg, chs, std::move(snap), std::move(log));
  }
  spdlog::info("raft: restart with {} log entries, term {} commit {}", log.size(), hs.term, hs.commit);
  return cs::raft_node::restart(cfg, chs, std::optional<cs::snapshot_meta>{}, std::move(log));
}

}  // namespace

namespace {
// The leader packs the commands of a follower's forwarded batches into its own next entries, with
// its own (hold_proposals): one entry per round instead of one per forwarding member. The
// follower's clients are answered by their command hashes when their entry applies there, as
// before. Returns false, leaving the message to the core (which appends its entries as they are),
// when it carries anything but well-formed command batches (an admin request), more entries than
// the core takes from one message, or more commands than the buffer has room for; and when it is
// not addressed to this group and node in the current term (the core handles that as it would).
bool take_forwarded_commands(raft_state& s, const cs::message& m) {
  const auto& core = *s.core;
  if (m.group != core.cfg().group || m.to != core.cfg().id || m.term != core.term()) return false;
  if (m.entries.size() > core.cfg().lim.max_forwarded_entries) return false;
  std::vector<std::vector<std::string>> batches;
  std::size_t count = 0;
  for (const auto& e : m.entries) {
    if (kind_of(e.data) != entry_kind::command_batch) return false;
    auto batch = decode_command_batch(e.data);
    if (!batch) return false;
    count += batch->size();
    batches.push_back(std::move(*batch));
  }
  if (s.proposals.size() + count > proposals_pending_max) return false;
  for (auto& batch : batches) {
    for (auto& c : batch) s.proposals.push_back({std::move(c), nullptr});
  }
  return true;
}

raft_self_actor::behavior_type raft_behavior(self_ptr self, ctx_ptr ctx) {
  auto& s = self->state;
  s.ctx = ctx;
  s.core.emplace(restart_core(*ctx));
  s.last_term = s.core->term();
  const auto tick = std::chrono::milliseconds(ctx->tick_ms);
  return {
      [self](wire_atom, peer_broker_actor peers, apply_actor apply) {
        self->state.peers = std::move(peers);
        self->state.apply = std::move(apply);
        tell_config(self);
        self->delayed_send(self, std::chrono::milliseconds(self->state.ctx->tick_ms), tick_atom::value);
        schedule_ready(self);
      },
      [self, tick](tick_atom) {
        auto& st2 = self->state;
        ++st2.ticks;
        if (st2.ticks % storage_check_ticks(*st2.ctx) == 0) check_storage(*st2.ctx);
        st2.core->tick();
        reconcile_membership(self);
        for (auto it = st2.reads.begin(); it != st2.reads.end();) {
          if (it->second.deadline_tick <= st2.ticks) {
            it->second.promise.deliver(static_cast<uint16_t>(net::client_errc::timeout), uint64_t{0});
            it = st2.reads.erase(it);
          } else {
            ++it;
          }
        }
        schedule_ready(self);
        self->delayed_send(self, tick, tick_atom::value);
      },
      [self](ready_atom) { process_ready(self); },
      [self](peer_in_atom, const cs::message& m) {
        auto& st2 = self->state;
        st2.last_contact[m.from] = std::chrono::steady_clock::now();
        if (m.type == cs::message_type::forward_proposal) {
          // Only command batches and admin requests may be forwarded; a leader tick comes from
          // this node's own clock, never from a peer (actors/membership.hpp).
          for (const auto& e : m.entries) {
            if (e.type != cs::entry_type::normal || !forwardable(e.data)) {
              ++st2.refused_forwards;
              spdlog::warn("raft: refused a forwarded proposal from node {}: entry kind {} may not be forwarded", m.from,
                           e.data.empty() ? -1 : static_cast<int>(static_cast<uint8_t>(e.data[0])));
              return;
            }
          }
          if (st2.core->role() == cs::role::leader && take_forwarded_commands(st2, m)) {
            schedule_ready(self);
            return;
          }
        }
        if (m.type == cs::message_type::snapshot_chunk && m.chunk_offset == 0) {
          spdlog::info("raft: receiving snapshot at index {} term {} ({} bytes) from node {}", m.snap.index, m.snap.term,
                       m.snapshot_bytes, m.from);
        }
        st2.core->step(m);
        schedule_ready(self);
      },
      [self](propose_admin_atom, std::string& request) -> caf::result<uint16_t, uint64_t> {
        auto& core = *self->state.core;
        auto res = core.propose(encode_admin_entry(request));
        schedule_ready(self);
        if (!res) return {code_of(res.error()), res.error().leader_hint};
        return {uint16_t{0}, core.leader()};
      },
      [self](members_atom, std::shared_ptr<const member_registry> reg) {
        auto& st2 = self->state;
        if (st2.registry) {
          for (const auto& [id, m] : st2.registry->members) {
            if (reg->members.count(id) == 0 && id != st2.ctx->self) {
              st2.removals[id] = raft_state::removal{st2.core->commit_index(), st2.ticks, 0};
            }
          }
        }
        const bool member = reg->members.count(st2.ctx->self) != 0;
        // The first registry comes from the store at start: an initial voter missing from it was
        // removed (and crashed before it could stop). A joining node is missing until it is added.
        const bool initial_voter = st2.ctx->initial_registry.members.count(st2.ctx->self) != 0;
        if (member) {
          st2.member_seen = true;
        } else if (!st2.removed && (st2.member_seen || (!st2.registry && initial_voter))) {
          st2.removed = true;
          spdlog::warn("raft: this node ({}) is no longer in the member registry (removed; applied at or below index {}); "
                       "it stops serving and campaigning: stopping (exit 8)",
                       st2.ctx->self, st2.core->commit_index());
          if (st2.ctx->stop) st2.ctx->stop->request(stop_request::removed, "removed from the cluster's member registry");
        }
        st2.registry = std::move(reg);
        reconcile_membership(self);
      },
      [self](members_atom) { return members_json(self); },
      [self](transfer_to_atom, uint64_t target, uint64_t term) {
        // An admin transfer request applied: the leader of the term it was committed in acts.
        auto& core = *self->state.core;
        if (core.role() != cs::role::leader || core.term() != term || target == core.id()) return;
        if (auto r = core.transfer_leadership(target); !r) {
          spdlog::warn("raft: transfer to {} refused: {}", target, r.error().message);
        } else {
          spdlog::info("raft: transferring leadership to {} (admin request)", target);
        }
        schedule_ready(self);
      },
      [self](propose_atom, std::vector<std::string>& commands) -> caf::result<uint16_t, uint64_t> {
        auto& st2 = self->state;
        if (commands.empty()) return {uint16_t{0}, st2.core->leader()};
        if (st2.proposals.size() + commands.size() > proposals_pending_max) {
          return {static_cast<uint16_t>(net::client_errc::busy), st2.core->leader()};
        }
        auto b = std::make_shared<raft_state::pending_batch>();
        b->promise = self->make_response_promise<uint16_t, uint64_t>();
        b->remaining = commands.size();
        for (auto& c : commands) st2.proposals.push_back({std::move(c), b});
        schedule_ready(self);
        return b->promise;
      },
      [self](propose_checkpoint_atom, std::string& entry) -> caf::result<uint16_t, uint64_t> {
        // From this node's own checkpoint actor only (a message inside the process): marks,
        // intents and records are leader-only entry kinds, refused when forwarded.
        auto& core = *self->state.core;
        const auto kind = kind_of(entry);
        if (kind != entry_kind::checkpoint_mark && kind != entry_kind::anchor_intent && kind != entry_kind::anchor_record) {
          return {static_cast<uint16_t>(net::client_errc::malformed), core.leader()};
        }
        if (core.role() != cs::role::leader) return {static_cast<uint16_t>(net::client_errc::no_leader), core.leader()};
        auto res = core.propose(std::move(entry));
        schedule_ready(self);
        if (!res) return {code_of(res.error()), res.error().leader_hint};
        return {uint16_t{0}, core.leader()};
      },
      [self](propose_tick_atom, int64_t time_ms) {
        auto& st2 = self->state;
        if (st2.core->role() != cs::role::leader) return;
        // Its own entry kind: a leader tick can only be appended here (forwarded ones are refused).
        auto res = st2.core->propose(encode_tick_entry(time_ms));
        if (!res) spdlog::debug("raft: tick not proposed: {}", res.error().message);
        schedule_ready(self);
      },
      [self](status_atom) {
        const auto& core = *self->state.core;
        raft_view v;
        v.role = std::string(cs::to_string(core.role()));
        v.term = core.term();
        v.leader = core.leader();
        v.commit_index = core.commit_index();
        v.last_index = core.last_index();
        v.snapshot_index = core.snapshot_metadata().index;
        v.voters.assign(core.membership().voters.begin(), core.membership().voters.end());
        return v;
      },
      [self](read_index_atom) -> caf::result<uint16_t, uint64_t> {
        auto& st2 = self->state;
        const uint64_t rctx = st2.next_read_ctx++;
        if (auto res = st2.core->read_index(rctx); !res) return {code_of(res.error()), uint64_t{0}};
        auto rp = self->make_response_promise<uint16_t, uint64_t>();
        st2.reads.emplace(rctx, raft_state::pending_read{rp, st2.ticks + read_deadline_ticks});
        schedule_ready(self);
        return rp;
      },
      [self](snapshot_taken_atom, uint64_t index) {
        auto& st2 = self->state;
        auto& core = *st2.core;
        if (index <= core.snapshot_metadata().index || index > core.applied_index()) return;
        const auto term = core.term_at(index);
        if (!term) return;
        // The apply actor made its state at `index` durable (its own synced batch) before telling
        // us. No image travels here: encoding it is O(state), and it is needed only when a
        // follower falls behind the new first index; the core then asks for a fresh one
        // (snapshot_data_wanted, step (g)), as after a restart.
        if (auto res = core.compact_without_data(index); !res) {
          spdlog::warn("raft: compact at {} refused: {}", index, res.error().message);
          return;
        }
        // Meta (with membership) first, then drop the log (storage/README.md). Only the meta is
        // written: an O(state) synced write here stalled heartbeats.
        const auto meta = core.snapshot_metadata();
        if (auto res = st2.ctx->store->save_snapshot(community_group, to_record(meta, 0), std::string_view{}); !res) {
          fatal_storage("save snapshot", res.error());
        }
        if (auto res = st2.ctx->store->compact(community_group, index); !res) fatal_storage("compact", res.error());
        spdlog::info("raft: snapshot at index {} (meta only), log compacted", index);
      },
      [self](transfer_atom) {
        auto& core = *self->state.core;
        if (core.role() != cs::role::leader) return false;
        cs::node_id best = cs::no_node;
        uint64_t best_match = 0;
        for (const auto& p : core.progress()) {
          if (p.id == core.id() || p.is_learner || !core.membership().is_voter(p.id)) continue;
          if (best == cs::no_node || p.match > best_match) {
            best = p.id;
            best_match = p.match;
          }
        }
        if (best == cs::no_node) return false;
        auto res = core.transfer_leadership(best);
        schedule_ready(self);
        if (res) spdlog::info("raft: transferring leadership to {}", best);
        return static_cast<bool>(res);
      },
      [self](stop_atom) { self->quit(); },
  };
}

}  // namespace

raft_wired_actor spawn_raft(caf::actor_system& sys, ctx_ptr ctx) {
  return sys.spawn<caf::detached>(raft_behavior, std::move(ctx));
}

}  // namespace energo::actors
