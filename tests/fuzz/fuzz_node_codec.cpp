// The node's own byte formats around the ledger (actors/state_codec.hpp, actors/membership.hpp):
// what a replica reads from Raft entries (command batches, leader ticks, admin membership
// requests, which also arrive from clients), from a Raft snapshot (the node image: ledger bytes,
// outcome cache, member registry) and from its outcome cache. Input: [selector][rest].
// Contract: refuse, or decode to a value that survives encode -> decode unchanged, within the
// named bounds (commands_per_entry_max, outcome_cache_entries_max, members_max, name and address
// lengths). Not canonical in bytes: an "ENI1" image re-encodes as "ENI2".
#include "actors/membership.hpp"
#include "actors/state_codec.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace energo;
namespace ac = energo::actors;

namespace {

bool same(const ac::stored_outcome& a, const ac::stored_outcome& b) { return ac::encode_outcome(a) == ac::encode_outcome(b); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::reader in(data, size);
  const uint8_t selector = in.u8();
  const auto bytes = fuzz::as_text(in.rest());
  switch (selector % 6) {
    case 0: {
      auto b = ac::decode_command_batch(bytes);
      if (!b) return 0;
      FUZZ_CHECK(b->size() <= ac::limits::commands_per_entry_max);
      FUZZ_CHECK(ac::encode_command_batch(*b) == bytes);  // one encoding per batch
      break;
    }
    case 1: {
      auto o = ac::decode_outcome(bytes);
      if (!o) return 0;
      FUZZ_CHECK(o->outcome.message.size() <= ac::limits::outcome_message_bytes_max);
      auto again = ac::decode_outcome(ac::encode_outcome(*o));
      FUZZ_CHECK(again.has_value() && same(*again, *o));
      break;
    }
    case 2: {
      auto img = ac::decode_image(bytes);
      if (!img) return 0;
      FUZZ_CHECK(img->outcomes.size() <= ac::limits::outcome_cache_entries_max);
      FUZZ_CHECK(img->ledger_bytes.size() <= bytes.size() && img->registry_bytes.size() <= ac::limits::registry_bytes_max);
      const auto enc = ac::encode_image(*img);
      auto again = ac::decode_image(enc);
      FUZZ_CHECK(again.has_value());
      FUZZ_CHECK(ac::encode_image(*again) == enc);
      break;
    }
    case 3: {
      auto r = ac::decode_registry(bytes);
      if (!r) return 0;
      FUZZ_CHECK(r->members.size() <= ac::limits::members_max);
      for (const auto& [id, m] : r->members) {
        FUZZ_CHECK(m.name.size() <= ac::limits::member_name_bytes_max);
        FUZZ_CHECK(m.peer.size() <= ac::limits::member_address_bytes_max &&
                   m.client.size() <= ac::limits::member_address_bytes_max);
      }
      auto again = ac::decode_registry(ac::encode_registry(*r));
      FUZZ_CHECK(again.has_value() && *again == *r);
      break;
    }
    case 4: {
      auto q = ac::decode_admin_request(bytes);
      if (!q) return 0;
      FUZZ_CHECK(bytes.size() <= ac::limits::admin_request_bytes_max);
      const auto enc = ac::encode_admin_request(*q);
      auto again = ac::decode_admin_request(enc);
      FUZZ_CHECK(again.has_value());
      FUZZ_CHECK(ac::encode_admin_request(*again) == enc);
      // Verification of an arbitrary signature must refuse or accept, never crash.
      (void)ac::verify_admin_request(*q, "fuzz", crypto::hash256{});
      break;
    }
    default: {
      auto t = ac::decode_tick_entry(bytes);
      (void)ac::kind_of(bytes);
      (void)ac::forwardable(bytes);
      if (!t) return 0;
      FUZZ_CHECK(ac::decode_tick_entry(ac::encode_tick_entry(*t)) == t);
      break;
    }
  }
  return 0;
}
