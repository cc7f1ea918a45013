// energoctl against one real energo-node (issue 9 §1): every verb, table and --json output, and
// refusals (wrong key kind, bad signature, stale nonce, non-admin, bad query parameters): a stable
// error and nothing changed. One single-node cluster for all checks, to stay cheap in CI.
#include "tests/node/cluster_fixture.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <sys/stat.h>

namespace {

using namespace energo;
using namespace energo::test_node;
using json = nlohmann::json;

struct ctl_result {
  int rc = -1;
  std::string out;  // stdout only
  std::string err;
};

class ctl_fixture : public cluster_fixture {
 protected:
  ctl_fixture() { cluster_size_ = 1; }

  ctl_result ctl(const std::string& args) { return run(std::string(ENERGOCTL_BIN) + " --endpoints 127.0.0.1:" +
                                                      std::to_string(nodes_[0].client_port) + " --timeout-ms 8000 " + args); }

  // Any command line; stdout and stderr apart.
  ctl_result run(const std::string& command) {
    ctl_result r;
    const std::string err_file = root_ + "/ctl.err";
    const std::string cmd = command + " 2>" + err_file;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof(buf), p)) r.out.append(buf, n);
    const int st = ::pclose(p);
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::ifstream e(err_file);
    std::stringstream ss;
    ss << e.rdbuf();
    r.err = ss.str();
    return r;
  }

  json ctl_json(const std::string& args, int expect_rc = 0) { return parsed(ctl("--json " + args), args, expect_rc); }

  json parsed(const ctl_result& r, const std::string& args, int expect_rc) {
    EXPECT_EQ(r.rc, expect_rc) << args << "\nstdout: " << r.out << "\nstderr: " << r.err;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << args << ": not JSON: " << r.out;
    return j;
  }

  // A private copy (mode 0600) of an example key file.
  std::string key(const std::string& name) {
    const auto dst = root_ + "/" + name + ".json";
    if (!fs::exists(dst)) {
      fs::copy_file("examples/community/keys/" + name + ".json", dst);
      ::chmod(dst.c_str(), 0600);
    }
    return dst;
  }

  static std::string field(const std::string& key_file, const char* f) {
    std::ifstream in(key_file);
    return json::parse(in).at(f).get<std::string>();
  }
};

