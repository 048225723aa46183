// Image-folder import: list parsing, seeded shuffle, load (TurboJPEG or the
// caller's loader), optional resize (OpenCV imgproc), encode, write.
#include "data/imageset.h"

#include <glog/logging.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "data/datum.h"
#include "data/image.h"
#include "data/lmdb.h"
#include "engine/core/random.h"

namespace banyan {
namespace {

struct ListEntry {
  int line = 0;  // 1-based, for messages
  std::string path;
  int label = 0;
};

// Parses "path label" lines (the path may contain spaces: the label is the
// last field).  Bad lines are logged and counted in stats->skipped.
Status read_list(const std::string& list_file, std::vector<ListEntry>* entries,
                 ImagesetStats* stats) {
  std::ifstream in(list_file);
  if (!in) return Status::not_found("list file '" + list_file + "' not found");
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    ++stats->lines;
    size_t space = line.find_last_of(" \t");
    char* end = nullptr;
    long label = space == std::string::npos ? 0 : std::strtol(line.c_str() + space + 1, &end, 10);
    if (space == std::string::npos || space == 0 || end == nullptr || *end != '\0' ||
        label < INT32_MIN || label > INT32_MAX) {
      LOG(WARNING) << list_file << ":" << number << ": expected 'relative/path label', got '"
                   << line << "'; skipped";
      ++stats->skipped;
      continue;
    }
    entries->push_back({number, line.substr(0, space), static_cast<int>(label)});
  }
  return Status::success();
}

bool is_jpeg(const std::string& bytes) {
  return bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF &&
         static_cast<uint8_t>(bytes[1]) == 0xD8 && static_cast<uint8_t>(bytes[2]) == 0xFF;
}

// Converts one image into `record`; a failure skips the image.
class ImageConverter {
 public:
  ImageConverter(const ImagesetOptions& options, const ImageLoader& load_other)
      : options_(options), load_other_(load_other) {}

  Status convert(const std::string& path, int label, DatumRecord* record) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::not_found("cannot open '" + path + "'");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // True when TurboJPEG decoded the file cleanly, so training can decode it too.
    bool clean_jpeg = false;
    int native_channels = 0;
    if (is_jpeg(bytes)) {
      Status s = decode_jpeg(bytes, &native_channels);
      clean_jpeg = s.ok();
      // CMYK or slightly damaged JPEGs may still load through the other loader.
      if (!s.ok() && !load_other_) return s;
    }
    if (!clean_jpeg) {
      if (!load_other_) {
        return Status::unimplemented("'" + path +
                                     "' is not a JPEG and no loader for other formats was given");
      }
      BANYAN_RETURN_IF_ERROR(load_other_(path, options_.gray, &image_));
    }
    const bool resizing = options_.resize_height > 0 && options_.resize_width > 0;
    if (resizing) resize_image();
    record->channels = image_.channels;
    record->height = image_.height;
    record->width = image_.width;
    record->label = label;
    record->float_data.clear();
    record->encoded = options_.encoded;
    if (!options_.encoded) {
      hwc_to_chw(image_, &chw_);
      record->data.assign(chw_.u8.begin(), chw_.u8.end());
    } else if (clean_jpeg && !resizing && native_channels == image_.channels) {
      record->data = std::move(bytes);  // the source file, untouched
    } else {
      BANYAN_RETURN_IF_ERROR(encoder_.encode(image_, options_.quality, &record->data));
    }
    return Status::success();
  }

 private:
  Status decode_jpeg(const std::string& bytes, int* native_channels) {
    int h = 0, w = 0;
    BANYAN_RETURN_IF_ERROR(jpeg_.read_header(bytes, &h, &w, native_channels));
    return jpeg_.decode(bytes, options_.gray ? JpegColor::kGray : JpegColor::kBgr, &image_);
  }

  void resize_image() {
    cv::Mat src(image_.height, image_.width, CV_8UC(image_.channels), image_.pixels.data());
    resized_.height = options_.resize_height;
    resized_.width = options_.resize_width;
    resized_.channels = image_.channels;
    resized_.pixels.resize(static_cast<size_t>(resized_.height) * resized_.width *
                           resized_.channels);
    cv::Mat dst(resized_.height, resized_.width, CV_8UC(resized_.channels), resized_.pixels.data());
    cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_LINEAR);
    std::swap(image_, resized_);
  }

  const ImagesetOptions& options_;
  const ImageLoader& load_other_;
  JpegDecoder jpeg_;
  JpegEncoder encoder_;
  HwcImage image_, resized_;
  ChwImage chw_;
};

