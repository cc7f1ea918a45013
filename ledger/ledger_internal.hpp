#pragma once
// Encoders shared by the ledger's translation units (state root, snapshot, genesis). Not public API.

#include <array>
#include <cstddef>
#include <vector>

#include "common/assert.hpp"
#include "common/checked.hpp"
#include "ledger/byte_io.hpp"
#include "ledger/ledger.hpp"

namespace energo::ledger {

// Overflow discipline (SPEC §2, one for every counter): each unit of change — a command, a tick, one
// trade inside matching, one agent order — checks every counter it raises at its worst case before it
// changes anything, and is refused (errc::overflow; a trade is not executed) if one would overflow.
// The addition itself then goes through here: the paired, always-on assertion of that pre-check.
inline void add_prechecked(int64_t& counter, int64_t amount) {
  const auto sum = checked_add(counter, amount);
  ENERGO_ASSERT(sum.has_value(), "a counter overflowed although its pre-check passed");
  counter = *sum;
}

}  // namespace energo::ledger

namespace energo::ledger::detail {

constexpr std::size_t account_leaf_bytes_size = 20 + 2 + 33 + 8 * 9;

void write_params(byte_writer& w, const community_params& p);
bool read_params(byte_reader& r, community_params& p);
crypto::hash256 account_leaf_hash(const account& a);
// The one list of totals fields, in wire order: the globals hash, the snapshot and restore's range
// check all use it, so a new total cannot reach one and miss another.
template <class totals_type>
auto totals_fields(totals_type& t) {
  return std::array{&t.watt_minted_wh,        &t.watt_burned_wh,          &t.grid_export_wh,
                    &t.grid_import_wh,        &t.fees_collected_units,    &t.fees_to_owners_units,
                    &t.fees_to_education_units, &t.fees_to_network_units, &t.grants_paid_units,
                    &t.readings_accepted,     &t.readings_refused_backwards, &t.market_trades,
                    &t.market_volume_wh,      &t.agent_orders};
}

void write_totals(byte_writer& w, const totals& t);
bool read_totals(byte_reader& r, totals& t);
std::vector<uint8_t> meter_leaf_bytes(const meter& m);
std::vector<uint8_t> unit_leaf_bytes(const storage_unit& u);
crypto::hash256 combine_root(const crypto::hash256& accounts_root, const crypto::hash256& meters_root,
                             const crypto::hash256& units_root, const crypto::hash256& globals,
                             const crypto::hash256& market);

}  // namespace energo::ledger::detail
