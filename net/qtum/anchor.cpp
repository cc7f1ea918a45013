#include "net/qtum/anchor.hpp"

#include <algorithm>

#include "crypto/hash.hpp"
#include "net/qtum/script.hpp"

namespace energo::qtum {

crypto::hash256 cluster_id_hash_of(std::string_view cluster_id) {
  crypto::sha256_hasher h;
  h.update(crypto::as_bytes("energo/cluster-id"));
  h.update_u8(0);
  h.update(crypto::as_bytes(cluster_id));
  return h.finish();
}

bytes encode_anchor_payload(const anchor_payload& payload) {
  bytes out(anchor_magic.begin(), anchor_magic.end());
  out.push_back(anchor_format_version);
  out.insert(out.end(), payload.cluster_id_hash.begin(), payload.cluster_id_hash.end());
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(payload.log_index >> shift));
  out.insert(out.end(), payload.state_root.begin(), payload.state_root.end());
  return out;
}

qtum_result<anchor_payload> decode_anchor_payload(crypto::byte_span data) {
  if (data.size() < anchor_magic.size() + 1 || !std::equal(anchor_magic.begin(), anchor_magic.end(), data.begin())) {
    return make_error(error_code::malformed_payload, "not an Energo anchor (magic \"EGCP\" missing)");
  }
  if (data[4] != anchor_format_version) {
    return make_error(error_code::malformed_payload,
                      "unsupported anchor format version " + std::to_string(data[4]));
  }
  if (data.size() != anchor_payload_bytes) {
    return make_error(error_code::malformed_payload, "anchor payload is " + std::to_string(data.size()) +
                                                         " bytes, version 1 has " +
                                                         std::to_string(anchor_payload_bytes));
  }
  anchor_payload p;
  std::size_t pos = 5;
  std::copy_n(data.begin() + pos, 32, p.cluster_id_hash.begin());
  pos += 32;
  for (int i = 0; i < 8; ++i) p.log_index = (p.log_index << 8) | data[pos + i];
  pos += 8;
  std::copy_n(data.begin() + pos, 32, p.state_root.begin());
  return p;
}

qtum_result<anchor_payload> find_anchor_payload(const transaction& tx) {
  std::optional<bytes> found;
  for (const auto& out : tx.outputs) {
    if (out.script_pubkey.empty() || out.script_pubkey[0] != op::return_) continue;
    if (found) return make_error(error_code::malformed_payload, "more than one OP_RETURN output");
    auto data = parse_op_return(out.script_pubkey);
    if (!data) return make_error(error_code::malformed_payload, "OP_RETURN output is not a single data push");
    found = std::move(*data);
  }
  if (!found) return make_error(error_code::malformed_payload, "no OP_RETURN output");
  return decode_anchor_payload(*found);
}

}  // namespace energo::qtum
