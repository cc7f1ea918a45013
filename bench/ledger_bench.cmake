# ledger_bench: apply throughput (meter readings, transfers; with and without signature checks,
# root once per 1,000 commands) and state-root update cost per changed account at 10^3..10^6
# accounts. Run from a release build: ./ledger_bench (see ledger_bench.cpp for the conditions).
add_executable(ledger_bench ${CMAKE_CURRENT_LIST_DIR}/ledger_bench.cpp)
target_link_libraries(ledger_bench PRIVATE energo_ledger energo_common benchmark::benchmark)
# Instruction counts (bench/README.md "Instruction counts"): when valgrind's callgrind.h is there,
# BM_market_root_update brackets each timed state_root() (and the fixture's first full root) with
# callgrind's collect toggle and dumps per variant. Natively the client requests are a few no-op
# instructions outside the timed region.
include(CheckIncludeFileCXX)
check_include_file_cxx(valgrind/callgrind.h ENERGO_HAVE_CALLGRIND_H)
if(ENERGO_HAVE_CALLGRIND_H)
  target_compile_definitions(ledger_bench PRIVATE ENERGO_BENCH_CALLGRIND=1)
endif()
