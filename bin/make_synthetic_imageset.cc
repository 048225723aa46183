// make_synthetic_imageset: writes an LMDB of synthetic photograph-like JPEG
// Datum records (data/synthetic_images.h) for pipeline and training
// benchmarks.  Exit code 1 on error.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <chrono>
#include <iostream>

#include "data/synthetic_images.h"

DEFINE_string(output, "", "LMDB directory to create");
DEFINE_int64(count, 1000, "number of images");
DEFINE_int32(size, 256, "side of the square images (without --variable_sizes)");
DEFINE_bool(variable_sizes, false, "ImageNet-like sizes: short side 200-500, aspect 3:4..4:3");
DEFINE_int32(classes, 1000, "labels are drawn in [0, classes)");
DEFINE_int32(quality, 90, "JPEG quality (1-100)");
DEFINE_uint64(seed, 1, "seed of the image content, sizes and labels");
DEFINE_bool(overwrite, false, "replace --output if it already exists");

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "make_synthetic_imageset --output=DIR [--count=N] [--size=256 | --variable_sizes] "
      "[--classes=1000] [--quality=90] [--seed=1]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (FLAGS_output.empty() || argc != 1) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "make_synthetic_imageset.cc");
    return 1;
  }
  banyan::SyntheticImagesetOptions o;
  o.count = FLAGS_count;
  o.size = FLAGS_size;
  o.variable_sizes = FLAGS_variable_sizes;
  o.classes = FLAGS_classes;
  o.quality = FLAGS_quality;
  o.seed = FLAGS_seed;
  o.overwrite = FLAGS_overwrite;
  const auto start = std::chrono::steady_clock::now();
  int64_t bytes = 0;
  banyan::Status s = banyan::write_synthetic_imageset(FLAGS_output, o, &bytes);
  if (!s.ok()) {
    std::cerr << "make_synthetic_imageset: " << s.message() << std::endl;
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  LOG(INFO) << "wrote " << o.count << " JPEG records (" << bytes / 1024 / o.count
            << " KB on average) to " << FLAGS_output << " in " << seconds << " s";
  return 0;
}
