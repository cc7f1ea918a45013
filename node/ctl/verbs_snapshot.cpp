// energoctl snapshot save: the node image (ledger snapshot + outcome cache + member registry +
// analytics index, actors/state_codec.hpp) read over the client port in 1 MiB chunks (the
// `node_image` read: every chunk of one save comes from the same applied index), checked against
// the SHA-256 the node sends with the first chunk, written to FILE.tmp with its checksum trailer
// (node/snapshot_file.hpp) and renamed. `energo-node restore --snapshot FILE` seeds a new data
// directory from it (docs/operations.md "Restore").
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "node/ctl/ctl.hpp"
#include "node/snapshot_file.hpp"

namespace energo::ctl {
namespace {

using namespace energo::node;

// 256 MiB (actors::limits::image_bytes_max): an image above it is refused by every node anyway.
constexpr uint64_t image_bytes_max = 256u << 20;

int cmd_snapshot_save(const options& o, const std::string& file, bool stale) {
  std::string image;
  uint64_t applied = 0, total = 0;
  std::string sha;
  do {
    json p;
    p["offset"] = image.size();
    if (!image.empty()) p["applied_index"] = applied;
    auto j = query(o, "node_image", p, stale);
    if (!j) return j.error();
    if (image.empty()) {
      applied = (*j)["applied_index"].get<uint64_t>();
      total = (*j)["total_bytes"].get<uint64_t>();
      sha = (*j)["sha256"].get<std::string>();
      if (total > image_bytes_max) return std::fprintf(stderr, "energoctl: image above 256 MiB\n"), exit_failed;
      image.reserve(total);
    }
    const auto chunk = crypto::from_hex((*j)["data"].get<std::string>());
    if (!chunk || chunk->empty() || image.size() + chunk->size() > total)
      return std::fprintf(stderr, "energoctl: bad image chunk from the node\n"), exit_failed;
    image.append(chunk->begin(), chunk->end());
  } while (image.size() < total);
  if (crypto::to_hex(crypto::sha256(crypto::as_bytes(image))) != sha)
    return std::fprintf(stderr, "energoctl: the image does not match its SHA-256\n"), exit_failed;
  const std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(image.data(), static_cast<std::streamsize>(image.size()));
    const std::string trailer = snapshot_file_trailer(image);
    out.write(trailer.data(), static_cast<std::streamsize>(trailer.size()));
    if (!out.flush()) return std::fprintf(stderr, "energoctl: cannot write %s\n", tmp.c_str()), exit_usage;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) return std::fprintf(stderr, "energoctl: cannot rename to %s: %s\n", file.c_str(), ec.message().c_str()), exit_usage;
  json r;
  r["file"] = file;
  r["bytes"] = image.size() + snapshot_trailer_bytes;
  r["image_bytes"] = image.size();
  r["applied_index"] = applied;
  r["sha256"] = sha;
  if (o.as_json) return print_json(r, true);
  std::printf("saved the node image at applied index %llu to %s (%zu bytes, image sha256 %s)\n",
              static_cast<unsigned long long>(applied), file.c_str(), image.size() + snapshot_trailer_bytes, sha.c_str());
  return exit_ok;
}

}  // namespace

void add_snapshot_verbs(ctl_app& c) {
  auto* snapshot = c.app.add_subcommand("snapshot", "backups of the node image");
  snapshot->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto* save = snapshot->add_subcommand("save", "save the node image (ledger, outcomes, members, analytics) to FILE");
  save->add_option("file", *file, "output file (written as FILE.tmp, then renamed; image + SHA-256 trailer)")->required();
  auto stale = std::make_shared<bool>(false);
  save->add_flag("--stale", *stale,
                 "the node's own replica without a read index (works without a quorum: the survivor of a lost majority)");
  save->callback([&c, file, stale] { c.action = [&c, file, stale] { return cmd_snapshot_save(c.o, *file, *stale); }; });
}

}  // namespace energo::ctl
