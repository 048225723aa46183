// Image lists, the ImageData layer's source: text files of
// "relative/path label" lines (the label is the last field, so paths may hold
// spaces), and the decode of an image file held in memory (JPEG through
// TurboJPEG, PNG through libpng) to BGR or gray.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "data/jpeg.h"
#include "engine/core/status.h"

namespace banyan {

struct ImageListEntry {
  std::string path;  // as written in the list
  int label = 0;
  int line = 0;  // 1-based line number in the list file
};

// Parses one line: "path label", the label an integer after the last space or
// tab; trailing spaces and a CR are ignored.  False when malformed.
bool parse_image_list_line(std::string_view line, std::string* path, int* label);

// Reads `list_file`, skipping blank lines.  NotFound naming the file when it
// cannot be opened; InvalidArgument "<file>:<line>: expected 'relative/path
// label', got '<text>'" for a malformed line, or naming the file when it
// lists no image.
Status read_image_list(const std::string& list_file, std::vector<ImageListEntry>* out);

// Decodes a JPEG or PNG file's bytes to interleaved BGR (`color` kBgr, or
// kNative) or gray (kGray).  DataLoss naming the defect: a format other than
// JPEG or PNG, or corrupt data.
Status decode_image_file(std::string_view bytes, JpegColor color, JpegDecoder* jpeg, HwcImage* out);

}  // namespace banyan
