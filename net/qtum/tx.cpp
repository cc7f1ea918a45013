#include "net/qtum/tx.hpp"

#include <algorithm>

#include "crypto/hash.hpp"

namespace energo::qtum {
namespace {

// Smallest encodings: an input is 32+4+1+4 bytes with an empty script, an output 8+1, a witness
// item 1. A count larger than remaining/min is malformed before anything is reserved.
constexpr std::size_t input_bytes_min = 41;
constexpr std::size_t output_bytes_min = 9;
constexpr std::size_t witness_item_bytes_min = 1;

class byte_reader {
 public:
  explicit byte_reader(crypto::byte_span data) : data_(data) {}
  [[nodiscard]] std::size_t remaining() const { return data_.size() - pos_; }
  bool u8(uint8_t& v) {
    if (remaining() < 1) return false;
    v = data_[pos_++];
    return true;
  }
  bool u32(uint32_t& v) {
    if (remaining() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(data_[pos_ + i]) << (8 * i);
    pos_ += 4;
    return true;
  }
  bool u64(uint64_t& v) {
    if (remaining() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += 8;
    return true;
  }
  // Canonical CompactSize only (as Bitcoin Core's ReadCompactSize), at most compact_size_max.
  bool compact_size(uint64_t& v) {
    uint8_t first = 0;
    if (!u8(first)) return false;
    if (first < 0xfd) {
      v = first;
    } else if (first == 0xfd) {
      if (remaining() < 2) return false;
      v = data_[pos_] | (static_cast<uint64_t>(data_[pos_ + 1]) << 8);
      pos_ += 2;
      if (v < 0xfd) return false;
    } else if (first == 0xfe) {
      uint32_t w = 0;
      if (!u32(w)) return false;
      v = w;
      if (v < 0x10000) return false;
    } else {
      if (!u64(v)) return false;
      if (v < 0x100000000ULL) return false;
    }
    return v <= limits::compact_size_max;
  }
  bool var_bytes(bytes& out) {
    uint64_t n = 0;
    if (!compact_size(n) || n > remaining()) return false;
    out.assign(data_.begin() + pos_, data_.begin() + pos_ + n);
    pos_ += n;
    return true;
  }
  bool fixed(uint8_t* out, std::size_t n) {
    if (remaining() < n) return false;
    std::copy_n(data_.begin() + pos_, n, out);
    pos_ += n;
    return true;
  }

 private:
  crypto::byte_span data_;
  std::size_t pos_ = 0;
};

bool read_inputs(byte_reader& r, std::vector<tx_input>& inputs) {
  uint64_t n = 0;
  if (!r.compact_size(n) || n > r.remaining() / input_bytes_min) return false;
  inputs.resize(n);
  for (auto& in : inputs) {
    if (!r.fixed(in.prevout.txid.data(), in.prevout.txid.size()) || !r.u32(in.prevout.index) ||
        !r.var_bytes(in.script_sig) || !r.u32(in.sequence)) {
      return false;
    }
  }
  return true;
}

bool read_outputs(byte_reader& r, std::vector<tx_output>& outputs) {
  uint64_t n = 0;
  if (!r.compact_size(n) || n > r.remaining() / output_bytes_min) return false;
  outputs.resize(n);
  for (auto& out : outputs) {
    uint64_t value = 0;
    if (!r.u64(value) || !r.var_bytes(out.script_pubkey)) return false;
    out.value_sat = static_cast<int64_t>(value);
  }
  return true;
}

void write_body(byte_writer& w, const transaction& tx, bool with_witness) {
  w.u32(static_cast<uint32_t>(tx.version));
  if (with_witness) {
    w.u8(0x00);  // marker
    w.u8(0x01);  // flag
  }
  w.compact_size(tx.inputs.size());
  for (const auto& in : tx.inputs) {
    w.raw(in.prevout.txid);
    w.u32(in.prevout.index);
    w.var_bytes(in.script_sig);
    w.u32(in.sequence);
  }
  w.compact_size(tx.outputs.size());
  for (const auto& out : tx.outputs) {
    w.u64(static_cast<uint64_t>(out.value_sat));
    w.var_bytes(out.script_pubkey);
  }
  if (with_witness) {
    for (const auto& in : tx.inputs) {
      w.compact_size(in.witness.size());
      for (const auto& item : in.witness) w.var_bytes(item);
    }
  }
  w.u32(tx.lock_time);
}

}  // namespace

void byte_writer::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void byte_writer::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void byte_writer::compact_size(uint64_t v) {
  if (v < 0xfd) {
    u8(static_cast<uint8_t>(v));
  } else if (v <= 0xffff) {
    u8(0xfd);
    u8(static_cast<uint8_t>(v));
    u8(static_cast<uint8_t>(v >> 8));
  } else if (v <= 0xffffffff) {
    u8(0xfe);
    u32(static_cast<uint32_t>(v));
  } else {
    u8(0xff);
    u64(v);
  }
}

bool transaction::has_witness() const {
  return std::any_of(inputs.begin(), inputs.end(), [](const tx_input& in) { return !in.witness.empty(); });
}

bytes encode(const transaction& tx) {
  byte_writer w;
  write_body(w, tx, tx.has_witness());
  return std::move(w.data());
}

bytes encode_legacy(const transaction& tx) {
  byte_writer w;
  write_body(w, tx, false);
  return std::move(w.data());
}

// Mirrors Bitcoin Core's UnserializeTransaction: an empty input list followed by a non-zero flag
// byte switches to the witness form; flag bit 1 means witnesses follow; any other flag bit, or a
// witness section in which every stack is empty, is malformed.
qtum_result<transaction> decode_transaction(crypto::byte_span data) {
  auto fail = [](const char* what) {
    return make_error(error_code::malformed_transaction, std::string("malformed transaction: ") + what);
  };
  if (data.size() > limits::tx_bytes_max) return fail("larger than tx_bytes_max");
  byte_reader r(data);
  transaction tx;
  uint32_t version = 0;
  if (!r.u32(version)) return fail("truncated version");
  tx.version = static_cast<int32_t>(version);
  uint8_t flags = 0;
  if (!read_inputs(r, tx.inputs)) return fail("bad input list");
  if (tx.inputs.empty()) {
    if (!r.u8(flags)) return fail("truncated after empty input list");
    if (flags != 0) {
      if (!read_inputs(r, tx.inputs)) return fail("bad input list (witness form)");
      if (!read_outputs(r, tx.outputs)) return fail("bad output list (witness form)");
    }
  } else {
    if (!read_outputs(r, tx.outputs)) return fail("bad output list");
  }
  if (flags & 1) {
    flags ^= 1;
    for (auto& in : tx.inputs) {
      uint64_t n = 0;
      if (!r.compact_size(n) || n > r.remaining() / witness_item_bytes_min) return fail("bad witness count");
      in.witness.resize(n);
      for (auto& item : in.witness) {
        if (!r.var_bytes(item)) return fail("bad witness item");
      }
    }
    if (!tx.has_witness()) return fail("superfluous witness record");
  }
  if (flags != 0) return fail("unknown optional data flag");
  if (!r.u32(tx.lock_time)) return fail("truncated lock time");
  if (r.remaining() != 0) return fail("trailing bytes");
  return tx;
}

txid_t txid_of(const transaction& tx) { return crypto::sha256d(encode_legacy(tx)); }

std::string txid_hex(const txid_t& id) {
  txid_t reversed = id;
  std::reverse(reversed.begin(), reversed.end());
  return crypto::to_hex(reversed);
}

std::optional<txid_t> parse_txid_hex(std::string_view hex) {
  auto id = crypto::array_from_hex<32>(hex);
  if (!id) return std::nullopt;
  std::reverse(id->begin(), id->end());
  return id;
}

const char* to_string(error_code code) {
  switch (code) {
    case error_code::malformed_transaction: return "malformed_transaction";
    case error_code::malformed_payload: return "malformed_payload";
    case error_code::invalid_argument: return "invalid_argument";
    case error_code::insufficient_funds: return "insufficient_funds";
    case error_code::transport: return "transport";
    case error_code::auth: return "auth";
    case error_code::http: return "http";
    case error_code::rpc: return "rpc";
    case error_code::rejected: return "rejected";
    case error_code::bad_response: return "bad_response";
    case error_code::response_too_large: return "response_too_large";
    case error_code::config: return "config";
    case error_code::chain: return "chain";
  }
  return "unknown";
}

}  // namespace energo::qtum
