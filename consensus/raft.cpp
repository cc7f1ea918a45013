// Skeleton: compiles and links; the real state machine follows in the next commit.
#include "consensus/raft.hpp"

namespace energo::consensus {

struct raft_node::impl {
  config cfg;
  hard_state hs;
  consensus::role r = role::follower;
  node_id lead = no_node;
  index_t applied = 0;
  std::vector<entry> log;
  snapshot_meta snap;
  consensus::membership members;
  std::vector<std::string> violations;
};

std::string_view to_string(role r) {
  switch (r) {
    case role::follower: return "follower";
    case role::pre_candidate: return "pre_candidate";
    case role::candidate: return "candidate";
    case role::leader: return "leader";
  }
  return "unknown";
}
std::string_view to_string(progress_state s) {
  switch (s) {
    case progress_state::probe: return "probe";
    case progress_state::replicate: return "replicate";
    case progress_state::snapshot: return "snapshot";
  }
  return "unknown";
}

raft_node::raft_node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
raft_node::raft_node(raft_node&&) noexcept = default;
raft_node& raft_node::operator=(raft_node&&) noexcept = default;
raft_node::~raft_node() = default;

raft_node raft_node::restart(config cfg, hard_state hs, std::optional<snapshot_meta> snap,
                             std::vector<entry> log) {
  auto p = std::make_unique<impl>();
  p->cfg = cfg;
  p->hs = hs;
  if (snap) p->snap = *snap;
  p->log = std::move(log);
  return raft_node(std::move(p));
}
raft_node raft_node::bootstrap(config cfg, consensus::membership initial) {
  auto p = std::make_unique<impl>();
  p->cfg = cfg;
  p->members = std::move(initial);
  return raft_node(std::move(p));
}

void raft_node::tick() {}
void raft_node::step(const message&) {}
propose_result raft_node::propose(std::string) {
  return unexpected{raft_error{raft_error_code::not_leader, "skeleton", no_node}};
}
propose_result raft_node::propose_config_change(config_change) {
  return unexpected{raft_error{raft_error_code::not_leader, "skeleton", no_node}};
}
raft_status raft_node::transfer_leadership(node_id) {
  return unexpected{raft_error{raft_error_code::not_leader, "skeleton", no_node}};
}
raft_status raft_node::read_index(uint64_t) {
  return unexpected{raft_error{raft_error_code::not_leader, "skeleton", no_node}};
}
raft_status raft_node::compact(index_t, std::string) { return ok; }
void raft_node::campaign() {}
bool raft_node::has_ready() const { return false; }
ready raft_node::get_ready() { return {}; }
void raft_node::advance(const ready&) {}

node_id raft_node::id() const { return impl_->cfg.id; }
group_id raft_node::group() const { return impl_->cfg.group; }
consensus::role raft_node::role() const { return impl_->r; }
term_t raft_node::term() const { return impl_->hs.term; }
node_id raft_node::vote() const { return impl_->hs.vote; }
node_id raft_node::leader() const { return impl_->lead; }
index_t raft_node::commit_index() const { return impl_->hs.commit; }
index_t raft_node::applied_index() const { return impl_->applied; }
index_t raft_node::first_index() const { return impl_->snap.index + 1; }
index_t raft_node::last_index() const { return impl_->snap.index + impl_->log.size(); }
term_t raft_node::last_term() const { return impl_->log.empty() ? impl_->snap.term : impl_->log.back().term; }
index_t raft_node::stable_index() const { return last_index(); }
std::optional<term_t> raft_node::term_at(index_t) const { return std::nullopt; }
std::vector<entry> raft_node::entries(index_t, index_t) const { return {}; }
const consensus::membership& raft_node::membership() const { return impl_->members; }
index_t raft_node::config_index() const { return 0; }
const snapshot_meta& raft_node::snapshot_metadata() const { return impl_->snap; }
bool raft_node::is_learner() const { return impl_->members.is_learner(impl_->cfg.id); }
node_id raft_node::transfer_target() const { return no_node; }
uint64_t raft_node::uncommitted_bytes() const { return 0; }
uint64_t raft_node::pending_read_count() const { return 0; }
std::vector<progress_view> raft_node::progress() const { return {}; }
std::optional<progress_view> raft_node::progress_of(node_id) const { return std::nullopt; }
const config& raft_node::cfg() const { return impl_->cfg; }
const std::vector<std::string>& raft_node::invariant_violations() const { return impl_->violations; }

std::vector<std::string> check_invariants(const raft_node&, invariant_history&) { return {}; }

}  // namespace energo::consensus
