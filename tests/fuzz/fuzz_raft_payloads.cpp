// Raft entry payloads (consensus/): the membership in a config_change entry, the client-session
// framing of a normal entry, and the session table carried in every state-machine snapshot.
// Input: [selector][rest]; selector picks the decoder and, for the table, tiny limits so that
// the bounds are reachable. Contract: refuse, or decode to a value that encodes and decodes back
// to an equal value. The session framing and table are also canonical (re-encode to exactly the
// input); the membership is not: decode_membership accepts node ids in any order and repeats
// are refused (regressions/raft_payloads/membership-unsorted), which is harmless because every
// replica decodes the same logged bytes the same way.
#include "consensus/session.hpp"
#include "consensus/types.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;
namespace cs = energo::consensus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::reader in(data, size);
  const uint8_t selector = in.u8();
  const auto bytes = fuzz::as_text(in.rest());
  switch (selector % 4) {
    case 0: {
      auto m = cs::decode_membership(bytes);
      if (!m) return 0;
      const auto enc = cs::encode_membership(*m);
      FUZZ_CHECK(enc.size() == bytes.size());
      auto again = cs::decode_membership(enc);
      FUZZ_CHECK(again.has_value() && *again == *m);
      break;
    }
    case 1: {
      auto p = cs::decode_session_payload(bytes);
      if (!p) return 0;
      const auto enc = cs::encode_session_payload(p->client_id, p->sequence, p->payload);
      FUZZ_CHECK(enc == bytes);
      break;
    }
    default: {
      cs::session_limits lim;
      if (selector % 4 == 3) lim = cs::session_limits{3, 5, 16};
      auto t = cs::session_table::decode(bytes, lim);
      if (!t) return 0;
      FUZZ_CHECK(t->size() <= lim.sessions_max);
      const auto enc = t->encode();
      FUZZ_CHECK(enc == bytes);
      auto again = cs::session_table::decode(enc, lim);
      FUZZ_CHECK(again.has_value() && *again == *t);
      break;
    }
  }
  return 0;
}
