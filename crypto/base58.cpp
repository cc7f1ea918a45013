#include "crypto/base58.hpp"

#include <algorithm>

#include "common/assert.hpp"
#include "crypto/hash.hpp"

namespace energo::crypto {
namespace {

constexpr char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static_assert(sizeof alphabet == 59);

constexpr std::size_t checksum_bytes = 4;

// Digit value of a Base58 character; -1 for anything else (0, O, I, l, whitespace, non-ASCII).
constexpr std::array<int8_t, 256> make_digit_table() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 58; ++i) table[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr auto digit_table = make_digit_table();

}  // namespace

std::string base58_encode(byte_span data) {
  // Each leading zero byte becomes a leading '1'; the rest is a big-endian base-256 → base-58
  // conversion in a scratch buffer sized by log(256)/log(58) < 138/100.
  std::size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  const std::size_t digits_max = (data.size() - zeros) * 138 / 100 + 1;
  std::vector<uint8_t> digits(digits_max, 0);  // base-58 digits, most significant first
  std::size_t used = 0;                        // non-zero tail length of `digits`
  for (std::size_t i = zeros; i < data.size(); ++i) {
    unsigned carry = data[i];
    std::size_t j = 0;
    for (auto it = digits.rbegin(); (carry != 0 || j < used) && it != digits.rend(); ++it, ++j) {
      carry += 256u * *it;
      *it = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    ENERGO_ASSERT(carry == 0, "base58 scratch buffer too small");
    used = j;
  }
  std::string out(zeros, '1');
  out.reserve(zeros + used);
  for (std::size_t i = digits.size() - used; i < digits.size(); ++i) out.push_back(alphabet[digits[i]]);
  return out;
}

std::optional<std::vector<uint8_t>> base58_decode(std::string_view text) {
  if (text.size() > base58_input_chars_max) return std::nullopt;
  std::size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  const std::size_t bytes_max = (text.size() - zeros) * 733 / 1000 + 1;  // log(58)/log(256) < 0.733
  std::vector<uint8_t> bytes(bytes_max, 0);  // big-endian base-256, most significant first
  std::size_t used = 0;
  for (std::size_t i = zeros; i < text.size(); ++i) {
    const int digit = digit_table[static_cast<uint8_t>(text[i])];
    if (digit < 0) return std::nullopt;
    unsigned carry = static_cast<unsigned>(digit);
    std::size_t j = 0;
    for (auto it = bytes.rbegin(); (carry != 0 || j < used) && it != bytes.rend(); ++it, ++j) {
      carry += 58u * *it;
      *it = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    ENERGO_ASSERT(carry == 0, "base58 scratch buffer too small");
    used = j;
  }
  std::vector<uint8_t> out(zeros, 0);
  out.insert(out.end(), bytes.end() - static_cast<std::ptrdiff_t>(used), bytes.end());
  return out;
}

std::string base58check_encode(byte_span payload) {
  std::vector<uint8_t> buffer(payload.begin(), payload.end());
  const hash256 check = sha256d(payload);
  buffer.insert(buffer.end(), check.begin(), check.begin() + checksum_bytes);
  return base58_encode(buffer);
}

std::optional<std::vector<uint8_t>> base58check_decode(std::string_view text) {
  auto decoded = base58_decode(text);
  if (!decoded || decoded->size() < checksum_bytes) return std::nullopt;
  const std::size_t payload_size = decoded->size() - checksum_bytes;
  const hash256 check = sha256d(byte_span{decoded->data(), payload_size});
  if (!std::equal(check.begin(), check.begin() + checksum_bytes, decoded->begin() + payload_size)) {
    return std::nullopt;
  }
  decoded->resize(payload_size);
  return decoded;
}

}  // namespace energo::crypto
