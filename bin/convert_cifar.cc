// convert_cifar: CIFAR-10 binary batches -> an LMDB of Datum records, keys
// "%08d", as Caffe's convert_cifar_data writes them; --synthetic writes a
// learnable CIFAR-style batch instead (no download needed).  Exit code 1 on
// error.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <iostream>
#include <string>
#include <vector>

#include "data/cifar.h"

DEFINE_bool(overwrite, false, "replace OUT_LMDB if it already exists");
DEFINE_int32(classes, 10, "labels must lie in [0, classes)");
DEFINE_int64(synthetic, 0, "write this many synthetic records to the one BATCH named instead");
DEFINE_uint64(seed, 1, "--synthetic: seed of the noise and positions");

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "convert_cifar [--overwrite] BATCH.bin [BATCH.bin ...] OUT_LMDB\n"
      "  convert_cifar --synthetic=N [--seed=S] OUT_BATCH.bin");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (FLAGS_synthetic > 0) {
    if (argc != 2) {
      gflags::ShowUsageWithFlagsRestrict(argv[0], "convert_cifar.cc");
      return 1;
    }
    banyan::Status s = banyan::write_synthetic_cifar(argv[1], FLAGS_synthetic, FLAGS_seed);
    if (!s.ok()) {
      std::cerr << "convert_cifar: " << s.message() << std::endl;
      return 1;
    }
    return 0;
  }
  if (argc < 3) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "convert_cifar.cc");
    return 1;
  }
  std::vector<std::string> inputs(argv + 1, argv + argc - 1);
  banyan::ConvertCifarOptions options;
  options.overwrite = FLAGS_overwrite;
  options.classes = FLAGS_classes;
  int64_t count = 0;
  banyan::Status s = banyan::convert_cifar(inputs, argv[argc - 1], options, &count);
  if (!s.ok()) {
    std::cerr << "convert_cifar: " << s.message() << std::endl;
    return 1;
  }
  LOG(INFO) << "wrote " << count << " records to " << argv[argc - 1];
  return 0;
}
