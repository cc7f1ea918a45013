#pragma once
// energoctl internals (docs/node.md "energoctl"): the shared plumbing of every verb. Each
// verbs_*.cpp registers its subcommands on the CLI11 app and sets the action to run.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "net/client_conn.hpp"
#include "node/exit_codes.hpp"
#include "tools/command_json.hpp"
#include "tools/key_file.hpp"

namespace energo::ctl {

using tools::json;
using node::exit_code;

struct options {
  std::vector<std::string> endpoints{"127.0.0.1:7200"};
  bool as_json = false;
  uint32_t timeout_ms = 15000;
  std::string network = "regtest";
};

// What the parsed command line runs; set by the chosen subcommand's callback.
struct ctl_app {
  CLI::App& app;
  options& o;
  std::function<int()> action;
};

// ---- Talking to a node ----
// Sends one request to the first endpoint that answers; retries busy / no_leader / shutting_down
// and connection failures on every endpoint until the deadline. exit_ok or exit_unavailable/usage.
int call(const options& o, net::client_request req, net::client_response& out);
// Prints a request failure (stderr, or a JSON object with --json); returns exit_failed.
int print_failure(const options& o, const net::client_failure& f);
// A named read (actors/query.hpp) parsed as JSON, or the exit code already reported.
energo::result<json, int> query(const options& o, const std::string& name, const json& params, bool stale = false);
// Prints `j` (compact with --json, else pretty); returns exit_ok.
int print_json(const json& j, bool compact);

// ---- Signing and submitting ----
// Flags every state-changing verb shares.
struct signing_flags {
  std::string key_file;     // --key
  uint64_t nonce = 0;       // --nonce (0: the ledger's last nonce for the key + 1, asked of the node)
  bool offline = false;     // --offline: sign and print, do not contact a node (needs --genesis, --nonce)
  std::string genesis_file; // --genesis (offline)
  std::string out_file;     // --out: write the signed command's binary form here (offline)
};
void add_signing_flags(CLI::App* c, signing_flags& f);

// Signs `doc` (an unsigned JSON command without its signer field) with the key file and submits
// it, printing the outcome; or, offline, prints the signed JSON line / writes the binary.
// `nonce_field` is the JSON field holding the nonce ("nonce" or "sequence").
int sign_and_submit(const options& o, const signing_flags& f, json doc, const char* nonce_field = "nonce");
// Submits one encoded command and prints its outcome. exit_ok, exit_refused, or a failure code.
int submit_bytes(const options& o, const std::string& bytes);
json outcome_json(const net::command_outcome& x);

// Reads a key file, reporting errors; nullopt after printing why.
std::optional<tools::key_file> load_key(const std::string& path);
std::optional<crypto::network> network_of(const options& o);

std::string hex(const std::string& raw);

// ---- Registration of the verbs (verbs_*.cpp) ----
void add_cluster_verbs(ctl_app& c);   // status, submit, query, member …
void add_account_verbs(ctl_app& c);   // account show|history|statement, transfer, nonce
void add_market_verbs(ctl_app& c);    // order …, book, trades, epochs, agent set|show
void add_admin_verbs(ctl_app& c);     // meter|unit|station register, params show|set, grant
void add_offline_verbs(ctl_app& c);   // keys new|import|export, sign, sizing
void add_snapshot_verbs(ctl_app& c);  // snapshot save|restore
void add_checkpoint_verbs(ctl_app& c);  // checkpoint list|verify, account prove, proof verify (after account)

}  // namespace energo::ctl
