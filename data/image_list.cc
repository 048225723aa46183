// Image list parsing and JPEG/PNG file decoding for the ImageData layer.
#include "data/image_list.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>

#include "data/png.h"

namespace banyan {

bool parse_image_list_line(std::string_view line, std::string* path, int* label) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  const size_t space = line.find_last_of(" \t");
  if (space == std::string_view::npos || space == 0) return false;
  const std::string number(line.substr(space + 1));
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(number.c_str(), &end, 10);
  if (number.empty() || *end != '\0' || errno != 0 || value < INT_MIN || value > INT_MAX) {
    return false;
  }
  std::string_view p = line.substr(0, space);
  while (!p.empty() && (p.back() == ' ' || p.back() == '\t')) p.remove_suffix(1);
  if (p.empty()) return false;
  path->assign(p);
  *label = static_cast<int>(value);
  return true;
}

Status read_image_list(const std::string& list_file, std::vector<ImageListEntry>* out) {
  std::ifstream in(list_file);
  if (!in) return Status::not_found("image list '" + list_file + "' cannot be opened");
  out->clear();
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ImageListEntry e;
    e.line = number;
    if (!parse_image_list_line(line, &e.path, &e.label)) {
      return Status::invalid_argument(list_file + ":" + std::to_string(number) +
                                      ": expected 'relative/path label', got '" + line + "'");
    }
    out->push_back(std::move(e));
  }
  if (out->empty()) {
    return Status::invalid_argument("image list '" + list_file + "' lists no image");
  }
  return Status::success();
}

Status decode_image_file(std::string_view bytes, JpegColor color, JpegDecoder* jpeg,
                         HwcImage* out) {
  const bool is_jpeg = bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF &&
                       static_cast<uint8_t>(bytes[1]) == 0xD8 &&
                       static_cast<uint8_t>(bytes[2]) == 0xFF;
  Status s;
  if (is_jpeg) {
    s = jpeg->decode(bytes, color == JpegColor::kNative ? JpegColor::kBgr : color, out);
  } else if (is_png(bytes)) {
    s = decode_png(bytes, color == JpegColor::kGray ? 1 : 3, out);
  } else {
    return Status::data_loss("not a JPEG or PNG file");
  }
  return s.ok() ? s : Status::data_loss(s.message());
}

}  // namespace banyan
