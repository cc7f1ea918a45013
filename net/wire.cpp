#include "net/wire.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <exception>

#include "net/schema/client.capnp.h"
#include "net/schema/peer.capnp.h"

namespace energo::net {

std::string_view to_string(wire_errc code) {
  switch (code) {
    case wire_errc::frame_too_large: return "frame_too_large";
    case wire_errc::frame_misaligned: return "frame_misaligned";
    case wire_errc::malformed: return "malformed";
    case wire_errc::unexpected_message: return "unexpected_message";
  }
  return "unknown";
}

std::string_view to_string(client_errc code) {
  switch (code) {
    case client_errc::busy: return "busy";
    case client_errc::malformed: return "malformed";
    case client_errc::bad_signature: return "bad_signature";
    case client_errc::system_command: return "system_command";
    case client_errc::no_leader: return "no_leader";
    case client_errc::timeout: return "timeout";
    case client_errc::shutting_down: return "shutting_down";
    case client_errc::not_supported: return "not_supported";
    case client_errc::internal: return "internal";
    case client_errc::too_large: return "too_large";
  }
  return "unknown";
}

namespace {

energo::unexpected<wire_error> fail(wire_errc code, std::string message) {
  return energo::unexpected<wire_error>{wire_error{code, std::move(message)}};
}

std::string to_body(capnp::MessageBuilder& builder) {
  const kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
  const kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// Copies the body into word-aligned memory (Cap'n Proto reads words in place) and sets the reader
// limits: traversal bounded by the body's own size, nesting by limits::capnp_nesting_limit.
struct aligned_reader {
  kj::Array<capnp::word> words;
  std::optional<capnp::FlatArrayMessageReader> reader;
};

wire_result<void> open_reader(std::string_view body, aligned_reader& out) {
  if (body.size() % sizeof(capnp::word) != 0) {
    return fail(wire_errc::frame_misaligned, "frame body of " + std::to_string(body.size()) +
                                                 " bytes is not a whole number of 8-byte words");
  }
  if (body.empty()) return fail(wire_errc::malformed, "empty frame body");
  out.words = kj::heapArray<capnp::word>(body.size() / sizeof(capnp::word));
  std::memcpy(out.words.begin(), body.data(), body.size());
  capnp::ReaderOptions options;
  // Every word may be visited once, plus a small allowance for the segment table.
  options.traversalLimitInWords = out.words.size() + 64;
  options.nestingLimit = static_cast<int>(limits::capnp_nesting_limit);
  // The constructor already parses the segment table and throws on a bad one.
  try {
    out.reader.emplace(out.words.asPtr(), options);
  } catch (const kj::Exception& e) {
    return fail(wire_errc::malformed, std::string("capnp: ") + e.getDescription().cStr());
  }
  return ok;
}

std::string data_of(capnp::Data::Reader d) { return std::string(reinterpret_cast<const char*>(d.begin()), d.size()); }
capnp::Data::Reader as_data(std::string_view s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
// A std::string as Cap'n Proto text, all of its bytes: the implicit conversion goes through
// c_str() and would cut the text at an embedded NUL, so a decoded value (the reader keeps such
// bytes) would not survive re-encoding (found by tests/fuzz client_frame).
capnp::Text::Reader text_ref(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }
std::string text_of(capnp::Text::Reader t, std::size_t max_bytes) {
  std::string s(t.cStr(), t.size());
  if (s.size() > max_bytes) s.resize(max_bytes);
  return s;
}

void set_ids(capnp::List<uint64_t>::Builder list, const std::set<consensus::node_id>& ids) {
  unsigned i = 0;
  for (auto id : ids) list.set(i++, id);
}
std::set<consensus::node_id> ids_of(capnp::List<uint64_t>::Reader list) {
  std::set<consensus::node_id> out;
  for (auto id : list) out.insert(id);
  return out;
}

}  // namespace

// ---- Framing ------------------------------------------------------------------------------------

wire_result<std::optional<std::string>> frame_reader::next() {
  const std::size_t avail = buf_.size() - pos_;
  if (avail < limits::frame_header_bytes) return std::optional<std::string>{};
  const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
  const std::size_t len = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
  if (len > max_body_bytes_) {
    return fail(wire_errc::frame_too_large,
                "frame of " + std::to_string(len) + " bytes exceeds the maximum " + std::to_string(max_body_bytes_));
  }
  if (avail < limits::frame_header_bytes + len) return std::optional<std::string>{};
  std::string body(buf_.data() + pos_ + limits::frame_header_bytes, len);
  pos_ += limits::frame_header_bytes + len;
  // Reclaim consumed bytes once they dominate the buffer (amortised O(1) per byte).
  if (pos_ > buf_.size() / 2) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  return std::optional<std::string>{std::move(body)};
}

void append_frame(std::vector<char>& out, std::string_view body) {
  const auto len = static_cast<uint32_t>(body.size());
  out.push_back(static_cast<char>((len >> 24) & 0xff));
  out.push_back(static_cast<char>((len >> 16) & 0xff));
  out.push_back(static_cast<char>((len >> 8) & 0xff));
  out.push_back(static_cast<char>(len & 0xff));
  out.insert(out.end(), body.begin(), body.end());
}

std::string frame_of(std::string_view body) {
  std::vector<char> v;
  v.reserve(body.size() + limits::frame_header_bytes);
  append_frame(v, body);
  return std::string(v.begin(), v.end());
}

// ---- Peer ---------------------------------------------------------------------------------------

std::string encode_peer_hello(const peer_hello& h) {
  capnp::MallocMessageBuilder builder;
  auto hello = builder.initRoot<schema::PeerFrame>().initHello();
  hello.setClusterId(text_ref(h.cluster_id));
  hello.setNodeId(h.node);
  hello.setWireVersion(h.wire_version);
  return to_body(builder);
}

std::string encode_peer_raft(const consensus::message& m) {
  capnp::MallocMessageBuilder builder;
  auto r = builder.initRoot<schema::PeerFrame>().initRaft();
  r.setGroup(m.group);
  r.setType(static_cast<uint8_t>(m.type));
  r.setFrom(m.from);
  r.setTo(m.to);
  r.setTerm(m.term);
  r.setLogTerm(m.log_term);
  r.setIndex(m.index);
  auto entries = r.initEntries(static_cast<unsigned>(m.entries.size()));
  for (unsigned i = 0; i < m.entries.size(); ++i) {
    const auto& e = m.entries[i];
    entries[i].setTerm(e.term);
    entries[i].setIndex(e.index);
    entries[i].setType(static_cast<uint8_t>(e.type));
    entries[i].setData(as_data(e.data));
  }
  r.setCommit(m.commit);
  r.setReject(m.reject);
  r.setRejectHint(m.reject_hint);
  r.setForce(m.force);
  r.setContext(m.context);
  auto snap = r.initSnap();
  snap.setIndex(m.snap.index);
  snap.setTerm(m.snap.term);
  auto cfg = snap.initConfig();
  set_ids(cfg.initVoters(static_cast<unsigned>(m.snap.config.voters.size())), m.snap.config.voters);
  set_ids(cfg.initLearners(static_cast<unsigned>(m.snap.config.learners.size())), m.snap.config.learners);
  set_ids(cfg.initVotersOutgoing(static_cast<unsigned>(m.snap.config.voters_outgoing.size())),
          m.snap.config.voters_outgoing);
  r.setChunkOffset(m.chunk_offset);
  r.setSnapshotBytes(m.snapshot_bytes);
  r.setChunkData(as_data(m.chunk_data));
  r.setChunkDone(m.chunk_done);
  return to_body(builder);
}

wire_result<peer_frame> decode_peer_frame(std::string_view body) {
  aligned_reader ar;
  if (auto r = open_reader(body, ar); !r) return energo::unexpected<wire_error>{r.error()};
  try {
    auto root = ar.reader->getRoot<schema::PeerFrame>();
    peer_frame out;
    switch (root.which()) {
      case schema::PeerFrame::HELLO: {
        auto h = root.getHello();
        if (h.getClusterId().size() > limits::cluster_id_bytes_max) {
          return fail(wire_errc::malformed, "hello cluster id longer than " +
                                                std::to_string(limits::cluster_id_bytes_max) + " bytes");
        }
        out.hello = peer_hello{std::string(h.getClusterId().cStr(), h.getClusterId().size()), h.getNodeId(),
                               h.getWireVersion()};
        return out;
      }
      case schema::PeerFrame::RAFT: {
        auto r = root.getRaft();
        consensus::message m;
        m.group = r.getGroup();
        if (r.getType() > static_cast<uint8_t>(consensus::message_type::forward_proposal)) {
          return fail(wire_errc::malformed, "unknown raft message type " + std::to_string(r.getType()));
        }
        m.type = static_cast<consensus::message_type>(r.getType());
        m.from = r.getFrom();
        m.to = r.getTo();
        m.term = r.getTerm();
        m.log_term = r.getLogTerm();
        m.index = r.getIndex();
        auto entries = r.getEntries();
        m.entries.reserve(entries.size());  // bounded: each list element occupies frame bytes
        for (auto e : entries) {
          if (e.getType() > static_cast<uint8_t>(consensus::entry_type::noop)) {
            return fail(wire_errc::malformed, "unknown entry type " + std::to_string(e.getType()));
          }
          m.entries.push_back(consensus::entry{e.getTerm(), e.getIndex(), static_cast<consensus::entry_type>(e.getType()),
                                               data_of(e.getData())});
        }
        m.commit = r.getCommit();
        m.reject = r.getReject();
        m.reject_hint = r.getRejectHint();
        m.force = r.getForce();
        m.context = r.getContext();
        auto snap = r.getSnap();
        m.snap.index = snap.getIndex();
        m.snap.term = snap.getTerm();
        m.snap.config.voters = ids_of(snap.getConfig().getVoters());
        m.snap.config.learners = ids_of(snap.getConfig().getLearners());
        m.snap.config.voters_outgoing = ids_of(snap.getConfig().getVotersOutgoing());
        m.chunk_offset = r.getChunkOffset();
        m.snapshot_bytes = r.getSnapshotBytes();
        m.chunk_data = data_of(r.getChunkData());
        m.chunk_done = r.getChunkDone();
        out.raft = std::move(m);
        return out;
      }
    }
    return fail(wire_errc::malformed, "unknown peer frame kind");
  } catch (const kj::Exception& e) {
    return fail(wire_errc::malformed, std::string("capnp: ") + e.getDescription().cStr());
  } catch (const std::exception& e) {
    return fail(wire_errc::malformed, e.what());
  }
}

// ---- Client -------------------------------------------------------------------------------------

std::string encode_client_request(const client_request& r) {
  capnp::MallocMessageBuilder builder;
  auto req = builder.initRoot<schema::ClientRequest>();
  req.setId(r.id);
  switch (r.what) {
    case client_request::kind::submit: req.setSubmit(as_data(r.command)); break;
    case client_request::kind::status: req.setStatus(); break;
    case client_request::kind::account: {
      auto a = req.initAccount();
      a.setAddress(capnp::Data::Reader(r.account.address.data(), r.account.address.size()));
      a.setStale(r.account.stale);
      break;
    }
    case client_request::kind::admin: req.setAdmin(as_data(r.command)); break;
    case client_request::kind::members: req.setMembers(); break;
    case client_request::kind::cluster_info: req.setClusterInfo(); break;
    case client_request::kind::query: {
      auto q = req.initQuery();
      q.setName(text_ref(r.query.name));
      q.setParams(text_ref(r.query.params_json));
      q.setStale(r.query.stale);
      break;
    }
    case client_request::kind::checkpoint: {
      auto q = req.initCheckpoint();
      if (r.checkpoint.address) q.setAddress(capnp::Data::Reader(r.checkpoint.address->data(), r.checkpoint.address->size()));
      q.setAtIndex(r.checkpoint.at_index);
      break;
    }
  }
  return to_body(builder);
}

wire_result<client_request> decode_client_request(std::string_view body) {
  aligned_reader ar;
  if (auto r = open_reader(body, ar); !r) return energo::unexpected<wire_error>{r.error()};
  try {
    auto req = ar.reader->getRoot<schema::ClientRequest>();
    client_request out;
    out.id = req.getId();
    switch (req.which()) {
      case schema::ClientRequest::SUBMIT:
        out.what = client_request::kind::submit;
        out.command = data_of(req.getSubmit());
        return out;
      case schema::ClientRequest::STATUS:
        out.what = client_request::kind::status;
        return out;
      case schema::ClientRequest::ACCOUNT: {
        out.what = client_request::kind::account;
        auto a = req.getAccount();
        if (a.getAddress().size() != out.account.address.size()) {
          return fail(wire_errc::malformed, "account address must be 20 bytes");
        }
        std::memcpy(out.account.address.data(), a.getAddress().begin(), out.account.address.size());
        out.account.stale = a.getStale();
        return out;
      }
      case schema::ClientRequest::ADMIN:
        out.what = client_request::kind::admin;
        out.command = data_of(req.getAdmin());
        return out;
      case schema::ClientRequest::MEMBERS:
        out.what = client_request::kind::members;
        return out;
      case schema::ClientRequest::CLUSTER_INFO:
        out.what = client_request::kind::cluster_info;
        return out;
      case schema::ClientRequest::QUERY: {
        out.what = client_request::kind::query;
        auto q = req.getQuery();
        if (q.getName().size() == 0 || q.getName().size() > limits::query_name_bytes_max) {
          return fail(wire_errc::malformed, "query name must be 1.." + std::to_string(limits::query_name_bytes_max) + " bytes");
        }
        if (q.getParams().size() > limits::query_params_bytes_max) {
          return fail(wire_errc::malformed, "query parameters above " + std::to_string(limits::query_params_bytes_max) + " bytes");
        }
        out.query.name = std::string(q.getName().cStr(), q.getName().size());
        out.query.params_json = std::string(q.getParams().cStr(), q.getParams().size());
        if (out.query.params_json.empty()) out.query.params_json = "{}";
        out.query.stale = q.getStale();
        return out;
      }
      case schema::ClientRequest::CHECKPOINT: {
        out.what = client_request::kind::checkpoint;
        auto q = req.getCheckpoint();
        const auto address = q.getAddress();
        if (address.size() != 0) {
          std::array<uint8_t, 20> a{};
          if (address.size() != a.size()) return fail(wire_errc::malformed, "checkpoint address must be 20 bytes");
          std::memcpy(a.data(), address.begin(), a.size());
          out.checkpoint.address = a;
        }
        out.checkpoint.at_index = q.getAtIndex();
        return out;
      }
    }
    return fail(wire_errc::malformed, "unknown request kind");
  } catch (const kj::Exception& e) {
    return fail(wire_errc::malformed, std::string("capnp: ") + e.getDescription().cStr());
  } catch (const std::exception& e) {
    return fail(wire_errc::malformed, e.what());
  }
}

std::string encode_client_response(const client_response& r) {
  capnp::MallocMessageBuilder builder;
  auto res = builder.initRoot<schema::ClientResponse>();
  res.setId(r.id);
  switch (r.what) {
    case client_response::kind::outcome: {
      auto o = res.initOutcome();
      const auto& x = r.outcome;
      o.setIndex(x.index);
      o.setAccepted(x.accepted);
      o.setCode(x.code);
      o.setCodeName(text_ref(x.code_name));
      o.setMessage(text_ref(x.message));
      o.setDuplicate(x.duplicate);
      o.setMintedWh(x.minted_wh);
      o.setBurnedWh(x.burned_wh);
      o.setFeesUnits(x.fees_units);
      o.setOrderId(x.order_id);
      o.setFilledWh(x.filled_wh);
      o.setTrades(x.trades);
      o.setSessionId(x.session_id);
      o.setCreatedAccount(x.created_account);
      o.setEpochsClosed(x.epochs_closed);
      break;
    }
    case client_response::kind::status: {
      auto s = res.initStatus();
      const auto& x = r.status;
      s.setNodeId(x.node_id);
      s.setName(text_ref(x.name));
      s.setRole(text_ref(x.role));
      s.setTerm(x.term);
      s.setLeader(x.leader);
      s.setCommitIndex(x.commit_index);
      s.setAppliedIndex(x.applied_index);
      s.setStateRoot(as_data(x.state_root));
      auto voters = s.initVoters(static_cast<unsigned>(x.voters.size()));
      for (unsigned i = 0; i < x.voters.size(); ++i) voters.set(i, x.voters[i]);
      s.setClusterId(text_ref(x.cluster_id));
      s.setLedgerTimeMs(x.ledger_time_ms);
      s.setEpoch(x.epoch);
      s.setLastIndex(x.last_index);
      s.setSnapshotIndex(x.snapshot_index);
      break;
    }
    case client_response::kind::account: {
      auto a = res.initAccount();
      const auto& x = r.account;
      a.setFound(x.found);
      a.setTslUnits(x.tsl_units);
      a.setWattWh(x.watt_wh);
      a.setNonce(x.nonce);
      a.setAppliedIndex(x.applied_index);
      a.setFeeDebtUnits(x.fee_debt_units);
      break;
    }
    case client_response::kind::failure: {
      auto f = res.initFailure();
      f.setCode(static_cast<uint16_t>(r.failure.code));
      f.setCodeName(std::string(to_string(r.failure.code)));
      f.setMessage(text_ref(r.failure.message));
      f.setLeaderHint(r.failure.leader_hint);
      break;
    }
    case client_response::kind::members: res.setMembers(text_ref(r.text)); break;
    case client_response::kind::cluster_info: res.setClusterInfo(text_ref(r.text)); break;
    case client_response::kind::query: res.setQuery(text_ref(r.text)); break;
    case client_response::kind::checkpoint: res.setCheckpoint(text_ref(r.text)); break;
  }
  return to_body(builder);
}

wire_result<client_response> decode_client_response(std::string_view body) {
  aligned_reader ar;
  if (auto r = open_reader(body, ar); !r) return energo::unexpected<wire_error>{r.error()};
  try {
    auto res = ar.reader->getRoot<schema::ClientResponse>();
    client_response out;
    out.id = res.getId();
    switch (res.which()) {
      case schema::ClientResponse::OUTCOME: {
        out.what = client_response::kind::outcome;
        auto o = res.getOutcome();
        auto& x = out.outcome;
        x.index = o.getIndex();
        x.accepted = o.getAccepted();
        x.code = o.getCode();
        x.code_name = text_of(o.getCodeName(), limits::text_bytes_max);
        x.message = text_of(o.getMessage(), limits::text_bytes_max);
        x.duplicate = o.getDuplicate();
        x.minted_wh = o.getMintedWh();
        x.burned_wh = o.getBurnedWh();
        x.fees_units = o.getFeesUnits();
        x.order_id = o.getOrderId();
        x.filled_wh = o.getFilledWh();
        x.trades = o.getTrades();
        x.session_id = o.getSessionId();
        x.created_account = o.getCreatedAccount();
        x.epochs_closed = o.getEpochsClosed();
        return out;
      }
      case schema::ClientResponse::STATUS: {
        out.what = client_response::kind::status;
        auto s = res.getStatus();
        auto& x = out.status;
        x.node_id = s.getNodeId();
        x.name = text_of(s.getName(), limits::text_bytes_max);
        x.role = text_of(s.getRole(), limits::text_bytes_max);
        x.term = s.getTerm();
        x.leader = s.getLeader();
        x.commit_index = s.getCommitIndex();
        x.applied_index = s.getAppliedIndex();
        x.state_root = data_of(s.getStateRoot());
        for (auto v : s.getVoters()) x.voters.push_back(v);
        x.cluster_id = text_of(s.getClusterId(), limits::text_bytes_max);
        x.ledger_time_ms = s.getLedgerTimeMs();
        x.epoch = s.getEpoch();
        x.last_index = s.getLastIndex();
        x.snapshot_index = s.getSnapshotIndex();
        return out;
      }
      case schema::ClientResponse::ACCOUNT: {
        out.what = client_response::kind::account;
        auto a = res.getAccount();
        auto& x = out.account;
        x.found = a.getFound();
        x.tsl_units = a.getTslUnits();
        x.watt_wh = a.getWattWh();
        x.nonce = a.getNonce();
        x.applied_index = a.getAppliedIndex();
        x.fee_debt_units = a.getFeeDebtUnits();
        return out;
      }
      case schema::ClientResponse::FAILURE: {
        out.what = client_response::kind::failure;
        auto f = res.getFailure();
        out.failure.code = static_cast<client_errc>(f.getCode());
        out.failure.message = text_of(f.getMessage(), limits::text_bytes_max);
        out.failure.leader_hint = f.getLeaderHint();
        return out;
      }
      case schema::ClientResponse::MEMBERS:
        out.what = client_response::kind::members;
        out.text = text_of(res.getMembers(), limits::client_response_text_bytes_max);
        return out;
      case schema::ClientResponse::CLUSTER_INFO:
        out.what = client_response::kind::cluster_info;
        out.text = text_of(res.getClusterInfo(), limits::client_response_text_bytes_max);
        return out;
      case schema::ClientResponse::QUERY:
        out.what = client_response::kind::query;
        out.text = text_of(res.getQuery(), limits::client_response_text_bytes_max);
        return out;
      case schema::ClientResponse::CHECKPOINT:
        out.what = client_response::kind::checkpoint;
        out.text = text_of(res.getCheckpoint(), limits::client_response_text_bytes_max);
        return out;
    }
    return fail(wire_errc::malformed, "unknown response kind");
  } catch (const kj::Exception& e) {
    return fail(wire_errc::malformed, std::string("capnp: ") + e.getDescription().cStr());
  } catch (const std::exception& e) {
    return fail(wire_errc::malformed, e.what());
  }
}

}  // namespace energo::net
