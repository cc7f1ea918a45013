# ledger_bench: apply throughput (meter readings, transfers; with and without signature checks,
# root once per 1,000 commands) and state-root update cost per changed account at 10^3..10^6
# accounts. Run from a release build: ./ledger_bench (see ledger_bench.cpp for the conditions).
add_executable(ledger_bench ${CMAKE_CURRENT_LIST_DIR}/ledger_bench.cpp)
target_link_libraries(ledger_bench PRIVATE energo_ledger energo_common benchmark::benchmark)
