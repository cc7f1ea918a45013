#pragma once
// A snapshot file (`energoctl snapshot save FILE` → `energo-node restore --snapshot FILE`): the
// node image (actors/state_codec.hpp) followed by a 40-byte trailer, "ENSHA256" || SHA-256 of
// the image - as etcd appends the hash to its snapshot file, so a restore can tell a truncated,
// tampered or foreign file from a good one before it decodes anything.
#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"

namespace energo::node {

inline constexpr std::string_view snapshot_trailer_magic = "ENSHA256";
inline constexpr std::size_t snapshot_trailer_bytes = 8 + 32;
// = actors::limits::image_bytes_max + the trailer: a larger file is refused before it is read.
inline constexpr std::size_t snapshot_file_bytes_max = (256u << 20) + snapshot_trailer_bytes;

[[nodiscard]] inline std::string snapshot_file_trailer(std::string_view image) {
  const auto h = crypto::sha256(crypto::as_bytes(image));
  std::string t(snapshot_trailer_magic);
  t.append(reinterpret_cast<const char*>(h.data()), h.size());
  return t;
}

// The image inside a snapshot file, once its trailer and checksum are right.
[[nodiscard]] inline energo::result<std::string_view, std::string> snapshot_file_image(std::string_view file) {
  using fail_t = energo::unexpected<std::string>;
  if (file.size() > snapshot_file_bytes_max) return fail_t{"larger than a snapshot file can be (256 MiB + 40 bytes)"};
  if (file.size() < snapshot_trailer_bytes ||
      file.substr(file.size() - snapshot_trailer_bytes, snapshot_trailer_magic.size()) != snapshot_trailer_magic) {
    return fail_t{"not an energo snapshot file (no ENSHA256 trailer: truncated, or not written by `energoctl snapshot save`)"};
  }
  const std::string_view image = file.substr(0, file.size() - snapshot_trailer_bytes);
  if (snapshot_file_trailer(image) != file.substr(image.size())) {
    return fail_t{"checksum mismatch: the file was changed or damaged after it was saved"};
  }
  return image;
}

}  // namespace energo::node
