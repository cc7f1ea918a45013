// energoctl: checkpoints on Qtum (docs/node.md "Checkpoints on Qtum"): checkpoint list|verify,
// account prove, proof verify. The two verify verbs check the chain, never the cluster's word.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "actors/checkpoint_state.hpp"
#include "crypto/bytes.hpp"
#include "ledger/ledger.hpp"
#include "net/qtum/anchor.hpp"
#include "net/qtum/rpc_client.hpp"
#include "node/config.hpp"
#include "node/ctl/ctl.hpp"

namespace energo::ctl {
namespace {

using namespace energo::node;

constexpr std::size_t proof_file_bytes_max = 1u << 20;

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

// The chain's anchor, or (exit code, reason): exit_qtum_unavailable when the node could not be
// asked, exit_verify_failed when it answered something that is not our anchor.
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

// What both verify verbs ask of the chain: the anchor transaction names this cluster, this index
// and this root, in a block of the active chain at least `min_confirmations` deep. Fetch problems
// end the verb here (exit 14 when the Qtum node could not be asked, else FAIL).
int verify_against_chain(const options& o, qtum::rpc_client& rpc, json report, const qtum::txid_t& txid,
                         const crypto::hash256& block, const std::string& cluster_id, uint64_t index,
                         const crypto::hash256& root, uint32_t min_confirmations,
                         const std::function<void(const chain_anchor&, std::vector<std::string>&)>& more_checks) {
  auto chain = fetch_anchor(rpc, txid, block);
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
  if (chain->payload.cluster_id_hash != qtum::cluster_id_hash_of(cluster_id)) failures.push_back("the anchor names another cluster");
  if (chain->payload.log_index != index) failures.push_back("the anchor on chain is for index " + std::to_string(chain->payload.log_index));
  if (chain->payload.state_root != root) failures.push_back("the root on chain differs from the one checked (never anchored by this transaction)");
  if (chain->confirmations < static_cast<int64_t>(min_confirmations)) {
    failures.push_back(chain->confirmations < 0 ? "the anchor's block is not on the active chain"
                                                : "only " + std::to_string(chain->confirmations) + " confirmations (need " +
                                                      std::to_string(min_confirmations) + ")");
  }
  if (more_checks) more_checks(*chain, failures);
  return verdict(o, report, failures);
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
  return verify_against_chain(o, *rpc, report, *txid, *block, (*list)["cluster_id"].get<std::string>(), index, *root,
                              q.min_confirmations, nullptr);
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
  const auto proof = p->proof;
  return verify_against_chain(o, *rpc, report, p->txid, p->block_hash, p->cluster_id, p->index, p->root,
                              q.min_confirmations, [&proof](const chain_anchor& chain, std::vector<std::string>& failures) {
                                // The Merkle proof is checked against the root found on chain, never the file's claim.
                                if (!ledger::verify_account_proof(chain.payload.state_root, proof)) {
                                  failures.push_back("the account proof does not verify against the anchored root (tampered or wrong proof)");
                                }
                              });
}

}  // namespace

void add_checkpoint_verbs(ctl_app& c) {
  auto q = std::make_shared<qtum_options>();
  auto add_qtum = [q](CLI::App* cmd) {
    cmd->add_option("--qtum-rpc", q->url, "the Qtum node's RPC, http://host:port")->required();
    cmd->add_option("--rpc-cookie", q->cookie_file, "its .cookie file");
    cmd->add_option("--rpc-user", q->user, "rpcuser");
    cmd->add_option("--rpc-password", q->password, "rpcpassword");
    cmd->add_option("--min-confirmations", q->min_confirmations, "confirmations required for PASS")->capture_default_str();
  };
  struct args {
    uint64_t index = 0;
    std::string address, out, file;
  };
  auto a = std::make_shared<args>();

  auto* checkpoint = c.app.add_subcommand("checkpoint", "state roots anchored on Qtum");
  checkpoint->require_subcommand(1);
  auto* list = checkpoint->add_subcommand("list", "confirmed anchors (index, root, txid, height), the one in flight");
  list->callback([&c] { c.action = [&c] { return cmd_checkpoint_list(c.o); }; });
  auto* verify = checkpoint->add_subcommand("verify", "compare an anchor on the Qtum chain with the cluster's root: PASS/FAIL");
  verify->add_option("index", a->index, "anchored log index")->required();
  add_qtum(verify);
  verify->callback([&c, a, q] { c.action = [&c, a, q] { return cmd_checkpoint_verify(c.o, a->index, *q); }; });

  // `account` is registered by add_account_verbs (verbs_account.cpp).
  CLI::App* account = c.app.get_subcommand("account");
  auto* prove = account->add_subcommand("prove", "balance proof file at an anchored index (default: the latest)");
  prove->add_option("address", a->address, "Qtum address")->required();
  prove->add_option("--at", a->index, "anchored log index (see checkpoint list)");
  prove->add_option("--out", a->out, "proof file to write")->required();
  prove->callback([&c, a] { c.action = [&c, a] { return cmd_account_prove(c.o, a->address, a->index, a->out); }; });

  auto* proof = c.app.add_subcommand("proof", "balance proof files");
  proof->require_subcommand(1);
  auto* p_verify = proof->add_subcommand("verify", "check a proof file against the anchor on the Qtum chain (no cluster needed)");
  p_verify->add_option("file", a->file, "proof file from account prove")->required();
  add_qtum(p_verify);
  p_verify->callback([&c, a, q] { c.action = [&c, a, q] { return cmd_proof_verify(c.o, a->file, *q); }; });
}

}  // namespace energo::ctl
