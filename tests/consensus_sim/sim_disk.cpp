#include "tests/consensus_sim/sim_disk.hpp"

#include <algorithm>

namespace energo::sim {

std::optional<disk_write_error> persist_ready(durable_state& disk, const consensus::ready& r) {
  if (r.snapshot_to_install) {
    const auto& meta = r.snapshot_to_install->meta;
    if (meta.index < disk.snapshot_index()) {
      return disk_write_error{"snapshot_to_install at " + std::to_string(meta.index) +
                              " is older than the durable snapshot at " + std::to_string(disk.snapshot_index())};
    }
    // Raft §7: keep the log suffix only if it continues the snapshot's last entry.
    const auto t = disk.term_at(meta.index);
    std::vector<consensus::entry> kept;
    if (t && *t == meta.term) {
      for (auto& e : disk.log)
        if (e.index > meta.index) kept.push_back(e);
    }
    disk.snap = *r.snapshot_to_install;
    disk.log = std::move(kept);
  }
  if (!r.entries_to_persist.empty()) {
    const auto& es = r.entries_to_persist;
    for (size_t i = 1; i < es.size(); ++i) {
      if (es[i].index != es[i - 1].index + 1) return disk_write_error{"entries_to_persist are not contiguous"};
    }
    const consensus::index_t from = es.front().index;
    if (from <= disk.snapshot_index()) {
      return disk_write_error{"entries_to_persist start at " + std::to_string(from) +
                              ", inside the durable snapshot (index " + std::to_string(disk.snapshot_index()) + ")"};
    }
    if (from > disk.last_index() + 1) {
      return disk_write_error{"entries_to_persist start at " + std::to_string(from) + " but the durable log ends at " +
                              std::to_string(disk.last_index()) + " (gap)"};
    }
    disk.log.resize(from - disk.first_index());  // truncate the conflicting suffix
    disk.log.insert(disk.log.end(), es.begin(), es.end());
  }
  if (r.hard_state) disk.hard = *r.hard_state;
  return std::nullopt;
}

void persist_compaction(durable_state& disk, const consensus::snapshot& snap) {
  const consensus::index_t upto = snap.meta.index;
  if (upto <= disk.snapshot_index()) return;
  std::vector<consensus::entry> kept;
  for (auto& e : disk.log)
    if (e.index > upto) kept.push_back(std::move(e));
  disk.log = std::move(kept);
  disk.snap = snap;
}

}  // namespace energo::sim
