#pragma once
// Internal: byte layout of every key and value (see storage/README.md "Key layout").
// Keys are big-endian so that RocksDB's bytewise order is (group, index) numeric order.
// Values are little-endian fixed-width fields followed by a CRC32C over key || body, so a value
// copied under a different key (group or index) fails verification too.
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/error.hpp"
#include "storage/records.hpp"

namespace energo::storage::codec {

inline constexpr std::size_t group_prefix_bytes = 8;
inline constexpr std::size_t log_key_bytes = 16;
inline constexpr std::size_t crc_bytes = 4;
inline constexpr uint8_t log_value_version = 1;

// raft_state column family: group prefix + one tag byte.
inline constexpr char tag_hard_state = 'h';
inline constexpr char tag_compacted = 'c';  // (index, term) of the last compacted entry
inline constexpr char tag_applied = 'a';    // state-machine applied index
// snapshot column family: group prefix + tag (+ be64 chunk number for data).
inline constexpr char tag_snapshot_meta = 'm';
inline constexpr char tag_snapshot_data = 'd';

void put_be64(std::string& out, uint64_t v);
void put_be32(std::string& out, uint32_t v);
void put_le64(std::string& out, uint64_t v);
void put_le32(std::string& out, uint32_t v);
[[nodiscard]] uint64_t get_be64(const char* p) noexcept;
[[nodiscard]] uint32_t get_be32(const char* p) noexcept;
[[nodiscard]] uint64_t get_le64(const char* p) noexcept;
[[nodiscard]] uint32_t get_le32(const char* p) noexcept;

[[nodiscard]] std::string group_prefix(group_id group);
[[nodiscard]] std::string log_key(group_id group, log_index index);
// False if `key` is not a well-formed log key.
[[nodiscard]] bool decode_log_key(std::string_view key, group_id& group, log_index& index) noexcept;
[[nodiscard]] std::string tagged_key(group_id group, char tag);
[[nodiscard]] std::string chunk_key(group_id group, uint64_t chunk);
[[nodiscard]] std::string state_key(group_id group, std::string_view user_key);

// Log entry value: [version u8][term le64][type u8][payload][crc32c(key || preceding bytes) le32].
[[nodiscard]] std::string encode_log_value(std::string_view key, const log_record& record);
// Verifies the checksum and decodes; `group`/`index` are taken from the (verified) key.
[[nodiscard]] storage_result<log_record> decode_log_value(std::string_view key, std::string_view value);

// Generic sealed value: body || crc32c(key || body).
[[nodiscard]] std::string seal(std::string_view key, std::string body);
[[nodiscard]] storage_result<std::string_view> unseal(std::string_view key, std::string_view value);

[[nodiscard]] std::string encode_hard_state(const hard_state_record& hs);
[[nodiscard]] storage_result<hard_state_record> decode_hard_state(std::string_view body);
struct index_term {
  log_index index{0};
  log_term term{0};
};
[[nodiscard]] std::string encode_index_term(index_term it);
[[nodiscard]] storage_result<index_term> decode_index_term(std::string_view body);
[[nodiscard]] std::string encode_u64(uint64_t v);
[[nodiscard]] storage_result<uint64_t> decode_u64(std::string_view body);
// Snapshot meta body also carries the blob's chunk count and CRC32C.
struct snapshot_meta_body {
  snapshot_meta_record meta;
  uint64_t chunk_count{0};
  uint32_t data_crc{0};
};
[[nodiscard]] std::string encode_snapshot_meta(const snapshot_meta_body& body);
[[nodiscard]] storage_result<snapshot_meta_body> decode_snapshot_meta(std::string_view body);

}  // namespace energo::storage::codec
