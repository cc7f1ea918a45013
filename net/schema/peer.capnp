@0xe23e2f951e04f46e;
# Peer traffic between energo-node processes (net/README.md). One PeerFrame per length-prefixed
# frame (net/wire.hpp: u32 big-endian length + Cap'n Proto flat array, at most
# limits::peer_frame_bytes_max). The first frame on a connection must be a Hello.
$import "/capnp/c++.capnp".namespace("energo::net::schema");

struct Hello {
  clusterId @0 :Text;       # refused (connection closed) unless equal to ours
  nodeId @1 :UInt64;        # the dialling node; refused unless a member
  wireVersion @2 :UInt32;
}

struct Entry {
  term @0 :UInt64;
  index @1 :UInt64;
  type @2 :UInt8;           # consensus::entry_type
  data @3 :Data;
}

struct Membership {
  voters @0 :List(UInt64);
  learners @1 :List(UInt64);
  votersOutgoing @2 :List(UInt64);
}

struct SnapshotMeta {
  index @0 :UInt64;
  term @1 :UInt64;
  config @2 :Membership;
}

# consensus::message field by field.
struct RaftMessage {
  group @0 :UInt64;
  type @1 :UInt8;           # consensus::message_type
  from @2 :UInt64;
  to @3 :UInt64;
  term @4 :UInt64;
  logTerm @5 :UInt64;
  index @6 :UInt64;
  entries @7 :List(Entry);
  commit @8 :UInt64;
  reject @9 :Bool;
  rejectHint @10 :UInt64;
  force @11 :Bool;
  context @12 :UInt64;
  snap @13 :SnapshotMeta;
  chunkOffset @14 :UInt64;
  snapshotBytes @15 :UInt64;
  chunkData @16 :Data;
  chunkDone @17 :Bool;
}

struct PeerFrame {
  union {
    hello @0 :Hello;
    raft @1 :RaftMessage;
  }
}
