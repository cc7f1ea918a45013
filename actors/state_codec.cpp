#include "actors/state_codec.hpp"

#include <cstring>

namespace energo::actors {

namespace {

constexpr std::string_view image_magic_v1 = "ENI1";
constexpr std::string_view image_magic_v2 = "ENI2";  // v1 + the member registry
constexpr std::string_view image_magic_v3 = "ENI3";  // v2 + the checkpoint book
constexpr std::string_view image_magic = "ENI4";     // v3 + the analytics index (actors/analytics.hpp)

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_bytes(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

struct reader {
  std::string_view in;
  bool good = true;
  uint64_t u64() {
    if (in.size() < 8) return good = false, 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(in[static_cast<std::size_t>(i)])} << (8 * i);
    in.remove_prefix(8);
    return v;
  }
  uint32_t u32() {
    if (in.size() < 4) return good = false, 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(in[static_cast<std::size_t>(i)])} << (8 * i);
    in.remove_prefix(4);
    return v;
  }
  uint8_t u8() {
    if (in.empty()) return good = false, 0;
    const auto v = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    return v;
  }
  std::string bytes(std::size_t max) {
    const uint32_t n = u32();
    if (!good || n > max || n > in.size()) return good = false, std::string();
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace

std::string encode_command_batch(const std::vector<std::string>& commands) {
  std::string out;
  out.push_back(static_cast<char>(entry_batch_version));
  put_u32(out, static_cast<uint32_t>(commands.size()));
  for (const auto& c : commands) put_bytes(out, c);
  return out;
}

std::optional<std::vector<std::string>> decode_command_batch(std::string_view payload) {
  reader r{payload};
  if (r.u8() != entry_batch_version) return std::nullopt;
  const uint32_t n = r.u32();
  if (!r.good || n > limits::commands_per_entry_max) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n && r.good; ++i) out.push_back(r.bytes(payload.size()));
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
  put_bytes(out, o.code_name.substr(0, 64));
  put_bytes(out, o.message.substr(0, limits::outcome_message_bytes_max));
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
  o.code_name = r.bytes(64);
  o.message = r.bytes(limits::outcome_message_bytes_max);
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
  put_bytes(out, img.ledger_bytes);
  put_u32(out, static_cast<uint32_t>(img.outcomes.size()));
  for (const auto& [hash, o] : img.outcomes) {
    put_bytes(out, hash);
    put_bytes(out, encode_outcome(o));
  }
  put_bytes(out, img.registry_bytes);
  put_bytes(out, img.checkpoint_bytes);
  put_bytes(out, img.analytics_bytes);
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
  img.ledger_bytes = r.bytes(limits::image_bytes_max);
  const uint32_t n = r.u32();
  if (!r.good || n > limits::outcome_cache_entries_max) return std::nullopt;
  for (uint32_t i = 0; i < n && r.good; ++i) {
    std::string hash = r.bytes(32);
    auto o = decode_outcome(r.bytes(1024));
    if (!r.good || hash.size() != 32 || !o) return std::nullopt;
    img.outcomes.emplace_back(std::move(hash), std::move(*o));
  }
  if (v2) img.registry_bytes = r.bytes(limits::registry_bytes_max);
  if (v3) img.checkpoint_bytes = r.bytes(limits::checkpoint_image_bytes_max);
  if (v4) img.analytics_bytes = r.bytes(limits::analytics_bytes_max);
  if (!r.good || !r.in.empty()) return std::nullopt;
  return img;
}

}  // namespace energo::actors
