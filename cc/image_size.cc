#include "cc/image_size.h"

#include <cstdint>

namespace megdeploy {
namespace {

using Size = std::optional<std::pair<long long, long long>>;

uint32_t Byte(const std::string& data, size_t i) { return static_cast<uint8_t>(data[i]); }
uint32_t BigEndian16(const std::string& d, size_t i) { return Byte(d, i) << 8 | Byte(d, i + 1); }
uint32_t BigEndian32(const std::string& d, size_t i) { return BigEndian16(d, i) << 16 | BigEndian16(d, i + 2); }
uint32_t LittleEndian16(const std::string& d, size_t i) { return Byte(d, i) | Byte(d, i + 1) << 8; }
uint32_t LittleEndian24(const std::string& d, size_t i) { return LittleEndian16(d, i) | Byte(d, i + 2) << 16; }
uint32_t LittleEndian32(const std::string& d, size_t i) { return LittleEndian16(d, i) | LittleEndian16(d, i + 2) << 16; }

bool StartsWith(const std::string& data, size_t at, const std::string& prefix) {
  return data.compare(at, prefix.size(), prefix) == 0;
}

Size WebpSize(const std::string& data) {
  if (StartsWith(data, 12, "VP8X")) {
    return std::make_pair(1LL + LittleEndian24(data, 24), 1LL + LittleEndian24(data, 27));
  }
  if (StartsWith(data, 12, "VP8L")) {
    const uint32_t bits = LittleEndian32(data, 21);
    return std::make_pair(1LL + (bits & 0x3FFF), 1LL + ((bits >> 14) & 0x3FFF));
  }
  if (StartsWith(data, 12, "VP8 ")) {
    return std::make_pair(static_cast<long long>(LittleEndian16(data, 26) & 0x3FFF),
                          static_cast<long long>(LittleEndian16(data, 28) & 0x3FFF));
  }
  return std::nullopt;
}

bool IsStartOfFrame(uint32_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// Markers read before giving up on a header: the same cap as py/mgedeploy/image_size.py.
constexpr int kMaxJpegMarkers = 1 << 16;

Size JpegSize(const std::string& data) {
  size_t i = 2;
  int markers = 0;
  while (i + 4 <= data.size()) {
    if (++markers > kMaxJpegMarkers) return std::nullopt;
    if (Byte(data, i) != 0xFF) return std::nullopt;
    const uint32_t marker = Byte(data, i + 1);
    if (marker == 0xFF) {  // fill bytes: to the last 0xFF of the run, which starts the marker
      while (i + 1 < data.size() && Byte(data, i + 1) == 0xFF) ++i;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD9)) {  // markers without a length
      i += 2;
      continue;
    }
    const uint32_t length = BigEndian16(data, i + 2);
    if (IsStartOfFrame(marker)) {
      if (i + 9 > data.size()) return std::nullopt;
      return std::make_pair(static_cast<long long>(BigEndian16(data, i + 7)),
                            static_cast<long long>(BigEndian16(data, i + 5)));
    }
    i += 2 + length;
  }
  return std::nullopt;
}

}  // namespace

Size ImageSize(const std::string& data) {
  if (StartsWith(data, 0, "\x89PNG\r\n\x1a\n") && data.size() >= 24 && StartsWith(data, 12, "IHDR")) {
    return std::make_pair(static_cast<long long>(BigEndian32(data, 16)), static_cast<long long>(BigEndian32(data, 20)));
  }
  if ((StartsWith(data, 0, "GIF87a") || StartsWith(data, 0, "GIF89a")) && data.size() >= 10) {
    return std::make_pair(static_cast<long long>(LittleEndian16(data, 6)),
                          static_cast<long long>(LittleEndian16(data, 8)));
  }
  if (StartsWith(data, 0, "BM") && data.size() >= 26) {
    // Signed: a negative height means top-down rows.
    const long long width = static_cast<int32_t>(LittleEndian32(data, 18));
    const long long height = static_cast<int32_t>(LittleEndian32(data, 22));
    return std::make_pair(width < 0 ? -width : width, height < 0 ? -height : height);
  }
  if (StartsWith(data, 0, "RIFF") && StartsWith(data, 8, "WEBP") && data.size() >= 30) return WebpSize(data);
  if (StartsWith(data, 0, "\xff\xd8")) return JpegSize(data);
  return std::nullopt;
}

}  // namespace megdeploy
