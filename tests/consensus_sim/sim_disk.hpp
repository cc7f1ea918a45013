#pragma once
// Simulated disk of one node: only what reached durable_ survives a crash. A ready's writes are
// in flight for a seeded latency; a crash before they complete loses them (all of them: our
// storage writes a ready as one atomic batch, like a RocksDB WriteBatch with sync).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "consensus/raft.hpp"
#include "consensus/types.hpp"

namespace energo::sim {

struct durable_state {
  consensus::hard_state hard;
  std::optional<consensus::snapshot> snap;
  std::vector<consensus::entry> log;  // contiguous, starting right after snap (or at index 1)

  consensus::index_t snapshot_index() const { return snap ? snap->meta.index : 0; }
  consensus::index_t last_index() const { return log.empty() ? snapshot_index() : log.back().index; }
  consensus::index_t first_index() const { return snapshot_index() + 1; }
  // nullopt if compacted away (and not the snapshot's own index) or beyond the log.
  std::optional<consensus::term_t> term_at(consensus::index_t i) const {
    if (snap && i == snap->meta.index) return snap->meta.term;
    if (i == 0) return 0;
    if (i < first_index() || i > last_index()) return std::nullopt;
    return log[i - first_index()].term;
  }
};

// Problems found while writing: the core asked for something the storage contract forbids
// (e.g. a gap in the log). The simulator reports them as failures.
struct disk_write_error {
  std::string message;
};

// Applies the persistent part of a ready in the order the core documents (snapshot, log,
// hard state). Returns an error message instead of writing on a contract violation.
std::optional<disk_write_error> persist_ready(durable_state& disk, const consensus::ready& r);

// The application compacted at `meta.index`: keep the snapshot, drop the log prefix.
void persist_compaction(durable_state& disk, const consensus::snapshot& snap);

}  // namespace energo::sim
