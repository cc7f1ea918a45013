#pragma once
// Array-backed balances for market tests: WATT (Wh), TSL (base units) and one Bmax for all
// accounts. settle() counts any trade the book should never have produced (overdraft, Bmax).
#include <cstdint>
#include <vector>

#include "ledger/market/balance_view.hpp"

namespace energo::market::testing {

class balance_table final : public balance_view {
 public:
  balance_table(uint32_t accounts, int64_t bmax_wh) : watt_(accounts, 0), tsl_(accounts, 0), bmax_wh_(bmax_wh) {}

  int64_t watt_wh(account_ref a) const override { return watt_.at(a); }
  int64_t tsl_units(account_ref a) const override { return tsl_.at(a); }
  int64_t watt_room_wh(account_ref a) const override { return bmax_wh_ - watt_.at(a); }
  void settle(const trade& t) override {
    if (t.quantity_wh <= 0 || t.buyer == t.seller || watt_.at(t.seller) < t.quantity_wh ||
        tsl_.at(t.buyer) < t.notional_units || watt_.at(t.buyer) + t.quantity_wh > bmax_wh_ ||
        t.notional_units != t.price_units_per_wh * t.quantity_wh)
      ++violations;
    watt_.at(t.seller) -= t.quantity_wh;
    watt_.at(t.buyer) += t.quantity_wh;
    tsl_.at(t.buyer) -= t.notional_units;
    tsl_.at(t.seller) += t.notional_units;
    ++settled;
  }

  void set_watt(account_ref a, int64_t wh) { watt_.at(a) = wh; }
  void set_tsl(account_ref a, int64_t units) { tsl_.at(a) = units; }
  [[nodiscard]] int64_t bmax_wh() const { return bmax_wh_; }
  [[nodiscard]] uint32_t accounts() const { return static_cast<uint32_t>(watt_.size()); }
  [[nodiscard]] int64_t total_watt() const {
    int64_t s = 0;
    for (int64_t v : watt_) s += v;
    return s;
  }
  [[nodiscard]] int64_t total_tsl() const {
    int64_t s = 0;
    for (int64_t v : tsl_) s += v;
    return s;
  }
  [[nodiscard]] bool within_bounds() const {
    for (std::size_t i = 0; i < watt_.size(); ++i)
      if (watt_[i] < 0 || watt_[i] > bmax_wh_ || tsl_[i] < 0) return false;
    return true;
  }

  uint64_t violations = 0;
  uint64_t settled = 0;

 private:
  std::vector<int64_t> watt_;
  std::vector<int64_t> tsl_;
  int64_t bmax_wh_;
};

}  // namespace energo::market::testing
