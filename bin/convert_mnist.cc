// convert_mnist: MNIST-style IDX files (gzipped or not) -> an LMDB of Datum
// records, keys "%08d", as Caffe's tool writes them.  Exit code 1 on error.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <chrono>
#include <iostream>

#include "data/mnist.h"

DEFINE_bool(overwrite, false, "replace OUT_LMDB if it already exists");

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "convert_mnist [--overwrite] IMAGES LABELS OUT_LMDB\n"
      "  IMAGES, LABELS: IDX files (idx3 images, idx1 labels), .gz or plain");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (argc != 4) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "convert_mnist.cc");
    return 1;
  }
  banyan::ConvertMnistOptions options;
  options.overwrite = FLAGS_overwrite;
  int64_t count = 0;
  auto start = std::chrono::steady_clock::now();
  banyan::Status s = banyan::convert_mnist(argv[1], argv[2], argv[3], options, &count);
  if (!s.ok()) {
    std::cerr << "convert_mnist: " << s.message() << std::endl;
    return 1;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  LOG(INFO) << "wrote " << count << " records to " << argv[3] << " in " << seconds << " s";
  return 0;
}
