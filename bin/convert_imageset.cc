// convert_imageset: a folder of images and a list file ("relative/path label"
// per line) -> an LMDB of Datum records keyed "%08d_<path>".  JPEGs decode
// with TurboJPEG; other formats (PNG, BMP, ...) are read with OpenCV's
// imread, which is why only this tool links imgcodecs.  Exit code 1 on error.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <iostream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "data/imageset.h"

DEFINE_bool(gray, false, "store images as one gray channel (default BGR)");
DEFINE_bool(shuffle, false, "shuffle the list (seeded by --seed) before converting");
DEFINE_uint64(seed, 0, "seed of --shuffle");
DEFINE_int32(resize_height, 0, "resize to this height (with --resize_width; 0: keep)");
DEFINE_int32(resize_width, 0, "resize to this width (with --resize_height; 0: keep)");
DEFINE_bool(encoded, false, "store JPEG-encoded images instead of raw pixels");
DEFINE_int32(quality, 90, "JPEG quality (1-100) when --encoded has to encode");
DEFINE_bool(check_size, false, "skip images whose size differs from the first image's");
DEFINE_bool(overwrite, false, "replace OUT_LMDB if it already exists");

namespace {

// Reads any format OpenCV knows as BGR or gray interleaved pixels.
banyan::Status load_with_open_cv(const std::string& path, bool gray, banyan::HwcImage* out) {
  cv::Mat m = cv::imread(path, gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  if (m.empty()) return banyan::Status::data_loss("cannot read image '" + path + "'");
  if (!m.isContinuous()) m = m.clone();
  out->height = m.rows;
  out->width = m.cols;
  out->channels = m.channels();
  out->pixels.assign(m.data, m.data + m.total() * m.elemSize());
  return banyan::Status::success();
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "convert_imageset [flags] ROOT/ LISTFILE OUT_LMDB\n"
      "  LISTFILE lines: relative/path label");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (argc != 4) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "convert_imageset.cc");
    return 1;
  }
  banyan::ImagesetOptions o;
  o.gray = FLAGS_gray;
  o.shuffle = FLAGS_shuffle;
  o.seed = FLAGS_seed;
  o.resize_height = FLAGS_resize_height;
  o.resize_width = FLAGS_resize_width;
  o.encoded = FLAGS_encoded;
  o.quality = FLAGS_quality;
  o.check_size = FLAGS_check_size;
  o.overwrite = FLAGS_overwrite;
  banyan::ImagesetStats stats;
  banyan::Status s =
      banyan::convert_imageset(argv[1], argv[2], argv[3], o, load_with_open_cv, &stats);
  if (stats.lines > 0) {
    LOG(INFO) << "converted " << stats.converted << " of " << stats.lines << " listed images ("
              << stats.skipped << " skipped)";
  }
  if (!s.ok()) {
    std::cerr << "convert_imageset: " << s.message() << std::endl;
    return 1;
  }
  return 0;
}
