#include "net/frame.hpp"

#include <algorithm>
#include <cstring>

#include "common/assert.hpp"

namespace energo::net {

void append_frame(std::vector<uint8_t>& out, byte_span payload, std::size_t frame_bytes_max) {
  ENERGO_ASSERT(!payload.empty(), "empty frame payload");
  ENERGO_ASSERT(payload.size() <= frame_bytes_max && frame_bytes_max <= UINT32_MAX,
                "frame payload above the maximum");
  const auto size = static_cast<uint32_t>(payload.size());
  out.reserve(out.size() + limits::frame_header_bytes + payload.size());
  out.push_back(static_cast<uint8_t>(size >> 24));
  out.push_back(static_cast<uint8_t>(size >> 16));
  out.push_back(static_cast<uint8_t>(size >> 8));
  out.push_back(static_cast<uint8_t>(size));
  out.insert(out.end(), payload.begin(), payload.end());
}

std::vector<uint8_t> encode_frame(byte_span payload, std::size_t frame_bytes_max) {
  std::vector<uint8_t> out;
  append_frame(out, payload, frame_bytes_max);
  return out;
}

frame_decoder::frame_decoder(std::size_t frame_bytes_max) : frame_bytes_max_(frame_bytes_max) {
  ENERGO_ASSERT(frame_bytes_max >= 1 && frame_bytes_max <= UINT32_MAX, "bad frame maximum");
}

void frame_decoder::set_frame_bytes_max(std::size_t frame_bytes_max) {
  ENERGO_ASSERT(frame_bytes_max >= 1 && frame_bytes_max <= UINT32_MAX, "bad frame maximum");
  frame_bytes_max_ = frame_bytes_max;
}

std::size_t frame_decoder::buffered_bytes() const noexcept {
  return in_payload_ ? limits::frame_header_bytes + payload_filled_ : header_filled_;
}

result<frame_decoder::step, frame_error> frame_decoder::decode(byte_span input) {
  if (error_) return unexpected{*error_};
  step out;
  while (out.consumed < input.size()) {
    const byte_span rest = input.subspan(out.consumed);
    if (!in_payload_) {
      const std::size_t take = std::min(rest.size(), limits::frame_header_bytes - header_filled_);
      std::memcpy(header_ + header_filled_, rest.data(), take);
      header_filled_ += take;
      out.consumed += take;
      if (header_filled_ < limits::frame_header_bytes) break;
      const uint32_t length = (uint32_t{header_[0]} << 24) | (uint32_t{header_[1]} << 16) |
                              (uint32_t{header_[2]} << 8) | uint32_t{header_[3]};
      // The length is checked before anything is sized from it.
      if (length == 0) {
        error_ = frame_error{frame_error_code::empty_frame, "frame with declared length 0"};
        return unexpected{*error_};
      }
      if (length > frame_bytes_max_) {
        error_ = frame_error{frame_error_code::oversize_frame,
                             "frame declares " + std::to_string(length) + " bytes, maximum is " +
                                 std::to_string(frame_bytes_max_)};
        return unexpected{*error_};
      }
      payload_.assign(length, 0);
      payload_filled_ = 0;
      in_payload_ = true;
      continue;
    }
    const std::size_t take = std::min(rest.size(), payload_.size() - payload_filled_);
    std::memcpy(payload_.data() + payload_filled_, rest.data(), take);
    payload_filled_ += take;
    out.consumed += take;
    if (payload_filled_ == payload_.size()) {
      out.frame = std::move(payload_);
      payload_ = {};
      payload_filled_ = 0;
      header_filled_ = 0;
      in_payload_ = false;
      break;
    }
  }
  return out;
}

result<void, frame_error> frame_decoder::feed(byte_span chunk,
                                              std::vector<std::vector<uint8_t>>& frames_out) {
  std::size_t offset = 0;
  do {
    auto s = decode(chunk.subspan(offset));
    if (!s) return unexpected{s.error()};
    offset += s->consumed;
    if (s->frame) frames_out.push_back(std::move(*s->frame));
  } while (offset < chunk.size());
  return ok;
}

}  // namespace energo::net
