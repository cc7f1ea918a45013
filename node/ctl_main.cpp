// energoctl: the admin/client CLI of an energo-node (docs/node.md "energoctl").
//   energoctl [--endpoints a,b] [--json] status
//   energoctl [--endpoints a,b] [--json] submit [--file F | --binary F]   (JSON lines on stdin by default)
//   energoctl [--endpoints a,b] [--json] account ADDRESS [--stale]
//   energoctl [--endpoints a,b] [--json] member list | add | promote | demote | remove | transfer-leader
//   energoctl [--endpoints a,b] [--json] checkpoint list | verify INDEX --qtum-rpc URL
//   energoctl [--endpoints a,b] account prove ADDRESS [--at INDEX] --out FILE
//   energoctl proof verify FILE --qtum-rpc URL                   (no cluster needed)
//   energoctl keys new --out FILE
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "actors/checkpoint_state.hpp"
#include "actors/membership.hpp"
#include "ledger/ledger.hpp"
#include "net/qtum/anchor.hpp"
#include "net/qtum/rpc_client.hpp"
#include "node/config.hpp"
#include "crypto/bytes.hpp"
#include "tools/key_file.hpp"
#include "net/client_conn.hpp"
#include "node/exit_codes.hpp"
#include "tools/command_json.hpp"

namespace {

using namespace energo;
using namespace energo::node;
using tools::json;
using clock_type = std::chrono::steady_clock;

struct options {
  std::vector<std::string> endpoints{"127.0.0.1:7200"};
  bool as_json = false;
  uint32_t timeout_ms = 15000;
  std::string network = "regtest";
};

// Sends one request to the first endpoint that answers; retries `busy`, `no_leader` and
// connection failures (on every endpoint in turn) until the deadline.
int call(const options& o, net::client_request req, net::client_response& out) {
  const auto deadline = clock_type::now() + std::chrono::milliseconds(o.timeout_ms);
  std::string last_error = "no endpoint";
  for (int attempt = 0; clock_type::now() < deadline; ++attempt) {
    for (const auto& e : o.endpoints) {
      auto ep = net::parse_endpoint(e);
      if (!ep) {
        std::fprintf(stderr, "energoctl: bad endpoint '%s' (host:port)\n", e.c_str());
        return exit_usage;
      }
      net::client_conn conn;
      if (auto r = conn.connect(*ep, std::chrono::milliseconds(1000)); !r) {
        last_error = r.error();
        continue;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      auto res = conn.call(req, std::max(left, std::chrono::milliseconds(100)));
      if (!res) {
        last_error = res.error();
        continue;
      }
      if (res->what == net::client_response::kind::failure &&
          (res->failure.code == net::client_errc::busy || res->failure.code == net::client_errc::no_leader ||
           res->failure.code == net::client_errc::shutting_down)) {
        last_error = std::string(net::to_string(res->failure.code)) + ": " + res->failure.message;
        continue;
      }
      out = std::move(*res);
      return exit_ok;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1000, 100 * (attempt + 1))));
  }
  std::fprintf(stderr, "energoctl: %s\n", last_error.c_str());
  return exit_unavailable;
}

std::string hex(const std::string& raw) { return crypto::to_hex(crypto::as_bytes(raw)); }

int print_failure(const options& o, const net::client_failure& f) {
  if (o.as_json) {
    json j;
    j["error"] = std::string(net::to_string(f.code));
    j["message"] = f.message;
    std::printf("%s\n", tools::dump_compact(j).c_str());
  } else {
    std::fprintf(stderr, "energoctl: %s: %s\n", std::string(net::to_string(f.code)).c_str(), f.message.c_str());
  }
  return exit_failed;
}

int cmd_status(const options& o) {
  net::client_request req;
  req.what = net::client_request::kind::status;
  net::client_response res;
  if (int rc = call(o, req, res); rc != exit_ok) return rc;
  if (res.what == net::client_response::kind::failure) return print_failure(o, res.failure);
  const auto& s = res.status;
  if (o.as_json) {
    json j;
    j["node_id"] = s.node_id;
    j["name"] = s.name;
    j["cluster_id"] = s.cluster_id;
    j["role"] = s.role;
    j["term"] = s.term;
    j["leader"] = s.leader;
    j["commit_index"] = s.commit_index;
    j["applied_index"] = s.applied_index;
    j["last_index"] = s.last_index;
    j["snapshot_index"] = s.snapshot_index;
    j["state_root"] = hex(s.state_root);
    j["ledger_time_ms"] = s.ledger_time_ms;
    j["epoch"] = s.epoch;
    j["voters"] = s.voters;
    std::printf("%s\n", tools::dump_compact(j).c_str());
  } else {
    std::printf("node        %llu (%s)\ncluster     %s\nrole        %s\nterm        %llu\nleader      %llu\n"
                "commit      %llu\napplied     %llu\nsnapshot    %llu\nstate root  %s\nledger time %lld (epoch %llu)\n",
                static_cast<unsigned long long>(s.node_id), s.name.c_str(), s.cluster_id.c_str(), s.role.c_str(),
                static_cast<unsigned long long>(s.term), static_cast<unsigned long long>(s.leader),
                static_cast<unsigned long long>(s.commit_index), static_cast<unsigned long long>(s.applied_index),
                static_cast<unsigned long long>(s.snapshot_index), hex(s.state_root).c_str(),
                static_cast<long long>(s.ledger_time_ms), static_cast<unsigned long long>(s.epoch));
  }
  return exit_ok;
}

