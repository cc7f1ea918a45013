@0xad609e0e6923f8b6;
# Client protocol (meters, wallets, energoctl): one ClientRequest or ClientResponse per
# length-prefixed frame (net/wire.hpp, at most limits::client_frame_bytes_max). A connection may
# carry many requests; responses carry the request's id and may come out of order.
$import "/capnp/c++.capnp".namespace("energo::net::schema");

struct ClientRequest {
  id @0 :UInt64;
  union {
    submit @1 :Data;          # one signed command, ledger::encode() form
    status @2 :Void;
    account @3 :AccountQuery;
    admin @4 :Data;           # one signed membership request (docs/node.md "Membership")
    members @5 :Void;         # the member registry and, on the leader, replication progress
    clusterInfo @6 :Void;     # what a joining node needs (cluster.json, the registry)
    query @7 :Query;          # a named read answered as JSON (actors/query.hpp, docs/node.md "Queries")
    checkpoint @8 :CheckpointQuery;  # checkpoints on Qtum: the anchor list, or a balance proof
  }
}

struct Query {
  name @0 :Text;              # e.g. "account"; unknown names fail with not_supported
  params @1 :Text;            # a JSON object, at most wire::limits::query_params_bytes_max
  stale @2 :Bool;             # true: local replica, no read index
}

struct CheckpointQuery {
  address @0 :Data;           # empty: list the anchors; 20 bytes: a balance proof of this account
  atIndex @1 :UInt64;         # the proof's anchored index; 0 = the latest confirmed anchor
}

struct AccountQuery {
  address @0 :Data;           # 20-byte HASH160
  stale @1 :Bool;             # true: local replica, no read index
}

struct Outcome {
  index @0 :UInt64;           # log index of the entry that applied it
  accepted @1 :Bool;          # false: the ledger refused it (code, message)
  code @2 :UInt16;            # ledger::errc when refused
  codeName @3 :Text;
  message @4 :Text;
  duplicate @5 :Bool;         # the same command was applied before: this is its first outcome
  mintedWh @6 :Int64;
  burnedWh @7 :Int64;
  feesUnits @8 :Int64;
  orderId @9 :UInt64;
  filledWh @10 :Int64;
  trades @11 :Int64;
  sessionId @12 :UInt64;
  createdAccount @13 :Bool;
  epochsClosed @14 :Int64;
}

struct Status {
  nodeId @0 :UInt64;
  name @1 :Text;
  role @2 :Text;
  term @3 :UInt64;
  leader @4 :UInt64;
  commitIndex @5 :UInt64;
  appliedIndex @6 :UInt64;    # the apply actor's (state root below is at this index)
  stateRoot @7 :Data;
  voters @8 :List(UInt64);
  clusterId @9 :Text;
  ledgerTimeMs @10 :Int64;
  epoch @11 :UInt64;
  lastIndex @12 :UInt64;
  snapshotIndex @13 :UInt64;
}

struct Account {
  found @0 :Bool;
  tslUnits @1 :Int64;
  wattWh @2 :Int64;
  nonce @3 :UInt64;
  appliedIndex @4 :UInt64;    # the replica's applied index the answer was read at
  feeDebtUnits @5 :Int64;
}

# A request the node could not serve: `code` is stable (net::client_error in wire.hpp).
struct Failure {
  code @0 :UInt16;
  codeName @1 :Text;
  message @2 :Text;
  leaderHint @3 :UInt64;
}

struct ClientResponse {
  id @0 :UInt64;
  union {
    outcome @1 :Outcome;
    status @2 :Status;
    account @3 :Account;
    failure @4 :Failure;
    members @5 :Text;         # JSON object (docs/node.md "energoctl member list --json")
    clusterInfo @6 :Text;     # JSON object {cluster_id, genesis_hash, cluster_file, members}
    query @7 :Text;           # JSON answer of a Query
    checkpoint @8 :Text;      # JSON object (docs/node.md "Checkpoints on Qtum")
  }
}
