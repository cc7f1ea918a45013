#pragma once
// Simulated disk of one node: only what reached durable_ survives a crash. A ready's writes are
// in flight for a seeded latency; a crash before they complete loses them (all of them: our
// storage writes a ready as one atomic batch, like a RocksDB WriteBatch with sync).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "consensus/raft.hpp"
#include "consensus/types.hpp"
#include "tests/consensus_sim/prng.hpp"

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

bool same_durable_state(const durable_state& a, const durable_state& b);

// --- The node store's records (disk faults; README.md "Torn and corrupted log records") --------
// What storage::node_store holds for one group after RocksDB's own recovery, as bytes in its
// key/value layout (storage/README.md "Key layout"), written and read with the store's own codec
// (storage/codec.hpp): log entries `[ver][term][type][payload][crc32c(key || body)]`, sealed hard
// state, compacted marker, snapshot meta and 1 MiB snapshot chunks.
inline constexpr uint64_t store_group = 7;
struct store_image {
  std::map<std::string, std::string> log, raft_state, snapshot;  // column family: key -> value
};
store_image encode_store(const durable_state& d);

// Reads the image back the way node_store recovery and the restart recipe do: every record
// through the codec (checksums), the log through the store's own recovery rules
// (storage/log_recovery.hpp: starts right after the compacted index, contiguous, terms
// non-decreasing, commit within the log); snapshot chunks match the meta's size and checksum.
// Any failure is `error` (the replica refuses to start).
struct store_recovery {
  std::optional<durable_state> state;
  std::string error;
};
store_recovery recover_store(const store_image& img);

// Damages one record of the image in place (a bit, a byte, a cut value, or another key's value
// written here: a misdirected write) and says which. Every such change must fail recovery.
std::string corrupt_one_record(store_image& img, prng& rng);

// A batch in flight is one RocksDB WAL record: [u32 length][u32 crc32c][body]. A crash that tears
// it leaves a prefix; replay (kPointInTimeRecovery) keeps a record only if whole and intact.
std::string wal_record_of_ready(const consensus::ready& r);
bool wal_record_intact(std::string_view bytes);

}  // namespace energo::sim