json outcome_json(const net::command_outcome& x) {
  json j;
  j["index"] = x.index;
  j["accepted"] = x.accepted;
  if (!x.accepted) {
    j["code"] = x.code_name;
    j["message"] = x.message;
  }
  if (x.duplicate) j["duplicate"] = true;
  if (x.minted_wh) j["minted_wh"] = x.minted_wh;
  if (x.burned_wh) j["burned_wh"] = x.burned_wh;
  if (x.fees_units) j["fees_units"] = x.fees_units;
  if (x.order_id) j["order_id"] = x.order_id;
  if (x.filled_wh) j["filled_wh"] = x.filled_wh;
  if (x.trades) j["trades"] = x.trades;
  if (x.session_id) j["session_id"] = x.session_id;
  if (x.created_account) j["created_account"] = true;
  if (x.epochs_closed) j["epochs_closed"] = x.epochs_closed;
  return j;
}

int cmd_submit(const options& o, const std::string& file, const std::string& binary) {
  std::vector<std::string> commands;
  const auto net_kind = tools::network_from_name(o.network);
  if (!net_kind) {
    std::fprintf(stderr, "energoctl: unknown network '%s'\n", o.network.c_str());
    return exit_usage;
  }
  if (!binary.empty()) {
    std::ifstream in(binary, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in && !in.eof()) return std::fprintf(stderr, "energoctl: cannot read %s\n", binary.c_str()), exit_usage;
    commands.push_back(ss.str());
  } else {
    std::ifstream fin;
    if (!file.empty()) {
      fin.open(file);
      if (!fin) return std::fprintf(stderr, "energoctl: cannot read %s\n", file.c_str()), exit_usage;
    }
    std::istream& in = file.empty() ? std::cin : fin;
    tools::json_lines_reader reader(in);
    for (;;) {
      auto line = reader.next();
      if (!line) return std::fprintf(stderr, "energoctl: %s\n", line.error().to_string().c_str()), exit_usage;
      if (!line->has_value()) break;
      auto cmd = tools::command_from_line(**line, reader.line_number(), *net_kind, tools::signature_form::signed_form);
      if (!cmd) return std::fprintf(stderr, "energoctl: %s\n", cmd.error().to_string().c_str()), exit_usage;
      const auto bytes = ledger::encode(*cmd);
      commands.emplace_back(bytes.begin(), bytes.end());
    }
  }
  int worst = exit_ok;
  for (const auto& c : commands) {
    net::client_request req;
    req.what = net::client_request::kind::submit;
    req.command = c;
    net::client_response res;
    if (int rc = call(o, req, res); rc != exit_ok) return rc;
    if (res.what == net::client_response::kind::failure) {
      print_failure(o, res.failure);
      worst = exit_failed;
      continue;
    }
    const auto& x = res.outcome;
    if (!x.accepted && worst == exit_ok) worst = exit_refused;
    if (o.as_json) {
      std::printf("%s\n", tools::dump_compact(outcome_json(x)).c_str());
    } else if (x.accepted) {
      std::printf("applied at index %llu%s\n", static_cast<unsigned long long>(x.index), x.duplicate ? " (duplicate)" : "");
    } else {
      std::printf("refused at index %llu: %s: %s\n", static_cast<unsigned long long>(x.index), x.code_name.c_str(),
                  x.message.c_str());
    }
  }
  return worst;
}