Status check_options(const ImagesetOptions& o) {
  if (o.resize_height < 0 || o.resize_width < 0 || (o.resize_height > 0) != (o.resize_width > 0)) {
    return Status::invalid_argument(
        "resize_height and resize_width must both be 0 or both be "
        "positive, got " +
        std::to_string(o.resize_height) + " and " + std::to_string(o.resize_width));
  }
  if (o.encoded && (o.quality < 1 || o.quality > 100)) {
    return Status::invalid_argument("quality must be in [1, 100], got " +
                                    std::to_string(o.quality));
  }
  return Status::success();
}

void shuffle(uint64_t seed, std::vector<ListEntry>* entries) {
  const uint64_t key = key_for(seed, "convert_imageset");
  for (size_t i = entries->size(); i > 1; --i) {
    size_t j = static_cast<size_t>(uniform_int_at(key, 0, i - 1, i));
    std::swap((*entries)[i - 1], (*entries)[j]);
  }
}

}  // namespace

Status convert_imageset(const std::string& root, const std::string& list_file,
                        const std::string& out_path, const ImagesetOptions& options,
                        const ImageLoader& load_other, ImagesetStats* stats) {
  BANYAN_RETURN_IF_ERROR(check_options(options));
  ImagesetStats local;
  ImagesetStats& st = stats != nullptr ? *stats : local;
  st = ImagesetStats();
  std::vector<ListEntry> entries;
  BANYAN_RETURN_IF_ERROR(read_list(list_file, &entries, &st));
  if (options.shuffle) shuffle(options.seed, &entries);
  BANYAN_RETURN_IF_ERROR(prepare_new_lmdb(out_path, options.overwrite));
  LmdbWriter writer;
  BANYAN_RETURN_IF_ERROR(LmdbWriter::open(out_path, LmdbWriterOptions(), &writer));
  const std::string prefix = root.empty() || root.back() == '/' ? root : root + "/";
  ImageConverter converter(options, load_other);
  DatumRecord record;
  int first_height = -1, first_width = -1;
  char index[24];
  for (size_t i = 0; i < entries.size(); ++i) {
    const ListEntry& e = entries[i];
    std::snprintf(index, sizeof(index), "%08zu", i);
    const std::string key = std::string(index) + "_" + e.path;
    Status s = converter.convert(prefix + e.path, e.label, &record);
    if (s.ok() && key.size() > writer.max_key_bytes()) {
      s = Status::invalid_argument("key '" + key + "' is longer than LMDB's " +
                                   std::to_string(writer.max_key_bytes()) + " bytes");
    }
    if (s.ok() && options.check_size && first_height >= 0 &&
        (record.height != first_height || record.width != first_width)) {
      s = Status::invalid_argument(
          "size " + std::to_string(record.width) + "x" + std::to_string(record.height) +
          " differs from the first "
          "image's " +
          std::to_string(first_width) + "x" + std::to_string(first_height));
    }
    if (!s.ok()) {
      LOG(WARNING) << list_file << ":" << e.line << ": " << s.message() << "; skipped";
      ++st.skipped;
      continue;
    }
    if (first_height < 0) {
      first_height = record.height;
      first_width = record.width;
    }
    BANYAN_RETURN_IF_ERROR(writer.put(key, serialize_datum(record)));
    if (++st.converted % 1000 == 0) LOG(INFO) << "converted " << st.converted << " images";
  }
  BANYAN_RETURN_IF_ERROR(writer.close());
  if (st.converted == 0) {
    // Leave no empty database behind: it would block a rerun.
    if (prepare_new_lmdb(out_path, true).ok()) {
      std::error_code ec;
      std::filesystem::remove(out_path, ec);
    }
    return Status::invalid_argument("no image of list '" + list_file + "' could be converted (" +
                                    std::to_string(st.skipped) + " of " + std::to_string(st.lines) +
                                    " lines skipped)");
  }
  return Status::success();
}

}  // namespace banyan
