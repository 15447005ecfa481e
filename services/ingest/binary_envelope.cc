#include "services/ingest/binary_envelope.h"

#include <google/protobuf/io/coded_stream.h>

namespace casewatch::ingest {

namespace {

// The varint length prefix of a message of `size` bytes.
void AppendLength(size_t size, std::string& out) {
  uint8_t prefix[5];  // the longest varint32
  uint8_t* prefix_end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(size), prefix);
  out.append(reinterpret_cast<const char*>(prefix), static_cast<size_t>(prefix_end - prefix));
}

}  // namespace

void AppendDelimited(const events::v1::Envelope& envelope, std::string& out) {
  const size_t size = envelope.ByteSizeLong();
  AppendLength(size, out);
  const size_t at = out.size();
  out.resize(at + size);
  envelope.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + at));
}

void AppendDelimited(std::string_view envelope, std::string& out) {
  AppendLength(envelope.size(), out);
  out.append(envelope);
}

}  // namespace casewatch::ingest