int cmd_account(const options& o, const std::string& address, bool stale) {
  const auto net_kind = tools::network_from_name(o.network);
  if (!net_kind) return std::fprintf(stderr, "energoctl: unknown network\n"), exit_usage;
  auto a = tools::address_from_text(address, *net_kind);
  if (!a) return std::fprintf(stderr, "energoctl: %s\n", a.error().to_string().c_str()), exit_usage;
  net::client_request req;
  req.what = net::client_request::kind::account;
  req.account.address = *a;
  req.account.stale = stale;
  net::client_response res;
  if (int rc = call(o, req, res); rc != exit_ok) return rc;
  if (res.what == net::client_response::kind::failure) return print_failure(o, res.failure);
  const auto& x = res.account;
  json j;
  j["found"] = x.found;
  j["tsl_units"] = x.tsl_units;
  j["watt_wh"] = x.watt_wh;
  j["nonce"] = x.nonce;
  j["fee_debt_units"] = x.fee_debt_units;
  j["applied_index"] = x.applied_index;
  std::printf("%s\n", o.as_json ? tools::dump_compact(j).c_str() : tools::dump_pretty(j).c_str());
  return exit_ok;
}

// A named read (actors/query.hpp): prints the node's JSON answer.
int cmd_query(const options& o, const std::string& name, const std::string& params, bool stale) {
  net::client_request req;
  req.what = net::client_request::kind::query;
  req.query.name = name;
  req.query.params_json = params;
  req.query.stale = stale;
  net::client_response res;
  if (int rc = call(o, req, res); rc != exit_ok) return rc;
  if (res.what == net::client_response::kind::failure) return print_failure(o, res.failure);
  if (res.what != net::client_response::kind::query) {
    std::fprintf(stderr, "energoctl: unexpected answer to a query\n");
    return exit_failed;
  }
  json j = json::parse(res.text, nullptr, false);
  if (j.is_discarded()) return std::fprintf(stderr, "energoctl: bad answer from the node\n"), exit_failed;
  std::printf("%s\n", o.as_json ? tools::dump_compact(j).c_str() : tools::dump_pretty(j).c_str());
  return exit_ok;
}

// ---- Membership (docs/node.md "Membership") ----------------------------------------------------

struct member_options {
  std::string admin_key_file;
  uint64_t nonce = 0;  // 0: microseconds since the epoch (strictly increasing for one admin)
  std::string name, key, peer, client;
  bool learner = false;
  bool force = false;
  std::string target;  // NAME or node id
};

energo::result<json, int> ask_json(const options& o, net::client_request::kind what) {
  net::client_request req;
  req.what = what;
  net::client_response res;
  if (int rc = call(o, req, res); rc != exit_ok) return energo::unexpected<int>{rc};
  if (res.what == net::client_response::kind::failure) return energo::unexpected<int>{print_failure(o, res.failure)};
  try {
    return json::parse(res.text);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "energoctl: bad answer from the node: %s\n", e.what());
    return energo::unexpected<int>{exit_failed};
  }
}

// The member list with replication progress: asked of the leader when it is known (only the
// leader knows match indexes and last contact).
energo::result<json, int> member_list(const options& o) {
  auto j = ask_json(o, net::client_request::kind::members);
  if (!j || (*j)["progress_known"].get<bool>()) return j;
  const uint64_t leader = (*j)["leader"].get<uint64_t>();
  for (const auto& m : (*j)["members"]) {
    if (m["id"].get<uint64_t>() != leader || m["client"].get<std::string>().empty()) continue;
    options lo = o;
    lo.endpoints = {m["client"].get<std::string>()};
    lo.timeout_ms = std::min<uint32_t>(o.timeout_ms, 3000);
    auto from_leader = ask_json(lo, net::client_request::kind::members);
    if (from_leader && (*from_leader)["progress_known"].get<bool>()) return from_leader;
  }
  return j;
}

int cmd_member_list(const options& o) {
  auto j = member_list(o);
  if (!j) return j.error();
  if (o.as_json) {
    std::printf("%s\n", j->dump().c_str());
    return exit_ok;
  }
  std::printf("%-20s %-10s %-8s %-8s %-6s %-10s %-8s %s\n", "ID", "NAME", "ROLE", "RAFT", "LEADER", "MATCH", "LAG",
              "LAST CONTACT");
  for (const auto& m : (*j)["members"]) {
    auto num = [&](const char* k) { return m.contains(k) ? std::to_string(m[k].get<int64_t>()) : std::string("-"); };
    std::printf("%-20llu %-10s %-8s %-8s %-6s %-10s %-8s %s\n", static_cast<unsigned long long>(m["id"].get<uint64_t>()),
                m["name"].get<std::string>().c_str(), m["registry_role"].get<std::string>().c_str(),
                m["raft_role"].get<std::string>().c_str(), m["leader"].get<bool>() ? "*" : "",
                num("match_index").c_str(), num("lag").c_str(),
                m.contains("last_contact_ms") ? (num("last_contact_ms") + " ms ago").c_str() : "-");
  }
  if (!(*j)["progress_known"].get<bool>()) std::printf("(no leader reachable: match, lag and contact unknown)\n");
  return exit_ok;
}

