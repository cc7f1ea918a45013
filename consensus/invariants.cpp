#include "consensus/invariants.hpp"
// check_invariants lives in raft.cpp next to raft_node::impl for now.