TEST_F(ctl_fixture, EveryVerbTableAndJsonWithRefusals) {
  // The client port on every interface, so that a non-loopback connection can be tried (log-level).
  {
    auto args = start_args(nodes_[0]);
    for (auto& a : args)
      if (a == "127.0.0.1:" + std::to_string(nodes_[0].client_port)) a = "0.0.0.0:" + std::to_string(nodes_[0].client_port);
    nodes_[0].pid = spawn_node(args, root_ + "/" + nodes_[0].name + ".log");
  }
  ASSERT_TRUE(wait_leader({&nodes_[0]}, 20s));
  const std::string genesis = fs::absolute("examples/community/genesis.json").string();
  const auto coop = key("account-coop"), baker = key("account-baker"), admin = key("admin");
  const auto meter = key("meter-baker"), unit = key("unit-a");
  const auto coop_addr = field(coop, "address"), baker_addr = field(baker, "address");

  // --version, --help with defaults, usage errors.
  EXPECT_EQ(ctl("--version").rc, 0);
  {
    auto h = ctl("--help");
    EXPECT_EQ(h.rc, 0);
    EXPECT_NE(h.out.find("127.0.0.1:7200"), std::string::npos) << "defaults shown";
    EXPECT_NE(h.out.find("Exit codes"), std::string::npos);
    EXPECT_EQ(ctl("frobnicate").rc, 2);
    EXPECT_EQ(ctl("transfer --to " + baker_addr).rc, 2) << "missing --amount and --key";
  }

  // status
  EXPECT_EQ(ctl_json("status")["role"], "leader");
  EXPECT_NE(ctl("status").out.find("state root"), std::string::npos);

  // params show: Bmax from the genesis Cu = 30000, P = 20000 cents: 4·30000·1000 / (3·20000) = 2000 Wh.
  {
    auto p = ctl_json("params show");
    EXPECT_EQ(p["bmax_wh"], 2000);
    EXPECT_EQ(p["network"], "regtest");
    EXPECT_NE(ctl("params show").out.find("bmax_wh"), std::string::npos);
  }

  // sizing (offline): 1000 users → capacity 1000 × 1500 Wh = 1.5 MWh, cost = 1000 × Cu, 2 containers.
  {
    auto s = ctl_json("sizing --users 1000");
    EXPECT_EQ(s["bmax_wh"], 2000);
    EXPECT_EQ(s["capacity_wh"], 1'500'000);
    EXPECT_EQ(s["cost_cents"], 30'000'000);
    EXPECT_EQ(s["containers_40ft"], 2);
    EXPECT_EQ(s["area_m2"], 60);
    EXPECT_NE(ctl("sizing --users 1000").out.find("40-ft containers      2"), std::string::npos);
    EXPECT_EQ(ctl("sizing --users 0").rc, 2);
    EXPECT_EQ(ctl_json("sizing --users 10 --from-node")["bmax_wh"], 2000);
  }

  // keys new / export / import round trip (WIF is Qtum's).
  {
    auto n = ctl_json("--network regtest keys new --type secp256k1 --out " + root_ + "/k1.json");
    ASSERT_TRUE(n.contains("address"));
    EXPECT_EQ(n["address"].get<std::string>()[0], 'q');
    auto e = ctl_json("keys export " + root_ + "/k1.json");
    const auto wif = e["wif"].get<std::string>();
    EXPECT_EQ(wif[0], 'c') << "testnet/regtest compressed WIF";
    auto i = ctl_json("keys import --wif " + wif + " --out " + root_ + "/k2.json");
    EXPECT_EQ(i["address"], n["address"]);
    EXPECT_EQ(ctl("keys import --wif " + wif + " --out " + root_ + "/k2.json").rc, 2) << "refuses to overwrite";
    EXPECT_EQ(ctl("--network mainnet keys import --wif " + wif + " --out " + root_ + "/k3.json").rc, 2);
    auto ed = ctl_json("keys new --out " + root_ + "/e1.json");
    const auto seed = ctl_json("keys export " + root_ + "/e1.json")["seed"].get<std::string>();
    EXPECT_EQ(ctl_json("keys import --ed25519-seed " + seed + " --out " + root_ + "/e2.json")["public_key"], ed["public_key"]);
    struct stat st {};
    ASSERT_EQ(::stat((root_ + "/k2.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }

  // account show (+ proof) and transfer.
  auto coop_before = ctl_json("account show " + coop_addr);
  EXPECT_TRUE(coop_before["found"].get<bool>());
  EXPECT_EQ(coop_before["tsl_units"], 89'999'500'000'000'000LL);  // the genesis allocation
  EXPECT_NE(ctl("account show " + coop_addr).out.find("tsl_units"), std::string::npos);
  {
    auto p = ctl_json("account show " + coop_addr + " --proof");
    EXPECT_TRUE(p["proof"]["verified"].get<bool>());
    EXPECT_EQ(p["proof"]["state_root"].get<std::string>().size(), 64u);
  }
  const int64_t baker_tsl = ctl_json("account show " + baker_addr)["tsl_units"].get<int64_t>();
  {
    auto t = ctl_json("transfer --key " + coop + " --to " + baker_addr + " --amount 1000");
    EXPECT_TRUE(t["accepted"].get<bool>());
    EXPECT_EQ(ctl_json("account show " + baker_addr)["tsl_units"], baker_tsl + 1000);
    EXPECT_EQ(ctl_json("account show " + coop_addr)["nonce"], 1);
    EXPECT_NE(ctl("transfer --key " + coop + " --to " + baker_addr + " --amount 1").out.find("applied at index"), std::string::npos);
  }
  // Refusals: a stale nonce (ledger refusal, exit 11), an Ed25519 key for an account command (exit
  // 2, never sent), a negative amount (exit 2), a tampered signature (exit 12): nothing changes.
  {
    const auto before = ctl_json("account show " + coop_addr);
    auto stale = ctl_json("transfer --key " + coop + " --to " + baker_addr + " --amount 5 --nonce 1", 11);
    EXPECT_FALSE(stale["accepted"].get<bool>());
    EXPECT_EQ(stale["code"], "stale_nonce");
    EXPECT_EQ(ctl("transfer --key " + meter + " --to " + baker_addr + " --amount 5").rc, 2);
    EXPECT_EQ(ctl("transfer --key " + coop + " --to " + baker_addr + " --amount -5").rc, 2);
    EXPECT_EQ(ctl("transfer --key " + coop + " --to notanaddress --amount 5").rc, 2);
    // Offline signing, then a flipped signature byte: bad_signature before the log.
    auto line = ctl("transfer --offline --genesis " + genesis + " --nonce 9 --key " + coop + " --to " + baker_addr +
                    " --amount 7 --out " + root_ + "/t.bin");
    ASSERT_EQ(line.rc, 0) << line.err;
    auto j = json::parse(line.out);
    EXPECT_EQ(j["type"], "transfer");
    EXPECT_EQ(j["nonce"], 9);
    std::string bytes;
    {
      std::ifstream in(root_ + "/t.bin", std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      bytes = ss.str();
    }
    ASSERT_GT(bytes.size(), 10u);
    bytes[bytes.size() - 5] ^= 0x01;
    {
      std::ofstream out(root_ + "/bad.bin", std::ios::binary);
      out << bytes;
    }
    auto bad = ctl_json("submit --binary " + root_ + "/bad.bin", 12);
    EXPECT_EQ(bad["error"], "bad_signature");
    const auto after = ctl_json("account show " + coop_addr);
    EXPECT_EQ(after["tsl_units"], before["tsl_units"]);
    EXPECT_EQ(after["nonce"], before["nonce"]);
    // The untampered offline command applies (nonce 9 > 2).
    EXPECT_TRUE(ctl_json("submit --binary " + root_ + "/t.bin")["accepted"].get<bool>());
    EXPECT_EQ(ctl_json("account show " + coop_addr)["nonce"], 9);
    // `sign` from an unsigned JSON line.
    auto s = ctl("sign --key " + coop + " --genesis " + genesis + " --command '{\"type\":\"transfer\",\"nonce\":10,\"to\":\"" +
                 baker_addr + "\",\"asset\":\"TSL\",\"amount\":3}'");
    ASSERT_EQ(s.rc, 0) << s.err;
    EXPECT_NE(s.out.find("\"signature\""), std::string::npos);
    EXPECT_EQ(ctl("sign --key " + meter + " --genesis " + genesis + " --command '{\"type\":\"transfer\",\"nonce\":10,\"to\":\"" +
                  baker_addr + "\",\"asset\":\"TSL\",\"amount\":3}'").rc, 2);
  }

  // Admin verbs: a storage unit, baker's meter, a station; a non-admin key is refused.
  {
    EXPECT_TRUE(ctl_json("unit register --key " + admin + " --unit-key " + field(unit, "public_key") + " --owner " + coop_addr +
                         " --capacity-wh 60000")["accepted"].get<bool>());
    EXPECT_TRUE(ctl_json("meter register --key " + admin + " --meter-key " + field(meter, "public_key") + " --account " +
                         baker_addr + " --export-wh-start 0 --import-wh-start 0")["accepted"].get<bool>());
    auto refused = ctl_json("meter register --key " + unit + " --meter-key " + field(unit, "public_key") + " --account " +
                                baker_addr, 11);
    EXPECT_FALSE(refused["accepted"].get<bool>());
    EXPECT_EQ(ctl_json("query summary")["meters"], 1);
    EXPECT_TRUE(ctl_json("station register --key " + admin + " --station-key " + field(key("meter-oak"), "public_key") +
                         " --account " + coop_addr + " --fee-units-per-kwh 5000")["accepted"].get<bool>());
    EXPECT_EQ(ctl_json("query stations")["count"], 1);
    EXPECT_EQ(ctl_json("query storage_units")["units"][0]["capacity_wh"], 60000);
    // params set: only the fee changes; the others keep their values.
    EXPECT_TRUE(ctl_json("params set --key " + admin + " --fee-units-per-kwh-epoch 200000")["accepted"].get<bool>());
    auto p = ctl_json("params show");
    EXPECT_EQ(p["fee_units_per_kwh_epoch"], 200000);
    EXPECT_EQ(p["storage_cost_per_user_cents"], 30000);
    EXPECT_EQ(ctl_json("params set --key " + unit + " --fee-units-per-kwh-epoch 1", 11)["accepted"], false);
    EXPECT_EQ(ctl_json("params show")["fee_units_per_kwh_epoch"], 200000);
  }

  // A meter reading (signed offline with the meter key, submitted) gives baker WATT to sell.
  {
    const int64_t t = 1718928000000;  // ledger time stays at genesis: the node runs without a clock
    auto s = ctl("sign --key " + meter + " --genesis " + genesis +
                 " --command '{\"type\":\"meter_reading\",\"sequence\":1,\"timestamp_ms\":" + std::to_string(t) +
                 ",\"export_wh_total\":1500,\"import_wh_total\":0}'");
    ASSERT_EQ(s.rc, 0) << s.err;
    std::ofstream(root_ + "/reading.jsonl") << s.out;
    EXPECT_TRUE(ctl_json("submit --file " + root_ + "/reading.jsonl")["accepted"].get<bool>());
    EXPECT_EQ(ctl_json("account show " + baker_addr)["watt_wh"], 1500);
    EXPECT_EQ(ctl_json("query nonce --params '{\"key\":\"" + field(meter, "public_key") + "\"}'")["role"], "meter");
  }

  // Orders: coop bids, replaces, baker sells into it; book, orders, trades, epochs, history.
  {
    auto bid = ctl_json("order place buy --price 100 --quantity 500 --key " + coop);
    ASSERT_TRUE(bid["accepted"].get<bool>()) << bid;
    const auto id = bid["order_id"].get<uint64_t>();
    auto list = ctl_json("order list --key " + coop);
    ASSERT_EQ(list["orders"].size(), 1u);
    EXPECT_EQ(list["orders"][0]["remaining_wh"], 500);
    EXPECT_NE(ctl("order list " + coop_addr).out.find("REMAINING_WH"), std::string::npos);
    auto book = ctl_json("book");
    ASSERT_EQ(book["bids"].size(), 1u);
    EXPECT_EQ(book["bids"][0]["price_units_per_wh"], 100);
    EXPECT_EQ(book["bids"][0]["total_wh"], 500);
    EXPECT_EQ(book["bids"][0]["funded_wh"], 500);
    EXPECT_NE(ctl("book").out.find("bid   100"), std::string::npos);
    auto rep = ctl_json("order replace " + std::to_string(id) + " --price 120 --quantity 400 --key " + coop);
    ASSERT_TRUE(rep["accepted"].get<bool>()) << rep;
    const auto id2 = rep["order_id"].get<uint64_t>();
    EXPECT_EQ(ctl_json("book")["bids"][0]["price_units_per_wh"], 120);
    // Cancelling someone else's order: refused, the order stays.
    EXPECT_EQ(ctl_json("order cancel " + std::to_string(id2) + " --key " + baker, 11)["accepted"], false);
    auto sell = ctl_json("order place sell --price 110 --quantity 300 --key " + baker);
    ASSERT_TRUE(sell["accepted"].get<bool>()) << sell;
    EXPECT_EQ(sell["filled_wh"], 300);
    auto trades = ctl_json("trades");
    ASSERT_EQ(trades["trades"].size(), 1u);
    EXPECT_EQ(trades["trades"][0]["price_units_per_wh"], 120) << "the older (resting) order's price";
    EXPECT_EQ(trades["trades"][0]["quantity_wh"], 300);
    EXPECT_EQ(trades["trades"][0]["buyer"], coop_addr);
    EXPECT_EQ(trades["trades"][0]["seller"], baker_addr);
    EXPECT_EQ(trades["trades"][0]["notional_units"], 36000);
    EXPECT_NE(ctl("trades").out.find(baker_addr), std::string::npos);
    EXPECT_EQ(ctl_json("trades --address " + baker_addr)["trades"].size(), 1u);
    auto epochs = ctl_json("epochs");
    ASSERT_GE(epochs["epochs"].size(), 1u);
    EXPECT_EQ(epochs["epochs"][0]["volume_wh"], 300);
    EXPECT_NE(ctl("epochs").out.find("VOLUME_WH"), std::string::npos);
    auto hist = ctl_json("account history " + baker_addr);
    ASSERT_GE(hist["market_events"].size(), 1u);
    EXPECT_EQ(hist["market_events"][0]["kind"], "traded");
    // The full history (newest first): the sale to coop, then the reading that minted the WATT.
    ASSERT_GE(hist["events"].size(), 2u) << hist;
    EXPECT_TRUE(hist["complete"].get<bool>());
    EXPECT_EQ(hist["events"][0]["kind"], "sold");
    EXPECT_EQ(hist["events"][0]["wh"], 300);
    EXPECT_EQ(hist["events"][0]["units"], 36000);
    EXPECT_EQ(hist["events"][0]["counterparty"], coop_addr);
    EXPECT_EQ(hist["events"].back()["kind"], "transfer_in") << "coop's transfers came first";
    bool minted = false;
    for (const auto& e : hist["events"]) minted = minted || (e["kind"] == "minted" && e["wh"] == 1500);
    EXPECT_TRUE(minted) << hist;
    EXPECT_EQ(ctl_json("account history " + baker_addr + " --limit 1")["events"].size(), 1u);
    EXPECT_NE(ctl("account history " + baker_addr + " --limit 1").out.find("(more: --before "), std::string::npos);
    EXPECT_NE(ctl("account history " + baker_addr).out.find("traded"), std::string::npos);
    EXPECT_EQ(ctl_json("order cancel " + std::to_string(id2) + " --key " + coop)["accepted"], true);
    EXPECT_EQ(ctl_json("order list --key " + coop)["orders"].size(), 0u);
    EXPECT_EQ(ctl_json("account show " + baker_addr)["watt_wh"], 1200);
  }

  // Agent set / show.
  {
    EXPECT_TRUE(ctl_json("agent set --key " + baker + " --sell-price 150000 --sell-above 1800 --buy-price 1 --buy-below 0")
                    ["accepted"].get<bool>());
    auto a = ctl_json("agent show " + baker_addr);
    EXPECT_TRUE(a["enabled"].get<bool>());
    EXPECT_EQ(a["sell_above_wh"], 1800);
    EXPECT_NE(ctl("agent show " + baker_addr).out.find("sell above 1800 Wh"), std::string::npos);
    EXPECT_TRUE(ctl_json("agent set --key " + baker + " --disable")["accepted"].get<bool>());
    EXPECT_FALSE(ctl_json("agent show " + baker_addr)["enabled"].get<bool>());
  }

  // Statements (the analytics index): baker's day and month reconcile with its account counters.
  {
    auto day = ctl_json("account statement " + baker_addr + " --day 2024-06-21");
    EXPECT_TRUE(day["complete"].get<bool>());
    EXPECT_EQ(day["total"]["stored_wh"], 1500);
    EXPECT_EQ(day["total"]["produced_wh"], 1500);
    EXPECT_EQ(day["total"]["sold_wh"], 300);
    EXPECT_EQ(day["total"]["sold_units"], 36000);
    EXPECT_EQ(day["lifetime"]["minted_wh"], 1500);
    auto coop_day = ctl_json("account statement " + coop_addr + " --day 2024-06-21");
    EXPECT_EQ(coop_day["total"]["bought_wh"], 300);
    EXPECT_EQ(coop_day["total"]["bought_units"], 36000);
    EXPECT_EQ(ctl_json("account statement " + baker_addr + " --day 2024-06-22")["total"]["stored_wh"], 0);
    auto month = ctl_json("account statement " + baker_addr + " --month 2024-06");
    EXPECT_EQ(month["total"], day["total"]);
    auto csv = ctl("account statement " + baker_addr + " --month 2024-06 --csv");
    ASSERT_EQ(csv.rc, 0) << csv.err;
    EXPECT_EQ(csv.out.rfind("day,produced_wh,stored_wh,", 0), 0u) << csv.out;
    EXPECT_NE(csv.out.find("\n2024-06-21,1500,1500,0,"), std::string::npos) << csv.out;
    EXPECT_NE(csv.out.find("\ntotal,1500,1500,0,"), std::string::npos) << csv.out;
    EXPECT_NE(ctl("account statement " + baker_addr + " --day 2024-06-21").out.find("stored_wh              1500"),
              std::string::npos);
    EXPECT_EQ(ctl("account statement " + baker_addr).rc, 2) << "needs --day or --month";
    EXPECT_EQ(ctl_json("account statement " + baker_addr + " --day 2024-06-31", 12)["error"], "malformed");
    auto community = ctl_json("query analytics --params '{\"epochs\":2}'");
    EXPECT_EQ(community["total"]["stored_wh"], 1500);
    EXPECT_EQ(community["total"]["bought_wh"], 300);
  }

  // snapshot save: the node image in chunks, checked against its SHA-256.
  {
    auto s = ctl_json("snapshot save " + root_ + "/backup.img");
    const auto bytes = s["bytes"].get<uint64_t>();
    EXPECT_GT(bytes, 100u);
    EXPECT_EQ(fs::file_size(root_ + "/backup.img"), bytes);
    std::ifstream in(root_ + "/backup.img", std::ios::binary);
    std::string image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(image.substr(0, 4), "ENI4");
    ASSERT_GT(image.size(), 40u);
    EXPECT_EQ(s["image_bytes"], image.size() - 40);
    EXPECT_EQ(image.substr(image.size() - 40, 8), "ENSHA256") << "the checksum trailer (node/snapshot_file.hpp)";
    const auto h = crypto::sha256(crypto::as_bytes(std::string_view(image).substr(0, image.size() - 40)));
    EXPECT_EQ(crypto::to_hex(h), s["sha256"]);
    EXPECT_EQ(image.substr(image.size() - 32), std::string(reinterpret_cast<const char*>(h.data()), h.size()));
    EXPECT_NE(ctl("snapshot save " + root_ + "/backup2.img").out.find("saved the node image"), std::string::npos);
    EXPECT_EQ(ctl_json("query node_image --params '{\"offset\":5,\"applied_index\":1}'", 12)["error"], "malformed");
  }

  // Runtime log level: loopback only; the change is logged.
  {
    EXPECT_EQ(ctl_json("log-level")["level"], "info");
    auto set = ctl_json("log-level debug");
    EXPECT_EQ(set["previous"], "info");
    EXPECT_EQ(set["level"], "debug");
    EXPECT_EQ(ctl("log-level").out, "log level debug\n");
    EXPECT_EQ(ctl("log-level loud").rc, 2) << "not a level";
    EXPECT_EQ(ctl_json("query log_level --params '{\"level\":\"loud\"}'", 12)["error"], "malformed");
    EXPECT_EQ(ctl("log-level info").out, "log level debug -> info\n");
    std::ifstream log(root_ + "/n1.log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("log level info -> debug (energoctl log-level, from 127.0.0.1"), std::string::npos);
    EXPECT_NE(text.find("log level debug -> info"), std::string::npos);
    // From a non-loopback address of this machine (when it has one): refused, level unchanged.
    std::string outside;
    ifaddrs* ifs = nullptr;
    if (::getifaddrs(&ifs) == 0) {
      for (auto* i = ifs; i && outside.empty(); i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        char buf[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
        if (std::string(buf).rfind("127.", 0) != 0) outside = buf;
      }
      ::freeifaddrs(ifs);
    }
    if (outside.empty()) {
      std::printf("log-level: no non-loopback IPv4 address here; the refusal is not exercised\n");
    } else {
      auto r = run(std::string(ENERGOCTL_BIN) + " --json --endpoints " + outside + ":" + std::to_string(nodes_[0].client_port) +
                   " --timeout-ms 4000 log-level trace");
      auto j = parsed(r, "log-level from " + outside, 12);
      EXPECT_EQ(j["error"], "not_supported") << r.out;
      EXPECT_NE(j.value("message", "").find("loopback"), std::string::npos) << r.out;
      EXPECT_EQ(ctl_json("log-level")["level"], "info");
    }
  }

  // snapshot restore (docs/operations.md "Restore"): the saved file seeds a fresh data directory of
  // a new one-node cluster, which starts with the same state root at the image's index and accepts
  // new commands; a tampered, truncated or foreign file is refused and creates nothing.
  {
    const auto saved = ctl_json("snapshot save " + root_ + "/restore.img");
    const auto at = saved["applied_index"].get<uint64_t>();
    // The source's root at that index (the node is idle: its status reaches that index and stays).
    std::optional<net::node_status> src;
    for (auto deadline = clock_type::now() + 5s; clock_type::now() < deadline;) {
      src = status(nodes_[0]);
      if (src && src->applied_index == at) break;
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(src && src->applied_index == at);
    const std::string source_root = crypto::to_hex(crypto::as_bytes(src->state_root));

    node_proc r;
    r.name = "r1";
    r.dir = root_ + "/r1";
    r.peer_port = reserve_loopback_port();
    r.client_port = reserve_loopback_port();
    const auto init = json::parse(run_capture(std::string(ENERGO_NODE_BIN) + " init --json --data " + r.dir));
    {
      std::ofstream b(root_ + "/restore.toml");
      b << "cluster_id = \"restored-1\"\ngenesis = \"" << genesis << "\"\n[[member]]\nname = \"r1\"\npublic_key = \""
        << init.at("public_key").get<std::string>() << "\"\npeer = \"127.0.0.1:" << r.peer_port << "\"\nclient = \"127.0.0.1:"
        << r.client_port << "\"\n";
    }
    const std::string node_bin = ENERGO_NODE_BIN;
    auto restore = [&](const std::string& file, const std::string& dir, const std::string& boot) {
      return run(node_bin + " restore --json --snapshot " + file + " --data " + dir + " --bootstrap " + boot);
    };
    auto untouched = [&](const std::string& dir) { return !fs::exists(dir + "/db") && !fs::exists(dir + "/cluster.json"); };
    std::string image;
    {
      std::ifstream in(root_ + "/restore.img", std::ios::binary);
      image.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto write = [&](const std::string& name, const std::string& bytes) {
      std::ofstream(root_ + "/" + name, std::ios::binary) << bytes;
      return root_ + "/" + name;
    };
    // Refusals first, all into the same fresh directory: each must leave it as init made it.
    std::string flipped = image;
    flipped[flipped.size() / 2] ^= 0x01;
    auto bad = restore(write("flipped.img", flipped), r.dir, root_ + "/restore.toml");
    EXPECT_EQ(bad.rc, 2);
    EXPECT_NE(bad.err.find("checksum mismatch"), std::string::npos) << bad.err;
    EXPECT_TRUE(untouched(r.dir));
    bad = restore(write("short.img", image.substr(0, image.size() - 10)), r.dir, root_ + "/restore.toml");
    EXPECT_EQ(bad.rc, 2);
    EXPECT_NE(bad.err.find("not an energo snapshot file"), std::string::npos) << bad.err;
    EXPECT_TRUE(untouched(r.dir));
    // A checksum that matches bytes that are not an image: the decode checks refuse it.
    const std::string junk = "ENI4" + std::string(64, '\xff');
    const auto h = crypto::sha256(crypto::as_bytes(junk));
    bad = restore(write("junk.img", junk + "ENSHA256" + std::string(reinterpret_cast<const char*>(h.data()), h.size())), r.dir,
                  root_ + "/restore.toml");
    EXPECT_EQ(bad.rc, 2);
    EXPECT_NE(bad.err.find("not a node image"), std::string::npos) << bad.err;
    EXPECT_TRUE(untouched(r.dir));
    // A bootstrap file without this node, and a directory that already belongs to a cluster.
    bad = restore(root_ + "/restore.img", r.dir, root_ + "/bootstrap.toml");
    EXPECT_EQ(bad.rc, 6) << bad.err;
    EXPECT_TRUE(untouched(r.dir));
    bad = restore(root_ + "/restore.img", nodes_[0].dir, root_ + "/restore.toml");
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.err.find("in use"), std::string::npos) << "the running node holds its LOCK: " << bad.err;

    auto ok = restore(root_ + "/restore.img", r.dir, root_ + "/restore.toml");
    ASSERT_EQ(ok.rc, 0) << ok.err;
    const auto res = json::parse(ok.out);
    EXPECT_EQ(res["applied_index"], at);
    EXPECT_EQ(res["state_root"], source_root);
    EXPECT_EQ(res["cluster_id"], "restored-1");
    EXPECT_NE(restore(root_ + "/restore.img", r.dir, root_ + "/restore.toml").err.find("already holds"), std::string::npos);

    nodes_.push_back(r);  // stopped by TearDown
    auto& rn = nodes_.back();
    start(rn);
    ASSERT_TRUE(wait_leader({&rn}, 20s)) << "the restored node did not elect itself";
    std::optional<net::node_status> st;
    for (auto deadline = clock_type::now() + 5s; clock_type::now() < deadline;) {
      st = status(rn);
      if (st && st->applied_index > at) break;  // the new leader's first (empty) entry applied
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(st);
    EXPECT_GT(st->applied_index, at);
    EXPECT_EQ(crypto::to_hex(crypto::as_bytes(st->state_root)), source_root) << "same state, one empty entry later";
    EXPECT_EQ(st->cluster_id, "restored-1");
    auto at_r = [&](const std::string& args) {
      return parsed(run(std::string(ENERGOCTL_BIN) + " --json --endpoints 127.0.0.1:" + std::to_string(rn.client_port) +
                        " --timeout-ms 8000 " + args),
                    args, 0);
    };
    const auto coop_src = ctl_json("account show " + coop_addr);
    auto coop_r = at_r("account show " + coop_addr);
    EXPECT_EQ(coop_r["tsl_units"], coop_src["tsl_units"]);
    EXPECT_EQ(coop_r["nonce"], coop_src["nonce"]);
    EXPECT_EQ(at_r("account history " + baker_addr)["events"], ctl_json("account history " + baker_addr)["events"])
        << "the analytics index travelled with the image";
    // The restored cluster accepts new commands, with nonces continuing from the image.
    EXPECT_TRUE(at_r("transfer --key " + coop + " --to " + baker_addr + " --amount 11")["accepted"].get<bool>());
    EXPECT_EQ(at_r("account show " + coop_addr)["nonce"], coop_src["nonce"].get<uint64_t>() + 1);
    auto members = at_r("member list");
    ASSERT_TRUE(members.contains("members")) << members;
    ASSERT_EQ(members["members"].size(), 1u);
    EXPECT_EQ(members["members"][0]["name"], "r1");
  }

  // Queries: bad parameters get a stable error, unknown names too.
  {
    EXPECT_EQ(ctl_json("book --levels 0", 12)["error"], "malformed");
    EXPECT_EQ(ctl_json("query book --params '{\"levelz\":3}'", 12)["error"], "malformed");
    EXPECT_EQ(ctl_json("query nosuch", 12)["error"], "not_supported");
    EXPECT_EQ(ctl_json("account show qNotAnAddress", 12)["error"], "malformed");
    EXPECT_EQ(ctl_json("query ev_sessions")["open"].size(), 0u);
  }
}

}  // namespace
