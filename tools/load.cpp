#include "tools/load.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <thread>
#include <unordered_map>

#include "common/assert.hpp"
#include "crypto/hash.hpp"
#include "net/wire.hpp"

namespace energo::tools::load {

using clock_type = std::chrono::steady_clock;

crypto::secp256k1_secret_key account_key(const std::string& seed, uint32_t index) {
  for (uint32_t attempt = 0;; ++attempt) {
    std::string text = "energo/load/v1/" + seed + "/" + std::to_string(index);
    if (attempt > 0) text += "#" + std::to_string(attempt);
    if (auto k = crypto::secp256k1_secret_key::from_bytes(crypto::sha256(crypto::as_bytes(text)))) return *k;
  }
}

ledger::account_address account_address_of(const crypto::secp256k1_secret_key& key) {
  return crypto::hash160_of(key.public_key().bytes);
}

energo::result<ledger::genesis, std::string> make_genesis(uint32_t accounts, const std::string& seed,
                                                           int64_t genesis_time_ms, int64_t per_account_units) {
  if (accounts == 0 || accounts > limits::accounts_max)
    return energo::unexpected<std::string>("accounts must be within [1, " + std::to_string(limits::accounts_max) + "]");
  if (per_account_units <= 0 || per_account_units > ledger::tsl_supply_units / 4 / accounts)
    return energo::unexpected<std::string>("per-account allocation out of range");
  ledger::genesis g;
  g.community_id = "energo-load-" + seed;
  g.network = crypto::network::regtest;
  g.genesis_time_ms = genesis_time_ms;
  g.params = {100'000, 30'000, 20'000, 0};  // as examples/community/genesis.json
  g.admins.push_back(crypto::ed25519_keypair::from_seed(crypto::sha256(crypto::as_bytes("energo/load/v1/admin/" + seed))).public_key());
  const int64_t members = per_account_units * accounts;  // bounded above: no overflow
  const int64_t rest = ledger::tsl_supply_units - members;
  g.allocations.push_back({ledger::education_pool_address(), rest / 2});
  g.allocations.push_back({ledger::network_pool_address(), rest - rest / 2});
  for (uint32_t i = 0; i < accounts; ++i) g.allocations.push_back({account_address_of(account_key(seed, i)), per_account_units});
  return g;
}

energo::result<std::vector<uint8_t>, std::string> account_sequence(uint32_t length, const mix& m) {
  if (m.cancel_percent + m.transfer_percent > 100) return energo::unexpected<std::string>("cancel + transfer percent above 100");
  // Exact totals (floor of the shares), interleaved smoothly: at each position the kind furthest
  // behind its proportional share goes next (ties: place, cancel, transfer).
  const uint64_t n = length;
  const uint64_t total[3] = {n - n * m.cancel_percent / 100 - n * m.transfer_percent / 100, n * m.cancel_percent / 100,
                             n * m.transfer_percent / 100};
  uint64_t emitted[3] = {0, 0, 0};
  std::vector<uint8_t> seq;
  seq.reserve(length);
  for (uint64_t j = 0; j < n; ++j) {
    int best = -1;
    int64_t best_deficit = 0;
    for (int k = 0; k < 3; ++k) {
      if (emitted[k] >= total[k]) continue;
      const int64_t deficit = static_cast<int64_t>(total[k] * (j + 1)) - static_cast<int64_t>(emitted[k] * n);
      if (best < 0 || deficit > best_deficit) {
        best = k;
        best_deficit = deficit;
      }
    }
    ENERGO_ASSERT(best >= 0, "account_sequence: totals add up to the length");
    seq.push_back(static_cast<uint8_t>(best));
    ++emitted[best];
  }
  const uint64_t cancels = emitted[1], places = emitted[0];
  // Resting orders of the account: its warm-up orders (one per cancel) plus places so far minus
  // cancels so far; the maximum is reached at the end.
  if (cancels + places > limits::resting_orders_per_account_max) {
    return energo::unexpected<std::string>(
        std::to_string(length) + " commands per account would leave " + std::to_string(cancels + places) +
        " resting orders per account (the book allows 64): raise --accounts, lower --commands or raise --cancel-percent");
  }
  return seq;
}

percentiles latency_percentiles(std::vector<uint32_t> v) {
  percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
    return static_cast<double>(v[i]) / 1000.0;
  };
  p.p50_ms = at(0.50);
  p.p90_ms = at(0.90);
  p.p99_ms = at(0.99);
  p.p999_ms = at(0.999);
  p.max_ms = static_cast<double>(v.back()) / 1000.0;
  return p;
}

std::string latency_timeline_csv(const run_stats& s, std::size_t endpoints, uint32_t window_ms) {
  const std::size_t n = std::min({s.latency_us.size(), s.sent_ms.size(), s.endpoint.size()});
  if (window_ms == 0) window_ms = 1;
  uint32_t last = 0;
  for (std::size_t i = 0; i < n; ++i) last = std::max(last, s.sent_ms[i]);
  const std::size_t windows = n == 0 ? 0 : last / window_ms + 1;
  std::vector<std::vector<uint32_t>> lat(windows);
  std::vector<std::vector<uint32_t>> ep_max(windows, std::vector<uint32_t>(endpoints, 0));
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t w = s.sent_ms[i] / window_ms;
    lat[w].push_back(s.latency_us[i]);
    if (s.endpoint[i] < endpoints) ep_max[w][s.endpoint[i]] = std::max(ep_max[w][s.endpoint[i]], s.latency_us[i]);
  }
  std::string out = "start_s,commands,p50_ms,p99_ms,max_ms";
  for (std::size_t e = 0; e < endpoints; ++e) out += ",max_ms_endpoint" + std::to_string(e);
  out += "\n";
  char buf[96];
  for (std::size_t w = 0; w < windows; ++w) {
    const auto p = latency_percentiles(lat[w]);
    std::snprintf(buf, sizeof buf, "%.3f,%zu,%.2f,%.2f,%.2f", static_cast<double>(w * window_ms) / 1000.0, lat[w].size(),
                  p.p50_ms, p.p99_ms, p.max_ms);
    out += buf;
    for (std::size_t e = 0; e < endpoints; ++e) {
      std::snprintf(buf, sizeof buf, ",%.2f", static_cast<double>(ep_max[w][e]) / 1000.0);
      out += buf;
    }
    out += "\n";
  }
  return out;
}

