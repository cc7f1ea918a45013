#pragma once
// The dashboard's static files (web/), embedded in the binary at build time by
// cmake/embed_web.cmake, so the node serves them with no file lookup and no network.
#include <span>
#include <string_view>

namespace energo::web {

struct asset {
  std::string_view path;          // "/index.html", "/app.js", ...
  std::string_view content_type;  // from the extension
  std::string_view body;
};

[[nodiscard]] std::span<const asset> assets();

}  // namespace energo::web
