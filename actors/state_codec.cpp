#include "actors/state_codec.hpp"

#include <cstring>

#include "common/le_bytes.hpp"

namespace energo::actors {

namespace {

constexpr std::string_view image_magic_v1 = "ENI1";
constexpr std::string_view image_magic_v2 = "ENI2";  // v1 + the member registry
constexpr std::string_view image_magic_v3 = "ENI3";  // v2 + the checkpoint book
constexpr std::string_view image_magic = "ENI4";     // v3 + the analytics index (actors/analytics.hpp)

using namespace energo::le_bytes;

}  // namespace

std::string encode_command_batch(const std::vector<std::string>& commands) {
  std::string out;
  out.push_back(static_cast<char>(entry_batch_version));
  put_u32(out, static_cast<uint32_t>(commands.size()));
  for (const auto& c : commands) put_bytes32(out, c);
  return out;
}

std::optional<std::vector<std::string>> decode_command_batch(std::string_view payload) {
  reader r{payload};
  if (r.u8() != entry_batch_version) return std::nullopt;
  const uint32_t n = r.u32();
  if (!r.good || n > limits::commands_per_entry_max) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n && r.good; ++i) out.push_back(r.bytes32(payload.size()));
  if (!r.good || !r.in.empty()) return std::nullopt;
  return out;
}

std::string encode_outcome(const stored_outcome& s) {
  const auto& o = s.outcome;
  std::string out;
  out.push_back(1);  // version
  put_u64(out, s.index);
  put_u32(out, s.position);
  out.push_back(o.accepted ? 1 : 0);
  put_u32(out, o.code);
  put_bytes32(out, o.code_name.substr(0, 64));
  put_bytes32(out, o.message.substr(0, limits::outcome_message_bytes_max));
  for (int64_t v : {o.minted_wh, o.burned_wh, o.fees_units, o.filled_wh, o.trades, o.epochs_closed}) {
    put_u64(out, static_cast<uint64_t>(v));
  }
  put_u64(out, o.order_id);
  put_u64(out, o.session_id);
  out.push_back(o.created_account ? 1 : 0);
  return out;
}

std::optional<stored_outcome> decode_outcome(std::string_view bytes) {
  reader r{bytes};
  if (r.u8() != 1) return std::nullopt;
  stored_outcome s;
  auto& o = s.outcome;
  s.index = r.u64();
  s.position = r.u32();
  o.index = s.index;
  o.accepted = r.u8() != 0;
  o.code = static_cast<uint16_t>(r.u32());
  o.code_name = r.bytes32(64);
  o.message = r.bytes32(limits::outcome_message_bytes_max);
  o.minted_wh = static_cast<int64_t>(r.u64());
  o.burned_wh = static_cast<int64_t>(r.u64());
  o.fees_units = static_cast<int64_t>(r.u64());
  o.filled_wh = static_cast<int64_t>(r.u64());
  o.trades = static_cast<int64_t>(r.u64());
  o.epochs_closed = static_cast<int64_t>(r.u64());
  o.order_id = r.u64();
  o.session_id = r.u64();
  o.created_account = r.u8() != 0;
  if (!r.good || !r.in.empty()) return std::nullopt;
  return s;
}

std::string encode_image(const node_image& img) {
  std::string out(image_magic);
  put_u64(out, img.applied_index);
  put_bytes32(out, img.ledger_bytes);
  put_u32(out, static_cast<uint32_t>(img.outcomes.size()));
  for (const auto& [hash, o] : img.outcomes) {
    put_bytes32(out, hash);
    put_bytes32(out, encode_outcome(o));
  }
  put_bytes32(out, img.registry_bytes);
  put_bytes32(out, img.checkpoint_bytes);
  put_bytes32(out, img.analytics_bytes);
  return out;
}

std::optional<node_image> decode_image(std::string_view bytes) {
  if (bytes.size() > limits::image_bytes_max) return std::nullopt;
  const bool v4 = bytes.substr(0, image_magic.size()) == image_magic;
  const bool v3 = v4 || bytes.substr(0, image_magic_v3.size()) == image_magic_v3;
  const bool v2 = v3 || bytes.substr(0, image_magic_v2.size()) == image_magic_v2;
  if (!v2 && bytes.substr(0, image_magic_v1.size()) != image_magic_v1) return std::nullopt;
  reader r{bytes.substr(image_magic.size())};
  node_image img;
  img.applied_index = r.u64();
  img.ledger_bytes = r.bytes32(limits::image_bytes_max);
  const uint32_t n = r.u32();
  if (!r.good || n > limits::outcome_cache_entries_max) return std::nullopt;
  for (uint32_t i = 0; i < n && r.good; ++i) {
    std::string hash = r.bytes32(32);
    auto o = decode_outcome(r.bytes32(1024));
    if (!r.good || hash.size() != 32 || !o) return std::nullopt;
    img.outcomes.emplace_back(std::move(hash), std::move(*o));
  }
  if (v2) img.registry_bytes = r.bytes32(limits::registry_bytes_max);
  if (v3) img.checkpoint_bytes = r.bytes32(limits::checkpoint_image_bytes_max);
  if (v4) img.analytics_bytes = r.bytes32(limits::analytics_bytes_max);
  if (!r.good || !r.in.empty()) return std::nullopt;
  return img;
}

}  // namespace energo::actors
