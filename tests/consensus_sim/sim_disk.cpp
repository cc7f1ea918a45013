#include "tests/consensus_sim/sim_disk.hpp"

#include <algorithm>
#include <iterator>
#include <set>

#include "storage/codec.hpp"
#include "storage/crc32c.hpp"
#include "storage/log_recovery.hpp"

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

// ---------------------------------------------------------------------------------------------
// Disk faults: the node store's records (storage/codec.hpp), not a codec of our own.

namespace energo::sim {
namespace {

namespace codec = storage::codec;

std::vector<storage::node_id> ids_of(const std::set<consensus::node_id>& s) { return {s.begin(), s.end()}; }
std::set<consensus::node_id> set_of(const std::vector<storage::node_id>& v) { return {v.begin(), v.end()}; }

store_recovery refuse(std::string why) { return store_recovery{std::nullopt, "refusing to start: " + std::move(why)}; }

}  // namespace

bool same_durable_state(const durable_state& a, const durable_state& b) {
  if (!(a.hard == b.hard) || a.log != b.log || a.snap.has_value() != b.snap.has_value()) return false;
  return !a.snap || (a.snap->meta == b.snap->meta && a.snap->data == b.snap->data);
}

store_image encode_store(const durable_state& d) {
  const uint64_t g = store_group;
  store_image img;
  const std::string hk = codec::tagged_key(g, codec::tag_hard_state);
  img.raft_state[hk] = codec::seal(hk, codec::encode_hard_state({d.hard.term, d.hard.vote, d.hard.commit}));
  if (d.snap) {
    const auto& meta = d.snap->meta;
    const std::string ck = codec::tagged_key(g, codec::tag_compacted);
    img.raft_state[ck] = codec::seal(ck, codec::encode_index_term({meta.index, meta.term}));
    // As node_store's add_snapshot: 1 MiB chunks, the meta carries their count and the data crc.
    const std::string& data = d.snap->data;
    codec::snapshot_meta_body body;
    body.meta.index = meta.index;
    body.meta.term = meta.term;
    body.meta.config = {ids_of(meta.config.voters), ids_of(meta.config.learners), ids_of(meta.config.voters_outgoing)};
    body.meta.data_bytes = data.size();
    body.chunk_count = (data.size() + storage::limits::snapshot_chunk_bytes - 1) / storage::limits::snapshot_chunk_bytes;
    body.data_crc = storage::crc32c(data);
    for (uint64_t c = 0; c < body.chunk_count; ++c) {
      const std::string key = codec::chunk_key(g, c);
      img.snapshot[key] = codec::seal(key, data.substr(c * storage::limits::snapshot_chunk_bytes,
                                                       storage::limits::snapshot_chunk_bytes));
    }
    const std::string mk = codec::tagged_key(g, codec::tag_snapshot_meta);
    img.snapshot[mk] = codec::seal(mk, codec::encode_snapshot_meta(body));
  }
  for (const auto& e : d.log) {
    const std::string key = codec::log_key(g, e.index);
    img.log[key] = codec::encode_log_value(key, {e.term, e.index, static_cast<uint8_t>(e.type), e.data});
  }
  return img;
}

store_recovery recover_store(const store_image& img) {
  const uint64_t g = store_group;
  durable_state d;
  // Raft state records, sealed (node_store::recover_group).
  if (auto it = img.raft_state.find(codec::tagged_key(g, codec::tag_hard_state)); it != img.raft_state.end()) {
    auto body = codec::unseal(it->first, it->second);
    if (!body) return refuse("hard state: " + body.error().message);
    auto hs = codec::decode_hard_state(*body);
    if (!hs) return refuse("hard state: " + hs.error().message);
    d.hard = {hs->term, hs->vote, hs->commit};
  }
  codec::index_term compacted;
  if (auto it = img.raft_state.find(codec::tagged_key(g, codec::tag_compacted)); it != img.raft_state.end()) {
    auto body = codec::unseal(it->first, it->second);
    if (!body) return refuse("compacted marker: " + body.error().message);
    auto c = codec::decode_index_term(*body);
    if (!c) return refuse("compacted marker: " + c.error().message);
    compacted = *c;
  }
  // Snapshot meta + chunks (node_store::snapshot_meta / snapshot_data, read by the restart recipe).
  if (auto it = img.snapshot.find(codec::tagged_key(g, codec::tag_snapshot_meta)); it != img.snapshot.end()) {
    auto body = codec::unseal(it->first, it->second);
    if (!body) return refuse("snapshot meta: " + body.error().message);
    auto meta = codec::decode_snapshot_meta(*body);
    if (!meta || meta->meta.data_bytes > storage::limits::snapshot_bytes_max)
      return refuse("snapshot meta unreadable or over snapshot_bytes_max");
    std::string data;
    for (uint64_t c = 0; c < meta->chunk_count; ++c) {
      auto chunk_it = img.snapshot.find(codec::chunk_key(g, c));
      if (chunk_it == img.snapshot.end()) return refuse("snapshot chunk " + std::to_string(c) + " missing");
      auto chunk = codec::unseal(chunk_it->first, chunk_it->second);
      if (!chunk) return refuse("snapshot chunk " + std::to_string(c) + " checksum mismatch");
      data.append(*chunk);
    }
    if (data.size() != meta->meta.data_bytes || storage::crc32c(data) != meta->data_crc)
      return refuse("snapshot data does not match its meta checksum");
    consensus::snapshot snap;
    snap.meta.index = meta->meta.index;
    snap.meta.term = meta->meta.term;
    snap.meta.config = {set_of(meta->meta.config.voters), set_of(meta->meta.config.learners),
                        set_of(meta->meta.config.voters_outgoing)};
    snap.data = std::move(data);
    d.snap = std::move(snap);
  }
  // The log: the store's own recovery rules (storage/log_recovery.hpp), every record through the codec.
  const std::string where = "group " + std::to_string(g);
  if (!img.log.empty()) {
    storage::group_id kg = 0;
    storage::log_index first = 0;
    if (!codec::decode_log_key(img.log.begin()->first, kg, first) || kg != g) return refuse(where + ": malformed log key");
    if (auto r = storage::check_log_start(where, first, compacted.index); !r) return refuse(r.error().message);
  }
  storage::log_verifier verify(g, compacted.index + 1, compacted.term, where);
  for (const auto& [key, value] : img.log) {
    auto record = verify.next(key, value);
    if (!record) return refuse(record.error().message);
    // Beyond the store (which does not interpret the type byte): the core knows only these types.
    if (record->type > static_cast<uint8_t>(consensus::entry_type::noop))
      return refuse("unknown entry type at index " + std::to_string(record->index));
    d.log.push_back({record->term, record->index, static_cast<consensus::entry_type>(record->type),
                     std::move(record->payload)});
  }
  if (d.snapshot_index() != compacted.index)
    return refuse("snapshot at " + std::to_string(d.snapshot_index()) + " but the compacted index is " +
                  std::to_string(compacted.index));
  if (auto r = storage::check_commit_within_log(where, d.hard.commit, d.last_index()); !r) return refuse(r.error().message);
  return store_recovery{std::move(d), {}};
}

std::string corrupt_one_record(store_image& img, prng& rng) {
  auto draw = [&rng](uint64_t bound) { return rng.below(bound); };
  std::vector<std::pair<std::map<std::string, std::string>*, std::string>> all;
  for (auto* family : {&img.log, &img.raft_state, &img.snapshot})
    for (const auto& [key, value] : *family) all.emplace_back(family, key);
  if (all.empty()) return {};
  auto& [family, key] = all[draw(all.size())];
  std::string& v = (*family)[key];
  const std::string name = family == &img.log ? "log entry" : family == &img.raft_state ? "raft_state record" : "snapshot record";
  uint64_t kind = draw(4);
  if (kind == 3 && family->size() < 2) kind = 0;
  if (v.empty()) kind = 3;
  switch (kind) {
    case 0: {
      v[draw(v.size())] ^= static_cast<char>(1u << draw(8));
      return name + ": one bit flipped";
    }
    case 1: {
      v[draw(v.size())] ^= static_cast<char>(1 + draw(255));
      return name + ": one byte overwritten";
    }
    case 2: {
      v.resize(draw(v.size()));
      return name + ": value cut to " + std::to_string(v.size()) + " bytes";
    }
    default: {
      // Another key's value written here (a misdirected write): its checksum covers the other key.
      auto other = family->begin();
      std::advance(other, static_cast<std::ptrdiff_t>(draw(family->size())));
      if (other->first == key) other = std::next(other) == family->end() ? family->begin() : std::next(other);
      if (other->first == key || other->second == v) {
        v += '\0';
        return name + ": a byte appended";
      }
      v = other->second;
      return name + ": holds another key's value";
    }
  }
}

std::string wal_record_of_ready(const consensus::ready& r) {
  // The batch's puts in the store's layout; the framing is the model of RocksDB's WAL record.
  std::string body;
  auto put = [&](const std::string& key, const std::string& value) {
    codec::put_le32(body, static_cast<uint32_t>(key.size()));
    body += key;
    codec::put_le32(body, static_cast<uint32_t>(value.size()));
    body += value;
  };
  for (const auto& e : r.entries_to_persist) {
    const std::string key = codec::log_key(store_group, e.index);
    put(key, codec::encode_log_value(key, {e.term, e.index, static_cast<uint8_t>(e.type), e.data}));
  }
  if (r.hard_state) {
    const std::string key = codec::tagged_key(store_group, codec::tag_hard_state);
    put(key, codec::seal(key, codec::encode_hard_state({r.hard_state->term, r.hard_state->vote, r.hard_state->commit})));
  }
  if (r.snapshot_to_install) {
    const std::string key = codec::tagged_key(store_group, codec::tag_snapshot_meta);
    put(key, r.snapshot_to_install->data);
  }
  std::string out;
  codec::put_le32(out, static_cast<uint32_t>(body.size()));
  codec::put_le32(out, storage::crc32c(body));
  return out + body;
}

bool wal_record_intact(std::string_view bytes) {
  if (bytes.size() < 8) return false;
  const uint32_t len = codec::get_le32(bytes.data());
  if (bytes.size() - 8 < len) return false;
  return storage::crc32c(bytes.substr(8, len)) == codec::get_le32(bytes.data() + 4);
}

}  // namespace energo::sim