// NAME or decimal node id -> a member of the list.
std::optional<json> find_member(const json& list, const std::string& target) {
  for (const auto& m : list["members"]) {
    if (m["name"].get<std::string>() == target || std::to_string(m["id"].get<uint64_t>()) == target) return m;
  }
  return std::nullopt;
}

int submit_admin(const options& o, const member_options& mo, actors::admin_request req) {
  auto key = tools::read_key_file(mo.admin_key_file);
  if (!key || !key->ed25519) {
    std::fprintf(stderr, "energoctl: --admin-key %s: %s\n", mo.admin_key_file.c_str(),
                 key ? "not an Ed25519 key" : key.error().to_string().c_str());
    return exit_usage;
  }
  auto info = ask_json(o, net::client_request::kind::cluster_info);
  if (!info) return info.error();
  const auto gh = crypto::array_from_hex<32>((*info)["genesis_hash"].get<std::string>());
  if (!gh) return std::fprintf(stderr, "energoctl: bad genesis hash from the node\n"), exit_failed;
  req.nonce = mo.nonce != 0 ? mo.nonce
                            : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                        std::chrono::system_clock::now().time_since_epoch())
                                                        .count());
  req = actors::sign_admin_request(std::move(req), *key->ed25519, (*info)["cluster_id"].get<std::string>(), *gh);
  net::client_request r;
  r.what = net::client_request::kind::admin;
  r.command = actors::encode_admin_request(req);
  net::client_response res;
  if (int rc = call(o, r, res); rc != exit_ok) return rc;
  if (res.what == net::client_response::kind::failure) return print_failure(o, res.failure);
  const auto& x = res.outcome;
  if (o.as_json) {
    json j;
    j["index"] = x.index;
    j["accepted"] = x.accepted;
    if (!x.accepted) j["code"] = x.code_name, j["message"] = x.message;
    if (x.duplicate) j["duplicate"] = true;
    std::printf("%s\n", j.dump().c_str());
  } else if (x.accepted) {
    std::printf("member %s applied at index %llu%s\n", std::string(actors::to_string(req.op)).c_str(),
                static_cast<unsigned long long>(x.index), x.duplicate ? " (duplicate)" : "");
  } else {
    std::fprintf(stderr, "energoctl: member %s refused at index %llu: %s: %s\n", std::string(actors::to_string(req.op)).c_str(),
                 static_cast<unsigned long long>(x.index), x.code_name.c_str(), x.message.c_str());
  }
  return x.accepted ? exit_ok : exit_refused;
}

int cmd_member_change(const options& o, const member_options& mo, actors::admin_op op) {
  actors::admin_request req;
  req.op = op;
  if (op == actors::admin_op::add) {
    auto k = crypto::array_from_hex<32>(mo.key);
    if (!k) return std::fprintf(stderr, "energoctl: --key must be 64 hex characters (energo-node init prints it)\n"), exit_usage;
    req.node_key.bytes = *k;
    req.name = mo.name;
    req.peer = mo.peer;
    req.client = mo.client;
    req.role = mo.learner ? actors::member_role::learner : actors::member_role::voter;
    if (!net::parse_endpoint(mo.peer) || (!mo.client.empty() && !net::parse_endpoint(mo.client))) {
      return std::fprintf(stderr, "energoctl: addresses are host:port\n"), exit_usage;
    }
    return submit_admin(o, mo, req);
  }
  auto list = member_list(o);
  if (!list) return list.error();
  auto m = find_member(*list, mo.target);
  if (!m) return std::fprintf(stderr, "energoctl: no member named or numbered '%s'\n", mo.target.c_str()), exit_usage;
  req.node = (*m)["id"].get<uint64_t>();
  if ((op == actors::admin_op::remove || op == actors::admin_op::demote) &&
      (*m)["registry_role"].get<std::string>() == "voter") {
    std::size_t voters = 0;
    for (const auto& x : (*list)["members"]) voters += x["registry_role"].get<std::string>() == "voter" ? 1 : 0;
    // Fewer than 3 voters cannot survive the loss of any one of them.
    if (voters - 1 < 3 && !mo.force) {
      std::fprintf(stderr,
                   "energoctl: %s %s leaves %zu voter(s): the cluster would stop on the loss of any %s. "
                   "Add --force to do it anyway.\n",
                   op == actors::admin_op::remove ? "removing" : "demoting", mo.target.c_str(), voters - 1,
                   voters - 1 <= 1 ? "node" : "one of them");
      return exit_usage;
    }
  }
  return submit_admin(o, mo, req);
}

int cmd_keys_new(const std::string& out) {
  const auto key = crypto::ed25519_keypair::generate();
  if (auto r = tools::write_key_file(out, tools::key_file::of(key), false); !r) {
    std::fprintf(stderr, "energoctl: %s\n", r.error().c_str());
    return exit_usage;
  }
  std::printf("%s\n", crypto::to_hex(key.public_key().bytes).c_str());
  return exit_ok;
}

