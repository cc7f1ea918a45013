# consensus_bench: a 3-node in-process cluster of the real Raft core (consensus/), each node
# persisting to its own RocksDB node_store (storage/) with synced writes. Prints a table.
if(TARGET energo_consensus AND TARGET energo_storage)
  add_executable(consensus_bench ${CMAKE_CURRENT_LIST_DIR}/consensus_bench.cpp)
  target_link_libraries(consensus_bench PRIVATE energo_consensus energo_storage energo_common Threads::Threads)
endif()
