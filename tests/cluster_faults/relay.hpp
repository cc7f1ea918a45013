#pragma once
// The fault relay: a userspace TCP proxy between the nodes' peer ports (this kernel has no tc
// netem). Every member's advertised peer address is a relay listener; the relay works out which
// node dialled (a callback: source address in namespace mode, the socket's owner in loopback
// mode), looks up the rule of the directed link (dialler -> listener) and forwards, delays,
// stalls or refuses. A node sends Raft messages only on the connection it dialled (actors/
// brokers.cpp), so blocking the connections dialled by i towards j is exactly "i cannot reach j"
// and leaves j -> i intact: one-way partitions are per directed link.
//
// Frame-level duplication and reordering are not offered: inside a Noise session they are
// rejected by the channel (tests/net) and close the connection, which `reset_per_mille` injects
// directly.
//
// Concurrency: one relay thread owns every socket; the harness thread changes rules through the
// mutex-protected setters, which take effect at the relay's next loop turn (<= loop_wait_ms).
#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace energo::faults {

namespace limits {
inline constexpr std::size_t relay_nodes_max = 8;
inline constexpr std::size_t relay_connections_max = 256;          // accepted connections alive at once
inline constexpr std::size_t relay_queue_bytes_max = 8u << 20;     // per direction; beyond it the relay stops reading
inline constexpr std::size_t relay_read_chunk_bytes = 64u << 10;
inline constexpr uint32_t relay_delay_ms_max = 5'000;
inline constexpr int relay_loop_wait_ms = 5;
}  // namespace limits

struct link_rule {
  bool blocked = false;          // existing connections are closed, new ones refused
  bool stalled = false;          // bytes are held (not dropped) until the stall ends
  uint32_t delay_ms = 0;         // added to every chunk in both directions of the connection
  uint32_t jitter_ms = 0;        // uniform 0..jitter added per chunk (order within a stream kept)
  uint32_t reset_per_mille = 0;  // chance per forwarded chunk that the connection is reset
};

struct relay_counters {
  uint64_t accepted = 0;
  uint64_t refused = 0;  // accepted and closed at once (blocked link)
  uint64_t resets = 0;   // closed by a block or a random reset
  uint64_t bytes = 0;
};

class relay {
 public:
  // src_of(peer address, index of the listener) -> index of the dialling node, or -1 if unknown
  // (an unknown dialler is forwarded under the rule of (-1 -> dst), i.e. never blocked).
  using src_lookup = std::function<int(const sockaddr_in& peer, int dst)>;

  explicit relay(uint64_t seed) : rng_state_(seed | 1) {}
  ~relay();
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;

  void set_src_lookup(src_lookup f) { src_of_ = std::move(f); }
  // A listener for node `dst` on listen_host:listen_port (0: any free port), forwarding to
  // target_host:target_port. Returns the bound port or 0 on error. Call before start().
  uint16_t add_listener(int dst, const std::string& listen_host, uint16_t listen_port, const std::string& target_host,
                        uint16_t target_port);
  void start();
  void stop();

  void set_rule(int src, int dst, const link_rule& r);
  link_rule rule(int src, int dst) const;
  void clear_rules();  // heal: every link forwards at once, no delay
  relay_counters counters() const;

 private:
  struct chunk {
    int64_t due_ms = 0;
    std::string bytes;
  };
  struct direction {
    std::vector<chunk> queue;  // FIFO (small; erase from the front)
    std::size_t queued_bytes = 0;
    int64_t last_due_ms = 0;
  };
  struct connection {
    int from_fd = -1;  // accepted from the dialler
    int to_fd = -1;    // dialled to the node
    bool to_connected = false;
    int src = -1, dst = -1;
    direction up;    // dialler -> node
    direction down;  // node -> dialler
  };
  struct listener {
    int fd = -1;
    int dst = -1;
    std::string target_host;
    uint16_t target_port = 0;
  };

  void loop();
  void accept_on(const listener& l);
  bool pump_read(int fd, direction& d, const link_rule& r, int64_t now_ms);
  bool pump_write(int fd, direction& d, int64_t now_ms);
  void close_conn(connection& c);
  uint64_t next_random();

  src_lookup src_of_;
  std::vector<listener> listeners_;
  std::vector<connection> conns_;  // relay thread only
  mutable std::mutex mutex_;
  std::map<std::pair<int, int>, link_rule> rules_;  // guarded by mutex_
  relay_counters counters_;                         // guarded by mutex_
  uint64_t rules_version_ = 0;                      // guarded by mutex_
  uint64_t rng_state_;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace energo::faults
