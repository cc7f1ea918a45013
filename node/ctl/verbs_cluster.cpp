// energoctl: cluster verbs: status, submit, query, member list|add|promote|demote|remove|transfer-leader.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "actors/membership.hpp"
#include "crypto/bytes.hpp"
#include "node/ctl/ctl.hpp"

namespace energo::ctl {
namespace {

using namespace energo::node;

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

// A named read (actors/query.hpp): prints the node's JSON answer.
int cmd_query(const options& o, const std::string& name, const std::string& params, bool stale) {
  json p = json::parse(params, nullptr, false);
  if (p.is_discarded()) return std::fprintf(stderr, "energoctl: --params is not JSON\n"), exit_usage;
  auto j = query(o, name, p, stale);
  if (!j) return j.error();
  return print_json(*j, o.as_json);
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

}  // namespace

void add_cluster_verbs(ctl_app& c) {
  auto& app = c.app;
  auto& o = c.o;
  app.add_subcommand("status", "role, term, leader, commit/applied index, state root")->callback([&c] {
    c.action = [&c] { return cmd_status(c.o); };
  });
  auto file = std::make_shared<std::string>();
  auto binary = std::make_shared<std::string>();
  auto* submit = app.add_subcommand("submit", "submit signed commands (JSON lines from energo-keys sign) and print each outcome");
  submit->add_option("--file", *file, "JSON lines file (default: stdin)");
  submit->add_option("--binary", *binary, "one command in its binary (ledger::encode) form");
  submit->callback([&c, file, binary] { c.action = [&c, file, binary] { return cmd_submit(c.o, *file, *binary); }; });

  struct query_args {
    std::string name, params = "{}";
    bool stale = false;
  };
  auto q = std::make_shared<query_args>();
  auto* query_cmd = app.add_subcommand("query", "a named read answered as JSON (docs/node.md \"Queries\")");
  query_cmd->add_option("name", q->name, "query name: account, book, trades, epochs, analytics, statement, ...")->required();
  query_cmd->add_option("--params", q->params, "parameters as a JSON object")->capture_default_str();
  query_cmd->add_flag("--stale", q->stale, "read this node's replica without a read index");
  query_cmd->callback([&c, q] { c.action = [&c, q] { return cmd_query(c.o, q->name, q->params, q->stale); }; });

  // log-level: this node's log level, read or changed at runtime (not replicated; loopback only,
  // docs/operations.md "Logs"). Name one node with --endpoints.
  auto level = std::make_shared<std::string>();
  auto* log_level = app.add_subcommand(
      "log-level", "show or set the log level of the node named by --endpoints (from a loopback connection only)");
  log_level->add_option("level", *level, "trace|debug|info|warn|error (none: show the current level)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  log_level->callback([&c, level] {
    c.action = [&c, level]() -> int {
      json p = json::object();
      if (!level->empty()) p["level"] = *level;
      auto j = query(c.o, "log_level", p, true);
      if (!j) return j.error();
      if (c.o.as_json) return print_json(*j, true);
      if (level->empty()) std::printf("log level %s\n", (*j)["level"].get<std::string>().c_str());
      else std::printf("log level %s -> %s\n", (*j)["previous"].get<std::string>().c_str(), (*j)["level"].get<std::string>().c_str());
      return exit_ok;
    };
  });

  auto mo = std::make_shared<member_options>();
  auto* member = app.add_subcommand("member", "the replicated member registry (admin-signed changes)");
  member->require_subcommand(1);
  member->add_subcommand("list", "id, name, role, leader, match index, lag, last contact")->callback([&c] {
    c.action = [&c] { return cmd_member_list(c.o); };
  });
  auto add_admin = [mo](CLI::App* s) {
    s->add_option("--admin-key", mo->admin_key_file, "Ed25519 key file of a genesis admin")->required();
    s->add_option("--nonce", mo->nonce, "request nonce (default: microseconds since the epoch)");
  };
  auto* m_add = member->add_subcommand("add", "register a new node (added as learner, promoted once caught up unless --learner)");
  m_add->add_option("name", mo->name, "member name")->required();
  m_add->add_option("--key", mo->key, "the node's public key (hex, from energo-node init)")->required();
  m_add->add_option("--peer", mo->peer, "its peer address host:port")->required();
  m_add->add_option("--client", mo->client, "its client address host:port");
  m_add->add_flag("--learner", mo->learner, "keep it a learner (promote later with member promote)");
  add_admin(m_add);
  m_add->callback([&c, mo] { c.action = [&c, mo] { return cmd_member_change(c.o, *mo, actors::admin_op::add); }; });
  auto* m_promote = member->add_subcommand("promote", "make a learner a voter");
  m_promote->add_option("member", mo->target, "NAME or node id")->required();
  add_admin(m_promote);
  m_promote->callback([&c, mo] { c.action = [&c, mo] { return cmd_member_change(c.o, *mo, actors::admin_op::promote); }; });
  auto* m_demote = member->add_subcommand("demote", "make a voter a learner");
  m_demote->add_option("member", mo->target, "NAME or node id")->required();
  m_demote->add_flag("--force", mo->force, "demote even if fewer than 3 voters remain");
  add_admin(m_demote);
  m_demote->callback([&c, mo] { c.action = [&c, mo] { return cmd_member_change(c.o, *mo, actors::admin_op::demote); }; });
  auto* m_remove = member->add_subcommand("remove", "remove a member");
  m_remove->add_option("member", mo->target, "NAME or node id")->required();
  m_remove->add_flag("--force", mo->force, "remove even if fewer than 3 voters remain");
  add_admin(m_remove);
  m_remove->callback([&c, mo] { c.action = [&c, mo] { return cmd_member_change(c.o, *mo, actors::admin_op::remove); }; });
  auto* m_transfer = member->add_subcommand("transfer-leader", "hand leadership to a voter");
  m_transfer->add_option("member", mo->target, "NAME or node id")->required();
  add_admin(m_transfer);
  m_transfer->callback([&c, mo] {
    c.action = [&c, mo] { return cmd_member_change(c.o, *mo, actors::admin_op::transfer_leader); };
  });
  (void)o;
}

}  // namespace energo::ctl
