#!/usr/bin/env python3
"""SHA-256 compressions per changed order in BM_market_root_update's workload (bench/README.md,
market root): a model of the work any implementation of the current root format must do, and of
the floor of any binary Merkle commitment to the orders alone.

Fixture as in ledger_bench.cpp: n resting orders, 64 per trader (T = n / 64 traders, after 1,000
other accounts in the ledger); each change replaces a random order of a random trader, which
changes that order's leaf, the trader's history leaf and the trader's account (nonce). Blocks per
hash: order leaf 1, inner node 2 (65 bytes), history leaf 26 (1 + 4 + 32 × 50 bytes, full ring),
account leaf 3 (128 bytes). A batch of k changes rehashes each distinct dirty node once (paths
shared). Per-root constants (header, globals, component roots: ~20 blocks) are left out, so the
ratios here are slightly above the measured ones. Seeded (prints the seed).

  python3 bench/market_root_model.py [seed] [orders per trader (64, the fixture's)]
"""
import random
import sys

ORDERS_PER_TRADER = 64
OTHER_ACCOUNTS = 1000
BLOCKS = dict(order_leaf=1, inner=2, history_leaf=26, account_leaf=3)


def depth(n):
    return 0 if n <= 1 else (n - 1).bit_length()


def inner_nodes(n, dirty):
    """Distinct inner nodes on the paths of the dirty leaves of a tree of n leaves."""
    level, count = set(dirty), 0
    for _ in range(depth(n)):
        level = {i >> 1 for i in level}
        count += len(level)
    return count


def per_change(n, k, rnd, roots, orders_only, market_owner_leaves=True):
    traders = (n + ORDERS_PER_TRADER - 1) // ORDERS_PER_TRADER
    parts = dict(order_leaf=0, orders_tree=0, history_leaf=0, book_accounts_tree=0, account_leaf=0, accounts_tree=0)
    for _ in range(roots):
        owners, slots = set(), set()
        for _ in range(k):
            t = rnd.randrange(traders)
            owners.add(t)
            slots.add(min(n - 1, t * ORDERS_PER_TRADER + rnd.randrange(ORDERS_PER_TRADER)))
        parts['order_leaf'] += BLOCKS['order_leaf'] * len(slots)
        parts['orders_tree'] += BLOCKS['inner'] * inner_nodes(n, slots)
        if orders_only:
            continue
        if market_owner_leaves:
            parts['history_leaf'] += BLOCKS['history_leaf'] * len(owners)
            parts['book_accounts_tree'] += BLOCKS['inner'] * inner_nodes(traders, owners)
        parts['account_leaf'] += BLOCKS['account_leaf'] * len(owners)
        parts['accounts_tree'] += BLOCKS['inner'] * inner_nodes(OTHER_ACCOUNTS + traders, [OTHER_ACCOUNTS + o for o in owners])
    return {name: blocks / roots / k for name, blocks in parts.items()}


def main():
    global ORDERS_PER_TRADER
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    if len(sys.argv) > 2:
        ORDERS_PER_TRADER = int(sys.argv[2])
    print(f"seed {seed}, {ORDERS_PER_TRADER} orders per trader")
    for title, orders_only, market_owner_leaves in (
            ("current format (orders, history and account leaves and their paths)", False, True),
            ("without the market's per-owner leaves (no history leaf, no book-account tree)", False, False),
            ("floor of any binary Merkle tree over the orders alone", True, False)):
        print(f"\n{title}: compressions per changed order")
        print(f"{'changes':>8} {'10^3':>8} {'10^5':>8} {'10^6':>8} {'10^6/10^3':>10}")
        for k in (1, 10, 100, 1000):
            row = []
            for n in (1_000, 100_000, 1_000_000):
                rnd = random.Random(seed * 1_000_003 + n * 7 + k)
                row.append(sum(per_change(n, k, rnd, max(4, 2000 // k), orders_only, market_owner_leaves).values()))
            print(f"{k:>8} {row[0]:>8.1f} {row[1]:>8.1f} {row[2]:>8.1f} {row[2] / row[0]:>9.2f}x")
    for n in (1_000, 1_000_000):
        parts = per_change(n, 100, random.Random(seed), 20, False)
        print(f"\n{n} orders, 100 changes per root, by part: " +
              ", ".join(f"{name} {value:.1f}" for name, value in parts.items()))


if __name__ == "__main__":
    main()
