#include "services/ingest/binary_envelope.h"

#include <google/protobuf/io/coded_stream.h>

namespace casewatch::ingest {

void AppendDelimited(const events::v1::Envelope& envelope, std::string& out) {
  const size_t size = envelope.ByteSizeLong();
  uint8_t prefix[5];  // the longest varint32
  uint8_t* prefix_end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(size), prefix);
  out.append(reinterpret_cast<const char*>(prefix), static_cast<size_t>(prefix_end - prefix));
  const size_t at = out.size();
  out.resize(at + size);
  envelope.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + at));
}

}  // namespace casewatch::ingest