// ---- Checkpoints on Qtum (docs/node.md "Checkpoints on Qtum") ----------------------------------

struct qtum_options {
  std::string url;
  std::string cookie_file;
  std::string user, password;
  uint32_t min_confirmations = 1;
};

energo::result<qtum::rpc_client, int> qtum_client(const qtum_options& q) {
  const auto ep = parse_rpc_url(q.url, 3889);
  if (!ep) {
    std::fprintf(stderr, "energoctl: --qtum-rpc '%s' is not http://host:port\n", q.url.c_str());
    return energo::unexpected<int>{exit_usage};
  }
  if (q.cookie_file.empty() && q.user.empty()) {
    std::fprintf(stderr, "energoctl: give --rpc-cookie FILE or --rpc-user/--rpc-password for the Qtum node\n");
    return energo::unexpected<int>{exit_usage};
  }
  qtum::rpc_config c;
  c.host = ep->host;
  c.port = ep->port;
  c.user = q.user;
  c.password = q.password;
  c.cookie_file = q.user.empty() ? q.cookie_file : std::string();
  c.attempts_max = 3;
  c.read_timeout_ms = 10000;
  return qtum::rpc_client(c);
}

energo::result<json, int> ask_checkpoint(const options& o, const net::checkpoint_query& q) {
  net::client_request req;
  req.what = net::client_request::kind::checkpoint;
  req.checkpoint = q;
  net::client_response res;
  if (int rc = call(o, req, res); rc != exit_ok) return energo::unexpected<int>{rc};
  if (res.what == net::client_response::kind::failure) return energo::unexpected<int>{print_failure(o, res.failure)};
  try {
    auto j = json::parse(res.text);
    if (j.contains("error")) {
      std::fprintf(stderr, "energoctl: %s\n", j["error"].get<std::string>().c_str());
      return energo::unexpected<int>{exit_failed};
    }
    return j;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "energoctl: bad answer from the node: %s\n", e.what());
    return energo::unexpected<int>{exit_failed};
  }
}

int cmd_checkpoint_list(const options& o) {
  auto j = ask_checkpoint(o, {});
  if (!j) return j.error();
  if (o.as_json) {
    std::printf("%s\n", tools::dump_compact(*j).c_str());
    return exit_ok;
  }
  std::printf("%-10s %-64s %-64s %s\n", "index", "state root", "txid", "height");
  for (const auto& a : (*j)["anchors"]) {
    std::printf("%-10llu %-64s %-64s %llu\n", static_cast<unsigned long long>(a["index"].get<uint64_t>()),
                a["root"].get<std::string>().c_str(), a["txid"].get<std::string>().c_str(),
                static_cast<unsigned long long>(a["height"].get<uint64_t>()));
  }
  if (!(*j)["in_flight"].is_null()) {
    std::printf("in flight: index %llu, txid %s\n", static_cast<unsigned long long>((*j)["in_flight"]["index"].get<uint64_t>()),
                (*j)["in_flight"]["txid"].get<std::string>().c_str());
  }
  if (!(*j)["service"].is_null()) std::printf("anchoring on this node: %s\n", tools::dump_compact((*j)["service"]).c_str());
  return exit_ok;
}

// What the chain says about one anchor transaction.
struct chain_anchor {
  qtum::anchor_payload payload;
  int64_t confirmations = 0;  // -1: its block is not on the active chain
};

energo::result<chain_anchor, std::pair<int, std::string>> fetch_anchor(qtum::rpc_client& rpc, const qtum::txid_t& txid,
                                                                       const crypto::hash256& block_hash) {
  using fail_t = energo::unexpected<std::pair<int, std::string>>;
  auto header = rpc.call("getblockheader", json::array({qtum::txid_hex(block_hash)}));
  if (!header) {
    const bool node_said = header.error().code == qtum::error_code::rpc;
    return fail_t{{node_said ? exit_verify_failed : exit_qtum_unavailable,
                   "block " + qtum::txid_hex(block_hash) + ": " + header.error().message}};
  }
  chain_anchor out;
  out.confirmations = header->value("confirmations", int64_t{-1});
  auto raw = rpc.get_raw_transaction(txid, block_hash);
  if (!raw) {
    const bool node_said = raw.error().code == qtum::error_code::rpc;
    return fail_t{{node_said ? exit_verify_failed : exit_qtum_unavailable,
                   "transaction " + qtum::txid_hex(txid) + ": " + raw.error().message}};
  }
  auto tx = qtum::decode_transaction(*raw);
  if (!tx) return fail_t{{exit_verify_failed, "the transaction does not decode: " + tx.error().message}};
  if (qtum::txid_of(*tx) != txid) return fail_t{{exit_verify_failed, "the node returned another transaction"}};
  auto payload = qtum::find_anchor_payload(*tx);
  if (!payload) return fail_t{{exit_verify_failed, "no Energo anchor in the transaction: " + payload.error().message}};
  out.payload = *payload;
  return out;
}

