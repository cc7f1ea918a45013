#pragma once
// Private to crypto/*.cpp: one-time library initialisation shared by several translation units.
// Nothing outside crypto/ includes this header.

namespace energo::crypto::detail {

// sodium_init() exactly once, thread-safely (a function-local static); aborts if libsodium cannot
// initialise, because no key or random number would be trustworthy afterwards.
void ensure_sodium_initialized();

}  // namespace energo::crypto::detail
