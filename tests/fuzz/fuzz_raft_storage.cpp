// Raft log entries and records as read back from disk (storage/codec.hpp). Input: [selector][rest].
// Selector low 3 bits pick the decoder; bit 7 appends the correct CRC32C so that the fuzzer
// reaches the fields behind the checksum. Contract: every decoder refuses or returns a record
// that re-encodes to exactly its input (the on-disk format has one encoding per record).
#include "storage/codec.hpp"
#include "storage/crc32c.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;
namespace codec = storage::codec;

namespace {

// rest, or rest || le32 crc32c(key || rest) when asked to seal it.
std::string value_for(std::string_view key, std::string_view rest, bool fix_crc) {
  std::string v(rest);
  if (fix_crc) {
    const uint32_t crc = storage::crc32c_extend(storage::crc32c(key), rest.data(), rest.size());
    codec::put_le32(v, crc);
  }
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::reader in(data, size);
  const uint8_t selector = in.u8();
  const bool fix_crc = (selector & 0x80) != 0;
  switch (selector & 7) {
    case 0: {  // a log entry under a fixed key
      const std::string key = codec::log_key(3, 42);
      const std::string value = value_for(key, fuzz::as_text(in.rest()), fix_crc);
      auto rec = codec::decode_log_value(key, value);
      if (!rec) return 0;
      FUZZ_CHECK(rec->index == 42);
      FUZZ_CHECK(codec::encode_log_value(key, *rec) == value);
      break;
    }
    case 1: {  // a log entry under a key from the input: [key length][key][value]
      const auto key = std::string(fuzz::as_text(in.take(in.u8())));
      const std::string value = value_for(key, fuzz::as_text(in.rest()), fix_crc);
      auto rec = codec::decode_log_value(key, value);
      if (!rec) return 0;
      storage::group_id g = 0;
      storage::log_index i = 0;
      FUZZ_CHECK(codec::decode_log_key(key, g, i) && i == rec->index);
      FUZZ_CHECK(codec::log_key(g, i) == key);
      FUZZ_CHECK(codec::encode_log_value(key, *rec) == value);
      break;
    }
    case 2: {  // a sealed raft_state record: hard state
      const std::string key = codec::tagged_key(3, codec::tag_hard_state);
      const std::string value = value_for(key, fuzz::as_text(in.rest()), fix_crc);
      auto body = codec::unseal(key, value);
      if (!body) return 0;
      FUZZ_CHECK(codec::seal(key, std::string(*body)) == value);
      auto hs = codec::decode_hard_state(*body);
      if (hs) FUZZ_CHECK(codec::encode_hard_state(*hs) == *body);
      break;
    }
    case 3: {
      const auto body = fuzz::as_text(in.rest());
      auto it = codec::decode_index_term(body);
      if (it) FUZZ_CHECK(codec::encode_index_term(*it) == body);
      auto u = codec::decode_u64(body);
      if (u) FUZZ_CHECK(codec::encode_u64(*u) == body);
      break;
    }
    default: {  // snapshot meta (most of the structure)
      const std::string key = codec::tagged_key(3, codec::tag_snapshot_meta);
      const std::string value = value_for(key, fuzz::as_text(in.rest()), fix_crc);
      auto body = codec::unseal(key, value);
      if (!body) return 0;
      auto meta = codec::decode_snapshot_meta(*body);
      if (!meta) return 0;
      FUZZ_CHECK(codec::encode_snapshot_meta(*meta) == *body);
      FUZZ_CHECK(meta->meta.config.voters.size() <= storage::limits::membership_nodes_max);
      break;
    }
  }
  return 0;
}