int verdict(const options& o, json report, const std::vector<std::string>& failures) {
  report["result"] = failures.empty() ? "PASS" : "FAIL";
  report["failures"] = failures;
  if (o.as_json) {
    std::printf("%s\n", tools::dump_compact(report).c_str());
  } else {
    for (const auto& [k, v] : report.items()) {
      if (k == "result" || k == "failures") continue;
      std::printf("%-16s %s\n", k.c_str(), v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
    }
    for (const auto& f : failures) std::printf("FAIL: %s\n", f.c_str());
    std::printf("%s\n", failures.empty() ? "PASS" : "FAIL");
  }
  return failures.empty() ? exit_ok : exit_verify_failed;
}

int cmd_checkpoint_verify(const options& o, uint64_t index, const qtum_options& q) {
  auto rpc = qtum_client(q);
  if (!rpc) return rpc.error();
  auto list = ask_checkpoint(o, {});
  if (!list) return list.error();
  const json* anchor = nullptr;
  for (const auto& a : (*list)["anchors"])
    if (a["index"].get<uint64_t>() == index) anchor = &a;
  json report;
  report["index"] = index;
  if (!anchor) return verdict(o, report, {"the cluster has no confirmed anchor at index " + std::to_string(index)});
  const auto root = crypto::array_from_hex<32>((*anchor)["root"].get<std::string>());
  const auto txid = qtum::parse_txid_hex((*anchor)["txid"].get<std::string>());
  const auto block = qtum::parse_txid_hex((*anchor)["block_hash"].get<std::string>());
  if (!root || !txid || !block) return verdict(o, report, {"the cluster's record does not parse"});
  report["cluster_root"] = crypto::to_hex(*root);
  report["txid"] = qtum::txid_hex(*txid);
  report["block_hash"] = qtum::txid_hex(*block);
  auto chain = fetch_anchor(*rpc, *txid, *block);
  if (!chain) {
    if (chain.error().first == exit_qtum_unavailable) {
      std::fprintf(stderr, "energoctl: Qtum node: %s\n", chain.error().second.c_str());
      return exit_qtum_unavailable;
    }
    return verdict(o, report, {chain.error().second});
  }
  std::vector<std::string> failures;
  report["chain_root"] = crypto::to_hex(chain->payload.state_root);
  report["confirmations"] = chain->confirmations;
  const std::string cluster_id = (*list)["cluster_id"].get<std::string>();
  if (chain->payload.cluster_id_hash != qtum::cluster_id_hash_of(cluster_id)) failures.push_back("the anchor names another cluster");
  if (chain->payload.log_index != index) failures.push_back("the anchor is for index " + std::to_string(chain->payload.log_index));
  if (chain->payload.state_root != *root) failures.push_back("the root on chain differs from the cluster's root at this index");
  if (chain->confirmations < static_cast<int64_t>(q.min_confirmations)) {
    failures.push_back(chain->confirmations < 0 ? "the anchor's block is not on the active chain"
                                                : "only " + std::to_string(chain->confirmations) + " confirmations (need " +
                                                      std::to_string(q.min_confirmations) + ")");
  }
  return verdict(o, report, failures);
}

int cmd_account_prove(const options& o, const std::string& address, uint64_t at, const std::string& out) {
  const auto net_kind = tools::network_from_name(o.network);
  if (!net_kind) return std::fprintf(stderr, "energoctl: unknown network\n"), exit_usage;
  auto a = tools::address_from_text(address, *net_kind);
  if (!a) return std::fprintf(stderr, "energoctl: %s\n", a.error().to_string().c_str()), exit_usage;
  net::checkpoint_query q;
  q.address = *a;
  q.at_index = at;
  auto proof = ask_checkpoint(o, q);
  if (!proof) return proof.error();
  (*proof)["address"] = address;
  const auto text = proof->dump(2) + "\n";
  std::ofstream f(out, std::ios::trunc);
  f << text;
  f.close();
  if (!f) return std::fprintf(stderr, "energoctl: cannot write %s\n", out.c_str()), exit_failed;
  std::printf("proof of %s at anchored index %llu written to %s\n", address.c_str(),
              static_cast<unsigned long long>((*proof)["index"].get<uint64_t>()), out.c_str());
  return exit_ok;
}

int cmd_proof_verify(const options& o, const std::string& file, const qtum_options& q) {
  std::ifstream in(file);
  if (!in) return std::fprintf(stderr, "energoctl: cannot read %s\n", file.c_str()), exit_usage;
  std::stringstream ss;
  ss << in.rdbuf();
  constexpr std::size_t proof_file_bytes_max = 1u << 20;
  if (ss.str().size() > proof_file_bytes_max) return std::fprintf(stderr, "energoctl: %s is too large\n", file.c_str()), exit_usage;
  auto rpc = qtum_client(q);
  if (!rpc) return rpc.error();
  json report;
  report["file"] = file;
  auto p = actors::parse_proof_file(ss.str());
  if (!p) return verdict(o, report, {p.error()});
  report["cluster_id"] = p->cluster_id;
  report["index"] = p->index;
  report["txid"] = qtum::txid_hex(p->txid);
  report["tsl_units"] = p->proof.record.tsl_units;
  report["watt_wh"] = p->proof.record.watt_wh;
  auto chain = fetch_anchor(*rpc, p->txid, p->block_hash);
  if (!chain) {
    if (chain.error().first == exit_qtum_unavailable) {
      std::fprintf(stderr, "energoctl: Qtum node: %s\n", chain.error().second.c_str());
      return exit_qtum_unavailable;
    }
    return verdict(o, report, {chain.error().second});
  }
  std::vector<std::string> failures;
  report["chain_root"] = crypto::to_hex(chain->payload.state_root);
  report["confirmations"] = chain->confirmations;
  if (chain->payload.cluster_id_hash != qtum::cluster_id_hash_of(p->cluster_id)) failures.push_back("the anchor names another cluster");
  if (chain->payload.log_index != p->index) failures.push_back("the anchor on chain is for index " + std::to_string(chain->payload.log_index));
  if (chain->payload.state_root != p->root) failures.push_back("the proof's root was never anchored by this transaction");
  if (chain->confirmations < static_cast<int64_t>(q.min_confirmations)) {
    failures.push_back(chain->confirmations < 0 ? "the anchor's block is not on the active chain"
                                                : "only " + std::to_string(chain->confirmations) + " confirmations");
  }
  // The Merkle proof is checked against the root found on chain, never the file's own claim.
  if (!ledger::verify_account_proof(chain->payload.state_root, p->proof)) {
    failures.push_back("the account proof does not verify against the anchored root (tampered or wrong proof)");
  }
  return verdict(o, report, failures);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"energoctl: talk to energo-node's client port (docs/node.md)"};
  app.set_version_flag("--version", "energoctl 0.1.0");
  options o;
  app.add_option("--endpoints", o.endpoints, "node client addresses host:port, tried in order")
      ->delimiter(',')
      ->capture_default_str();
  app.add_flag("--json", o.as_json, "machine-readable output");
  app.add_option("--timeout-ms", o.timeout_ms, "overall deadline per request, retries included")->capture_default_str();
  app.add_option("--network", o.network, "address network for JSON input: mainnet|testnet|regtest")->capture_default_str();
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  auto* status = app.add_subcommand("status", "role, term, leader, commit/applied index, state root");
  std::string file, binary;
  auto* submit = app.add_subcommand("submit", "submit signed commands (JSON lines from energo-keys sign) and print each outcome");
  submit->add_option("--file", file, "JSON lines file (default: stdin)");
  submit->add_option("--binary", binary, "one command in its binary (ledger::encode) form");
  std::string address;
  bool stale = false;
  auto* account = app.add_subcommand("account", "balances and nonce of an account (linearizable unless --stale)");
  account->add_option("address", address, "Qtum address");
  account->add_flag("--stale", stale, "read this node's replica without a read index");
  std::string query_name, query_params = "{}";
  bool query_stale = false;
  auto* query = app.add_subcommand("query", "a named read answered as JSON (docs/node.md \"Queries\")");
  query->add_option("name", query_name, "query name, e.g. account, summary")->required();
  query->add_option("--params", query_params, "parameters as a JSON object")->capture_default_str();
  query->add_flag("--stale", query_stale, "read this node's replica without a read index");
  member_options mo;
  auto* member = app.add_subcommand("member", "the replicated member registry (admin-signed changes)");
  member->require_subcommand(1);
  auto* m_list = member->add_subcommand("list", "id, name, role, leader, match index, lag, last contact");
  auto add_admin = [&](CLI::App* c) {
    c->add_option("--admin-key", mo.admin_key_file, "Ed25519 key file of a genesis admin")->required();
    c->add_option("--nonce", mo.nonce, "request nonce (default: microseconds since the epoch)");
  };
  auto* m_add = member->add_subcommand("add", "register a new node (added as learner, promoted once caught up unless --learner)");
  m_add->add_option("name", mo.name, "member name")->required();
  m_add->add_option("--key", mo.key, "the node's public key (hex, from energo-node init)")->required();
  m_add->add_option("--peer", mo.peer, "its peer address host:port")->required();
  m_add->add_option("--client", mo.client, "its client address host:port");
  m_add->add_flag("--learner", mo.learner, "keep it a learner (promote later with member promote)");
  add_admin(m_add);
  auto* m_promote = member->add_subcommand("promote", "make a learner a voter");
  m_promote->add_option("member", mo.target, "NAME or node id")->required();
  add_admin(m_promote);
  auto* m_demote = member->add_subcommand("demote", "make a voter a learner");
  m_demote->add_option("member", mo.target, "NAME or node id")->required();
  m_demote->add_flag("--force", mo.force, "demote even if fewer than 3 voters remain");
  add_admin(m_demote);
  auto* m_remove = member->add_subcommand("remove", "remove a member");
  m_remove->add_option("member", mo.target, "NAME or node id")->required();
  m_remove->add_flag("--force", mo.force, "remove even if fewer than 3 voters remain");
  add_admin(m_remove);
  auto* m_transfer = member->add_subcommand("transfer-leader", "hand leadership to a voter");
  m_transfer->add_option("member", mo.target, "NAME or node id")->required();
  add_admin(m_transfer);
  uint64_t prove_at = 0;
  std::string prove_address, prove_out;
  auto* a_prove = account->add_subcommand("prove", "balance proof file at an anchored index (default: the latest)");
  a_prove->add_option("address", prove_address, "Qtum address")->required();
  a_prove->add_option("--at", prove_at, "anchored log index (see checkpoint list)");
  a_prove->add_option("--out", prove_out, "proof file to write")->required();
  qtum_options qo;
  auto add_qtum = [&](CLI::App* c) {
    c->add_option("--qtum-rpc", qo.url, "the Qtum node's RPC, http://host:port")->required();
    c->add_option("--rpc-cookie", qo.cookie_file, "its .cookie file");
    c->add_option("--rpc-user", qo.user, "rpcuser");
    c->add_option("--rpc-password", qo.password, "rpcpassword");
    c->add_option("--min-confirmations", qo.min_confirmations, "confirmations required for PASS")->capture_default_str();
  };
  auto* checkpoint = app.add_subcommand("checkpoint", "state roots anchored on Qtum");
  checkpoint->require_subcommand(1);
  auto* c_list = checkpoint->add_subcommand("list", "confirmed anchors (index, root, txid, height), the one in flight");
  uint64_t verify_index = 0;
  auto* c_verify = checkpoint->add_subcommand("verify", "compare an anchor on the Qtum chain with the cluster's root: PASS/FAIL");
  c_verify->add_option("index", verify_index, "anchored log index")->required();
  add_qtum(c_verify);
  auto* proof = app.add_subcommand("proof", "balance proof files");
  proof->require_subcommand(1);
  std::string proof_file;
  auto* p_verify = proof->add_subcommand("verify", "check a proof file against the anchor on the Qtum chain (no cluster needed)");
  p_verify->add_option("file", proof_file, "proof file from account prove")->required();
  add_qtum(p_verify);
  auto* keys = app.add_subcommand("keys", "key files");
  keys->require_subcommand(1);
  std::string key_out;
  auto* keys_new = keys->add_subcommand("new", "new Ed25519 key file (mode 0600); prints the public key");
  keys_new->add_option("--out", key_out, "file to create")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_ok : exit_usage;
  }
  if (*m_list) return cmd_member_list(o);
  if (*m_add) return cmd_member_change(o, mo, actors::admin_op::add);
  if (*m_promote) return cmd_member_change(o, mo, actors::admin_op::promote);
  if (*m_remove) return cmd_member_change(o, mo, actors::admin_op::remove);
  if (*m_demote) return cmd_member_change(o, mo, actors::admin_op::demote);
  if (*m_transfer) return cmd_member_change(o, mo, actors::admin_op::transfer_leader);
  if (*keys_new) return cmd_keys_new(key_out);
  if (*status) return cmd_status(o);
  if (*submit) return cmd_submit(o, file, binary);
  if (*a_prove) return cmd_account_prove(o, prove_address, prove_at, prove_out);
  if (*c_list) return cmd_checkpoint_list(o);
  if (*c_verify) return cmd_checkpoint_verify(o, verify_index, qo);
  if (*p_verify) return cmd_proof_verify(o, proof_file, qo);
  if (*account) {
    if (address.empty()) return std::fprintf(stderr, "energoctl: account ADDRESS or account prove ADDRESS\n"), exit_usage;
    return cmd_account(o, address, stale);
  }
  if (*query) return cmd_query(o, query_name, query_params, query_stale);
  return exit_usage;
}
