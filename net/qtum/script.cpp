#include "net/qtum/script.hpp"

#include <algorithm>

#include "common/assert.hpp"

namespace energo::qtum {

bool next_op(crypto::byte_span script, std::size_t& pos, script_op& out) {
  out = script_op{};
  if (pos >= script.size()) return false;
  const uint8_t opcode = script[pos++];
  const std::size_t end = script.size();
  if (opcode <= op::pushdata4) {
    std::size_t size = 0;
    if (opcode < op::pushdata1) {
      size = opcode;
    } else if (opcode == op::pushdata1) {
      if (end - pos < 1) return false;
      size = script[pos];
      pos += 1;
    } else if (opcode == op::pushdata2) {
      if (end - pos < 2) return false;
      size = script[pos] | (std::size_t{script[pos + 1]} << 8);
      pos += 2;
    } else {
      if (end - pos < 4) return false;
      size = script[pos] | (std::size_t{script[pos + 1]} << 8) | (std::size_t{script[pos + 2]} << 16) |
             (std::size_t{script[pos + 3]} << 24);
      pos += 4;
    }
    if (end - pos < size) return false;
    out.data = script.subspan(pos, size);
    pos += size;
  }
  out.opcode = opcode;
  return true;
}

void append_push(bytes& script, crypto::byte_span data) {
  ENERGO_ASSERT(data.size() <= 0xffff, "push data above 65535 bytes");
  if (data.size() < op::pushdata1) {
    script.push_back(static_cast<uint8_t>(data.size()));
  } else if (data.size() <= 0xff) {
    script.push_back(op::pushdata1);
    script.push_back(static_cast<uint8_t>(data.size()));
  } else {
    script.push_back(op::pushdata2);
    script.push_back(static_cast<uint8_t>(data.size()));
    script.push_back(static_cast<uint8_t>(data.size() >> 8));
  }
  script.insert(script.end(), data.begin(), data.end());
}

bytes p2pkh_script(const crypto::hash160& key_hash) {
  bytes s{op::dup, op::hash160};
  append_push(s, key_hash);
  s.push_back(op::equalverify);
  s.push_back(op::checksig);
  return s;
}

bytes op_return_script(crypto::byte_span data) {
  bytes s{op::return_};
  append_push(s, data);
  return s;
}

std::optional<crypto::hash160> parse_p2pkh(crypto::byte_span script) {
  if (script.size() != 25 || script[0] != op::dup || script[1] != op::hash160 || script[2] != 20 ||
      script[23] != op::equalverify || script[24] != op::checksig) {
    return std::nullopt;
  }
  crypto::hash160 h{};
  std::copy_n(script.begin() + 3, 20, h.begin());
  return h;
}

std::optional<bytes> parse_op_return(crypto::byte_span script) {
  if (script.empty() || script[0] != op::return_) return std::nullopt;
  std::size_t pos = 1;
  script_op o;
  if (!next_op(script, pos, o) || o.opcode > op::pushdata4 || pos != script.size()) return std::nullopt;
  return bytes(o.data.begin(), o.data.end());
}

}  // namespace energo::qtum
