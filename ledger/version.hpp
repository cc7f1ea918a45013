#pragma once
// The version of the ledger's rules and encodings as one number. Any change that makes the same
// genesis and commands produce a different state root, snapshot or command encoding is a new
// version: bump this, regenerate tests/golden (see tests/golden/README.md) and say why in the commit.
// The golden test refuses a changed root under an unchanged version, so no such change is silent.
#include <cstdint>

namespace energo::ledger {

// 2: the market root is incremental (per-order Merkle leaves, issue 11 §5) and the book snapshot keeps
//    the pool layout (book snapshot version 2).
inline constexpr uint32_t rules_version = 2;

}  // namespace energo::ledger
