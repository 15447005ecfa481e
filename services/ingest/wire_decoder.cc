#include "services/ingest/wire_decoder.h"

#include <simdjson.h>

#include <cstring>

#include "services/ingest/internal/payload_schema.h"

namespace casewatch::ingest {
namespace {

using internal::FieldRole;

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLen = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5
};
constexpr int kMaxGroupDepth = 100;  // protobuf's default recursion limit

// A cursor over one message's bytes. Every Read* returns false on malformed input.
class Cursor {
 public:
  Cursor(const char* begin, const char* end)
      : p_(reinterpret_cast<const uint8_t*>(begin)), end_(reinterpret_cast<const uint8_t*>(end)) {}

  bool done() const { return p_ == end_; }

  bool ReadVarint(uint64_t& value) {
    if (p_ != end_ && *p_ < 0x80) {  // most values fit one byte
      value = *p_++;
      return true;
    }
    value = 0;
    for (int i = 0; i < 10; ++i) {
      if (p_ == end_) return false;
      const uint8_t byte = *p_++;
      value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) return true;
    }
    return false;  // more than 10 bytes
  }

  // A tag: at most 5 bytes, truncated to 32 bits as protobuf does, field number >= 1.
  bool ReadTag(uint32_t& field, uint32_t& wire) {
    if (p_ != end_ && *p_ < 0x80) {  // field numbers below 16
      field = *p_ >> 3;
      wire = *p_++ & 7;
      return field != 0;
    }
    uint64_t tag = 0;
    for (int i = 0; i < 5; ++i) {
      if (p_ == end_) return false;
      const uint8_t byte = *p_++;
      tag |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) {
        field = static_cast<uint32_t>(tag) >> 3;
        wire = static_cast<uint32_t>(tag & 7);
        return field != 0;
      }
    }
    return false;
  }

  // A length prefix as protobuf reads one: at most 5 bytes, below 2^31 - 16.
  bool ReadLen(std::string_view& bytes) {
    uint64_t size = 0;
    for (int i = 0;; ++i) {
      if (i == 5 || p_ == end_) return false;
      const uint8_t byte = *p_++;
      if (i == 4 && byte >= 8) return false;
      size |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) break;
    }
    if (size > 0x7FFFFFFFull - 16 || size > static_cast<uint64_t>(end_ - p_)) return false;
    bytes = std::string_view(reinterpret_cast<const char*>(p_), size);
    p_ += size;
    return true;
  }

  bool Skip(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

  // Skips one field's value of any wire type; groups to their matching end tag.
  bool SkipValue(uint32_t field, uint32_t wire, int depth) {
    uint64_t ignored;
    std::string_view bytes;
    switch (wire) {
      case kVarint:
        return ReadVarint(ignored);
      case kFixed64:
        return Skip(8);
      case kLen:
        return ReadLen(bytes);
      case kFixed32:
        return Skip(4);
      case kStartGroup: {
        if (depth >= kMaxGroupDepth) return false;
        for (;;) {
          uint32_t inner, inner_wire;
          if (!ReadTag(inner, inner_wire)) return false;
          if (inner_wire == kEndGroup) return inner == field;
          if (!SkipValue(inner, inner_wire, depth + 1)) return false;
        }
      }
      default:
        return false;  // a stray end-group, or wire types 6 and 7
    }
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

uint64_t Word64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}
uint64_t Word32(const char* p) {
  uint32_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Most ids and names are ASCII: check eight bytes at a time, and hand anything else to simdjson
// (whose per-call overhead dominates on strings this short).
bool ValidUtf8(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t high = 0;
  if (n >= 8) {  // whole words, the last one overlapping the one before
    for (size_t i = 0; i + 8 < n; i += 8) high |= Word64(p + i);
    high |= Word64(p + n - 8);
  } else if (n >= 4) {
    high = Word32(p) | Word32(p + n - 4);
  } else {
    for (size_t i = 0; i < n; ++i) high |= static_cast<uint8_t>(p[i]);
  }
  if ((high & 0x8080808080808080ull) == 0) return true;
  return simdjson::validate_utf8(s.data(), s.size());
}

// Decodes (merges) a google.protobuf.Timestamp.
bool DecodeTimestamp(std::string_view bytes, TimestampView& t) {
  t.present = true;
  Cursor in(bytes.data(), bytes.data() + bytes.size());
  uint64_t v;
  // The usual encoding starts with the seconds: read them without the general loop.
  if (!bytes.empty() && bytes[0] == 0x08) {
    in.Skip(1);
    if (!in.ReadVarint(v)) return false;
    t.seconds = static_cast<int64_t>(v);
  }
  while (!in.done()) {
    uint32_t field, wire;
    if (!in.ReadTag(field, wire)) return false;
    if ((field == 1 || field == 2) && wire == kVarint) {
      if (!in.ReadVarint(v)) return false;
      if (field == 1) {
        t.seconds = static_cast<int64_t>(v);
      } else {
        t.nanos = static_cast<int32_t>(static_cast<uint32_t>(v));
      }
    } else if (!in.SkipValue(field, wire, 0)) {
      return false;
    }
  }
  return true;
}

// Decodes (merges) a payload message into the view's slots.
bool DecodePayload(std::string_view bytes, const internal::PayloadInfo& info, EnvelopeView& view) {
  Cursor in(bytes.data(), bytes.data() + bytes.size());
  while (!in.done()) {
    uint32_t field, wire;
    if (!in.ReadTag(field, wire)) return false;
    const internal::FieldInfo* slot = info.Field(field);
    const FieldRole role = slot != nullptr ? slot->role : FieldRole::kNone;
    uint64_t v;
    std::string_view text;
    if ((role == FieldRole::kEnum || role == FieldRole::kFlag) && wire == kVarint) {
      if (!in.ReadVarint(v)) return false;
      if (role == FieldRole::kEnum) {
        view.enums[slot->slot] = static_cast<int32_t>(static_cast<uint32_t>(v));
      } else {
        view.flags[slot->slot] = v != 0;
      }
    } else if (role == FieldRole::kText && wire == kLen) {
      if (!in.ReadLen(text) || !ValidUtf8(text)) return false;
      view.texts[slot->slot] = text;
    } else if (role == FieldRole::kWhen && wire == kLen) {
      if (!in.ReadLen(text) || !DecodeTimestamp(text, view.when)) return false;
    } else if (!in.SkipValue(field, wire, 0)) {
      return false;
    }
  }
  return true;
}

Error NotAnEnvelope(std::string_view why) {
  return InvalidArgument(std::string("the bytes are not a valid Envelope (") + std::string(why) +
                         ")");
}

}  // namespace

Result<void> DecodeEnvelope(std::string_view bytes, EnvelopeView& view) {
  const internal::PayloadSchema& schema = internal::PayloadSchema::Get();
  view = EnvelopeView{};
  Cursor in(bytes.data(), bytes.data() + bytes.size());
  while (!in.done()) {
    uint32_t field, wire;
    if (!in.ReadTag(field, wire)) return NotAnEnvelope("malformed field tag");
    std::string_view value;
    if (wire == kLen && field >= 1 && field <= 6) {
      if (!in.ReadLen(value)) return NotAnEnvelope("a length runs past the end");
      switch (field) {
        case 1:
        case 2:
        case 5:
        case 6:
          if (!ValidUtf8(value)) return NotAnEnvelope("a string field is not valid UTF-8");
          (field == 1   ? view.event_id
           : field == 2 ? view.case_id
           : field == 5 ? view.source
                        : view.actor) = value;
          break;
        case 3:
        case 4:
          if (!DecodeTimestamp(value, field == 3 ? view.occurred_at : view.recorded_at)) {
            return NotAnEnvelope("malformed timestamp");
          }
          break;
        default:
          break;
      }
      continue;
    }
    const internal::PayloadInfo* payload = wire == kLen ? schema.Payload(field) : nullptr;
    if (payload != nullptr) {
      if (!in.ReadLen(value)) return NotAnEnvelope("a length runs past the end");
      if (view.payload != payload->number) {
        view.ClearPayload();
        view.payload = payload->number;
      }
      if (!DecodePayload(value, *payload, view)) return NotAnEnvelope("malformed payload");
      continue;
    }
    if (view.unknown_field == 0) view.unknown_field = static_cast<int>(field);
    if (!in.SkipValue(field, wire, 0)) return NotAnEnvelope("malformed field");
  }
  return Ok();
}

}  // namespace casewatch::ingest
