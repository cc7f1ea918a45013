# Order-book benchmark (issue "Market" §5): a driver printing throughput, p50/p99 per operation
# and bytes per resting order. Run: build/<dir>/bench/market_bench [events] [seed]
add_executable(market_bench ${CMAKE_CURRENT_LIST_DIR}/market_bench.cpp)
target_link_libraries(market_bench PRIVATE energo_market energo_common)