std::vector<std::string> presign(const std::vector<ledger::command_body>& bodies, const std::vector<uint32_t>& key_of,
                                 const std::vector<crypto::secp256k1_secret_key>& keys, const crypto::hash256& genesis_hash,
                                 unsigned threads) {
  ENERGO_ASSERT(bodies.size() == key_of.size(), "presign: one key per body");
  std::vector<std::string> out(bodies.size());
  threads = std::max(1u, std::min(threads, 16u));
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::size_t i = t; i < bodies.size(); i += threads) {
        const auto bytes = ledger::encode(ledger::sign_secp256k1(bodies[i], keys[key_of[i]], genesis_hash));
        out[i].assign(bytes.begin(), bytes.end());
      }
    });
  }
  for (auto& th : pool) th.join();
  return out;
}

// ---- Driver -------------------------------------------------------------------------------------

namespace {

std::string base64(std::string_view in) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

energo::result<int, std::string> dial(const net::endpoint& ep) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(ep.host.c_str(), std::to_string(ep.port).c_str(), &hints, &res) != 0 || !res)
    return energo::unexpected<std::string>("cannot resolve " + ep.host);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    ::freeaddrinfo(res);
    return energo::unexpected<std::string>(std::string("socket: ") + std::strerror(errno));
  }
  const int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);  // loopback: answers at once
  ::freeaddrinfo(res);
  if (rc != 0) {
    const std::string e = std::strerror(errno);
    ::close(fd);
    return energo::unexpected<std::string>("connect " + ep.host + ":" + std::to_string(ep.port) + ": " + e);
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

struct connection {
  int fd = -1;
  std::size_t endpoint = 0;
  std::string out;
  std::size_t out_pos = 0;
  bool want_write = false;
  net::frame_reader reader{net::limits::client_frame_bytes_max};
  std::string http_in;
  std::deque<uint32_t> fifo;                       // etcd: lanes in request order
  std::unordered_map<uint64_t, uint32_t> by_id;    // energo: request id -> lane
};

struct lane_state {
  uint32_t next = 0;       // next command position
  bool busy = false;
  bool retired = false;
  uint32_t attempts = 0;
  uint32_t conn = 0;
  clock_type::time_point intended;
};

class driver {
 public:
  driver(const run_config& cfg, const energo_work* work) : cfg_(cfg), work_(work) {}

  energo::result<run_stats, std::string> go() {
    const bool etcd = cfg_.target == target_kind::etcd;
    if (cfg_.endpoints.empty()) return energo::unexpected<std::string>("no endpoint");
    if (cfg_.concurrency == 0 || cfg_.concurrency > limits::concurrency_max)
      return energo::unexpected<std::string>("concurrency out of range");
    if (cfg_.open_loop && (cfg_.rate_per_s == 0 || cfg_.rate_per_s > limits::rate_per_s_max))
      return energo::unexpected<std::string>("open loop needs a rate within [1, " + std::to_string(limits::rate_per_s_max) + "]");
    if (cfg_.duration_ms > limits::duration_ms_max) return energo::unexpected<std::string>("duration too long");
    uint32_t nconn = cfg_.connections;
    if (etcd) nconn = cfg_.concurrency;  // HTTP/1.1: one request per connection at a time
    else if (nconn == 0) nconn = std::min<uint32_t>(cfg_.concurrency, 64);
    if (nconn > limits::connections_max) return energo::unexpected<std::string>("too many connections");
    if (!etcd && (!work_ || work_->lanes.empty())) return energo::unexpected<std::string>("no work");

    epfd_ = ::epoll_create1(0);
    for (uint32_t i = 0; i < nconn; ++i) {
      connection c;
      c.endpoint = i % cfg_.endpoints.size();
      auto fd = dial(cfg_.endpoints[c.endpoint]);
      if (!fd) return energo::unexpected<std::string>(fd.error());
      c.fd = *fd;
      conns_.push_back(std::move(c));
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = i;
      ::epoll_ctl(epfd_, EPOLL_CTL_ADD, conns_[i].fd, &ev);
    }
    const std::size_t nlanes = etcd ? nconn : work_->lanes.size();
    lanes_.resize(nlanes);
    stats_.acked_nonce.assign(etcd ? 0 : work_->accounts, 0);
    stats_.lane_unknown.assign(nlanes, 0);
    if (!etcd) {
      stats_.order_ids.resize(nlanes);
      for (std::size_t l = 0; l < nlanes; ++l) stats_.order_ids[l].assign(work_->lanes[l].commands.size(), 0);
    }
    for (uint32_t l = 0; l < nlanes; ++l) {
      if (etcd) lanes_[l].conn = l;
      if (has_more(l)) idle_.push_back(l);
    }
    if (etcd) value_ = base64(std::string(cfg_.value_bytes, 'v'));

    start_ = clock_type::now();
    stats_.start_unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    end_ = start_ + std::chrono::milliseconds(cfg_.duration_ms);
    last_answer_ = start_;
    const auto interval_ns = cfg_.open_loop ? std::chrono::nanoseconds(1'000'000'000LL / cfg_.rate_per_s) : std::chrono::nanoseconds(0);
    auto next_due = start_;
    uint64_t due_count = 0;
    std::vector<epoll_event> events(256);
    for (;;) {
      auto now = clock_type::now();
      const bool sending = now < end_;
      if (sending && cfg_.open_loop) {
        while (next_due <= now && next_due < end_) {
          if (backlog_.size() < limits::backlog_max) backlog_.push_back(next_due);
          else ++stats_.not_sent;
          ++due_count;
          next_due = start_ + interval_ns * due_count;
        }
      }
      // retries whose delay passed
      while (!retry_.empty() && retry_.front().first <= now) {
        const uint32_t l = retry_.front().second;
        retry_.pop_front();
        send(l);
      }
      if (sending) dispatch(now);
      if (!sending && inflight_ == 0 && retry_.empty()) break;
      if (!sending && now > end_ + std::chrono::milliseconds(std::min(cfg_.drain_ms, limits::drain_ms_max))) break;
      if (!cfg_.open_loop && idle_.empty() && inflight_ == 0 && retry_.empty()) break;  // all work done
      // Wait for I/O until the next due send, retry or the end.
      auto wake = end_;
      if (!sending) wake = end_ + std::chrono::milliseconds(std::min(cfg_.drain_ms, limits::drain_ms_max));
      if (cfg_.open_loop && sending) wake = std::min(wake, next_due);
      if (!retry_.empty()) wake = std::min(wake, retry_.front().first);
      // Nanosecond timeout (epoll_pwait2): at 2,000/s the next send is 0.5 ms away, and a
      // millisecond timeout rounded down to 0 made the open loop spin on a core it shares with
      // the servers it measures.
      const auto wait_ns = std::clamp<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now).count(), 0,
                                               limits::poll_wait_ns_max);
      const timespec timeout{static_cast<time_t>(wait_ns / 1'000'000'000), static_cast<long>(wait_ns % 1'000'000'000)};
      const int n = ::epoll_pwait2(epfd_, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
      for (int i = 0; i < n; ++i) {
        const uint32_t ci = events[i].data.u32;
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(ci);
        if (events[i].events & EPOLLOUT) flush(ci);
      }
    }
    stats_.not_sent += backlog_.size();
    stats_.unanswered = inflight_;
    for (uint32_t l = 0; l < lanes_.size(); ++l) {
      if (lanes_[l].busy) stats_.lane_unknown[l] = 1;
    }
    stats_.duration_s = std::chrono::duration<double>(last_answer_ - start_).count();
    for (auto& c : conns_) if (c.fd >= 0) ::close(c.fd);
    ::close(epfd_);
    return std::move(stats_);
  }

 private:
  [[nodiscard]] bool has_more(uint32_t l) const {
    if (lanes_[l].retired) return false;
    if (cfg_.target == target_kind::etcd) return true;
    return lanes_[l].next < work_->lanes[l].commands.size();
  }

  void dispatch(clock_type::time_point now) {
    while (!idle_.empty() && inflight_ < cfg_.concurrency) {
      if (cfg_.open_loop && backlog_.empty()) return;
      const uint32_t l = idle_.front();
      idle_.pop_front();
      auto& ls = lanes_[l];
      if (cfg_.open_loop) {
        ls.intended = backlog_.front();
        backlog_.pop_front();
      } else {
        ls.intended = now;
      }
      ls.busy = true;
      ls.attempts = 0;
      ++inflight_;
      ++stats_.sent;
      send(l);
    }
  }

  void send(uint32_t l) {
    auto& ls = lanes_[l];
    ++ls.attempts;
    if (cfg_.target == target_kind::etcd) {
      auto& c = conns_[ls.conn];
      if (c.fd < 0 && !reconnect(ls.conn)) return fail_lane(l, "connection_lost", true);
      const std::string key = base64(cfg_.etcd_key_prefix + std::to_string(l) + "/" + std::to_string(ls.next));
      const std::string body = "{\"key\":\"" + key + "\",\"value\":\"" + value_ + "\"}";
      const auto& ep = cfg_.endpoints[c.endpoint];
      c.out += "POST /v3/kv/put HTTP/1.1\r\nHost: " + ep.host + ":" + std::to_string(ep.port) +
               "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      c.fifo.push_back(l);
      flush(ls.conn);
      return;
    }
    // energo: pick a connection round robin (responses carry the request id; any order)
    uint32_t ci = next_conn_++ % conns_.size();
    if (conns_[ci].fd < 0 && !reconnect(ci)) return fail_lane(l, "connection_lost", true);
    auto& c = conns_[ci];
    ls.conn = ci;
    net::client_request req;
    req.what = net::client_request::kind::submit;
    req.id = next_id_++;
    req.command = work_->lanes[l].commands[ls.next];
    const std::string body = net::encode_client_request(req);
    const uint32_t n = static_cast<uint32_t>(body.size());
    const char hdr[4] = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
    c.out.append(hdr, 4);
    c.out += body;
    c.by_id.emplace(req.id, l);
    flush(ci);
  }

  bool reconnect(uint32_t ci) {
    auto& c = conns_[ci];
    auto fd = dial(cfg_.endpoints[c.endpoint]);
    if (!fd) return false;
    c.fd = *fd;
    c.out.clear();
    c.out_pos = 0;
    c.want_write = false;
    c.reader = net::frame_reader(net::limits::client_frame_bytes_max);
    c.http_in.clear();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = ci;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
    return true;
  }

  void flush(uint32_t ci) {
    auto& c = conns_[ci];
    if (c.fd < 0) return;
    while (c.out_pos < c.out.size()) {
      const ssize_t w = ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
      if (w > 0) {
        c.out_pos += static_cast<std::size_t>(w);
        continue;
      }
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return drop(ci);
    }
    if (c.out_pos == c.out.size()) {
      c.out.clear();
      c.out_pos = 0;
    }
    const bool want = c.out_pos < c.out.size();
    if (want != c.want_write) {
      c.want_write = want;
      epoll_event ev{};
      ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
      ev.data.u32 = ci;
      ::epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
    }
  }

  // The connection broke: every request on it gets a retry (resubmitting the same signed bytes is
  // safe: a nonce applies at most once; an etcd put of the same key and value is idempotent).
  void drop(uint32_t ci) {
    auto& c = conns_[ci];
    if (c.fd < 0) return;
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    std::vector<uint32_t> affected;
    for (auto& [id, l] : c.by_id) affected.push_back(l);
    for (auto l : c.fifo) affected.push_back(l);
    c.by_id.clear();
    c.fifo.clear();
    for (auto l : affected) on_failure(l, "connection_lost");
  }

  void on_readable(uint32_t ci) {
    char buf[limits::read_chunk_bytes];
    for (;;) {
      auto& c = conns_[ci];
      if (c.fd < 0) return;
      const ssize_t r = ::recv(c.fd, buf, sizeof(buf), 0);
      if (r == 0) return drop(ci);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        return drop(ci);
      }
      if (cfg_.target == target_kind::etcd) {
        c.http_in.append(buf, static_cast<std::size_t>(r));
        if (!parse_http(ci)) return drop(ci);
      } else {
        c.reader.feed(std::span<const char>(buf, static_cast<std::size_t>(r)));
        if (!parse_frames(ci)) return drop(ci);
      }
      if (static_cast<std::size_t>(r) < sizeof(buf)) return;
    }
  }

  bool parse_frames(uint32_t ci) {
    for (;;) {
      auto& c = conns_[ci];
      if (c.fd < 0) return true;  // dropped while handling an answer
      auto body = c.reader.next();
      if (!body) return false;
      if (!body->has_value()) return true;
      auto resp = net::decode_client_response(**body);
      if (!resp) return false;
      auto it = c.by_id.find(resp->id);
      if (it == c.by_id.end()) continue;  // an answer after a retry elsewhere
      const uint32_t l = it->second;
      c.by_id.erase(it);
      on_energo_response(l, *resp);
    }
  }

  bool parse_http(uint32_t ci) {
    for (;;) {
      auto& c = conns_[ci];
      if (c.http_in.size() > limits::http_response_bytes_max) return false;
      const auto hdr_end = c.http_in.find("\r\n\r\n");
      if (hdr_end == std::string::npos) return true;
      if (c.http_in.compare(0, 9, "HTTP/1.1 ") != 0 || c.http_in.size() < 12) return false;
      const int status = std::atoi(c.http_in.substr(9, 3).c_str());
      std::string headers = c.http_in.substr(0, hdr_end);
      std::transform(headers.begin(), headers.end(), headers.begin(), [](unsigned char ch) { return std::tolower(ch); });
      std::size_t total = 0;
      if (const auto cl = headers.find("\r\ncontent-length:"); cl != std::string::npos) {
        total = hdr_end + 4 + static_cast<std::size_t>(std::strtoull(headers.c_str() + cl + 17, nullptr, 10));
        if (c.http_in.size() < total) return true;
      } else if (headers.find("transfer-encoding: chunked") != std::string::npos) {
        std::size_t pos = hdr_end + 4;
        for (;;) {
          const auto eol = c.http_in.find("\r\n", pos);
          if (eol == std::string::npos) return true;
          const std::size_t n = std::strtoull(c.http_in.c_str() + pos, nullptr, 16);
          if (c.http_in.size() < eol + 2 + n + 2) return true;
          pos = eol + 2 + n + 2;
          if (n == 0) break;
        }
        total = pos;
      } else {
        return false;
      }
      c.http_in.erase(0, total);
      if (c.fifo.empty()) return false;
      const uint32_t l = c.fifo.front();
      c.fifo.pop_front();
      if (status == 200) {
        on_committed(l, true);
      } else {
        on_failure(l, "http_" + std::to_string(status));
      }
    }
  }

  void on_energo_response(uint32_t l, const net::client_response& r) {
    if (r.what == net::client_response::kind::outcome) {
      const auto& o = r.outcome;
      if (o.accepted) {
        const uint32_t account = work_->lanes[l].account;
        stats_.acked_nonce[account] = std::max(stats_.acked_nonce[account], work_->nonces[l][lanes_[l].next]);
        stats_.order_ids[l][lanes_[l].next] = o.order_id;
      } else {
        ++stats_.refused[o.code_name];
      }
      return on_committed(l, o.accepted);
    }
    if (r.what == net::client_response::kind::failure) return on_failure(l, std::string(net::to_string(r.failure.code)));
    on_failure(l, "unexpected_response");
  }

  void on_committed(uint32_t l, bool accepted) {
    auto& ls = lanes_[l];
    const auto now = clock_type::now();
    ++stats_.committed;
    if (accepted) ++stats_.accepted;
    stats_.latency_us.push_back(static_cast<uint32_t>(
        std::min<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - ls.intended).count(), UINT32_MAX)));
    stats_.sent_ms.push_back(static_cast<uint32_t>(std::clamp<int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(ls.intended - start_).count(), 0, UINT32_MAX)));
    stats_.endpoint.push_back(static_cast<uint8_t>(std::min<std::size_t>(conns_[ls.conn].endpoint, UINT8_MAX)));
    last_answer_ = now;
    finish(l);
  }

  void on_failure(uint32_t l, const std::string& code) {
    ++stats_.errors[code];
    auto& ls = lanes_[l];
    const bool retryable = code == "busy" || code == "no_leader" || code == "timeout" || code == "shutting_down" ||
                           code == "connection_lost" || code.rfind("http_5", 0) == 0;
    if (retryable && ls.attempts <= limits::retries_max && clock_type::now() < end_ + std::chrono::milliseconds(cfg_.drain_ms)) {
      ++stats_.retries;
      retry_.emplace_back(clock_type::now() + std::chrono::milliseconds(limits::retry_delay_ms), l);
      return;
    }
    fail_lane(l, code, retryable);
  }

  // A final failure: the lane's outcome may be unknown (a timeout may still apply), so the lane
  // stops (its next nonce could otherwise be refused as stale or land before the unknown one).
  void fail_lane(uint32_t l, const std::string& code, bool unknown) {
    auto& ls = lanes_[l];
    if (unknown) {
      stats_.lane_unknown[l] = 1;
      ls.retired = true;
    }
    (void)code;
    finish(l);
  }

  void finish(uint32_t l) {
    auto& ls = lanes_[l];
    ls.busy = false;
    ++ls.next;
    --inflight_;
    if (has_more(l)) idle_.push_back(l);
    if (clock_type::now() < end_) dispatch(clock_type::now());
  }

  const run_config& cfg_;
  const energo_work* work_;
  int epfd_ = -1;
  std::vector<connection> conns_;
  std::vector<lane_state> lanes_;
  std::deque<uint32_t> idle_;
  std::deque<clock_type::time_point> backlog_;
  std::deque<std::pair<clock_type::time_point, uint32_t>> retry_;
  uint32_t inflight_ = 0;
  uint32_t next_conn_ = 0;
  uint64_t next_id_ = 1;
  std::string value_;
  clock_type::time_point start_, end_, last_answer_;
  run_stats stats_;
};

}  // namespace

energo::result<run_stats, std::string> run(const run_config& cfg, const energo_work* work) {
  driver d(cfg, work);
  return d.go();
}

}  // namespace energo::tools::load
