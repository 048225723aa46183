// compute_mean: the mean image of an LMDB of Datum records (raw or JPEG),
// written as a Caffe .binaryproto of shape (1, C, H, W); prints the mean of
// each channel.  Exit code 1 on error.
#include "data/compute_mean.h"

#include <gflags/gflags.h>
#include <glog/logging.h>

#include <chrono>
#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
  gflags::SetUsageMessage("compute_mean IN_LMDB OUT.binaryproto");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (argc != 3) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "compute_mean.cc");
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  banyan::MeanImage mean;
  int64_t count = 0;
  banyan::Status s = banyan::compute_mean(argv[1], &mean, &count);
  if (s.ok()) s = banyan::write_mean_file(argv[2], mean);
  if (!s.ok()) {
    std::cerr << "compute_mean: " << s.message() << std::endl;
    return 1;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  LOG(INFO) << "mean of " << count << " records (" << mean.channels << " x " << mean.height << " x "
            << mean.width << ") written to " << argv[2] << " in " << seconds << " s";
  std::vector<double> channel_means = banyan::channel_means(mean);
  for (size_t c = 0; c < channel_means.size(); ++c) {
    std::printf("mean value channel [%zu]: %.6f\n", c, channel_means[c]);
  }
  return 0;
}
