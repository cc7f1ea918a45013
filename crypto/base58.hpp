#pragma once
// Base58 and Base58Check (Bitcoin alphabet), as used by Qtum addresses and WIF keys.
#include "crypto/bytes.hpp"

namespace energo::crypto {

// Inputs above this length are refused by the decoders (decoding is quadratic in the length).
// 350 characters is the Base58 length of a 256-byte payload, ceil(256 * log(256) / log(58)): it
// covers every address and key with room to spare, and the largest Bitcoin/Qtum test vector.
inline constexpr std::size_t base58_input_chars_max = 350;

[[nodiscard]] std::string base58_encode(byte_span data);
[[nodiscard]] std::optional<std::vector<uint8_t>> base58_decode(std::string_view text);
// Appends/checks the first 4 bytes of sha256d(payload).
[[nodiscard]] std::string base58check_encode(byte_span payload);
[[nodiscard]] std::optional<std::vector<uint8_t>> base58check_decode(std::string_view text);

}  // namespace energo::crypto
