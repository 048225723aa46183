// Training throughput of a net on synthetic inputs already on the device:
// builds the solver with every Data layer replaced by an Input layer of the
// same shape (batch size overridable), checks the loss is finite, warms up,
// then times whole iterations (forward, backward, update) and reports the
// median images/s, the achieved TFLOP/s estimate and peak device memory as
// one JSON object per configuration.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/config/loader.h"
#include "engine/evaluate.h"
#include "engine/solver.h"

#ifdef BANYAN_WITH_CUDA
#include <cuda_runtime_api.h>

#include "cuda/memory.h"
#endif

DEFINE_string(model, "models/alexnet/train_val.prototxt", "net prototxt");
DEFINE_string(name, "", "name in the JSON output (default: the model path)");
DEFINE_string(devices, "0", "one device: a GPU id or cpu");
DEFINE_int32(batch, 0, "per-iteration batch (0: the model's)");
DEFINE_int32(channels, 3, "input channels");
DEFINE_int32(size, 0, "input height/width when the Data layer has no crop_size");
DEFINE_int32(warmup, 5, "untimed iterations");
DEFINE_int32(iterations, 20, "timed iterations (the median of their times is reported)");
DEFINE_int32(cpu_threads, 0, "CPU: compute threads (0: $BANYAN_CPU_THREADS, else every core)");
DEFINE_string(cpu_backend, "default", "CPU: default or reference");
DEFINE_bool(tf32, true, "allow TF32 tensor cores for FP32 work");
DEFINE_string(precision, "FP32", "FP32 or BF16");
DEFINE_string(source, "",
              "train from this LMDB through the input pipeline instead of synthetic inputs on "
              "the device (Data layers keep their transform, mean_file is replaced by "
              "per-channel means); the end-to-end half of the overlap comparison");

namespace banyan {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void sync_device(const Device& d) {
#ifdef BANYAN_WITH_CUDA
  if (d.is_cuda()) {
    cuda::DeviceGuard guard(d.id);
    CHECK_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
#else
  (void)d;
#endif
}

// Bytes in use on the device now (driver view), 0 on the CPU.
double used_device_bytes(const Device& d) {
#ifdef BANYAN_WITH_CUDA
  if (d.is_cuda()) {
    cuda::DeviceGuard guard(d.id);
    size_t free_b = 0, total_b = 0;
    CHECK_EQ(cudaMemGetInfo(&free_b, &total_b), cudaSuccess);
    return static_cast<double>(total_b - free_b);
  }
#else
  (void)d;
#endif
  return 0.0;
}

// The GPU's name ("NVIDIA H200"), or "cpu".
std::string device_name(const Device& d) {
#ifdef BANYAN_WITH_CUDA
  if (d.is_cuda()) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, d.id) == cudaSuccess) return p.name;
    cudaGetLastError();
    return "?";
  }
#endif
  return d.to_string();
}

int run() {
  std::vector<Device> devices;
  Status s = parse_device_list(FLAGS_devices, &devices);
  if (!s.ok() || devices.size() != 1) {
    std::fprintf(stderr, "train_bench: --devices must name one device\n");
    return 2;
  }
  NetConfig nc;
  if (!(s = load_net_config(FLAGS_model, &nc)).ok()) {
    std::fprintf(stderr, "train_bench: %s\n", s.message().c_str());
    return 2;
  }
  for (LayerConfig& l : nc.layers) {
    if (l.type == "Data" && FLAGS_batch > 0) l.data.batch_size = FLAGS_batch;
    if (l.type == "Data" && !FLAGS_source.empty()) {
      l.data.source = FLAGS_source;
      if (!l.transform.mean_file.empty()) {
        l.transform.mean_file.clear();
        l.transform.mean_value = {104.0f, 117.0f, 123.0f};
      }
    }
  }
  const bool synthetic = FLAGS_source.empty();
  if (synthetic && !(s = use_synthetic_inputs(&nc, FLAGS_channels, FLAGS_size)).ok()) {
    std::fprintf(stderr, "train_bench: %s\n", s.message().c_str());
    return 2;
  }
  SolverConfig sc;
  sc.base_lr = 0.01f;
  sc.momentum = 0.9f;
  sc.weight_decay = 5e-4f;
  sc.max_iter = FLAGS_warmup + FLAGS_iterations;
  sc.display = 0;
  sc.random_seed = 1;
  sc.snapshot_after_train = false;
  sc.precision = FLAGS_precision == "BF16" ? SolverConfig::Precision::kBFloat16
                                           : SolverConfig::Precision::kFloat32;
  SolverOptions opts;
  opts.device = devices[0];
  opts.gpu.allow_tf32 = FLAGS_tf32;
  opts.cpu.threads = FLAGS_cpu_threads;
  if (!(s = parse_cpu_backend(FLAGS_cpu_backend, &opts.cpu.backend)).ok()) {
    std::fprintf(stderr, "train_bench: %s\n", s.message().c_str());
    return 2;
  }
  const double before = used_device_bytes(devices[0]);
  std::unique_ptr<Solver> solver;
  if (!(s = Solver::create(sc, nc, opts, &solver)).ok()) {
    std::fprintf(stderr, "train_bench: %s\n", s.message().c_str());
    return 1;
  }
  if (synthetic && !(s = fill_synthetic_inputs(solver->train_net(), 1)).ok()) {
    std::fprintf(stderr, "train_bench: %s\n", s.message().c_str());
    return 1;
  }
  CHECK(solver->step(FLAGS_warmup).ok());
  sync_device(devices[0]);
  if (!std::isfinite(solver->last_loss())) {
    std::fprintf(stderr, "train_bench: loss is %f after warm-up\n", solver->last_loss());
    return 1;
  }
  std::vector<double> times;
  for (int i = 0; i < FLAGS_iterations; ++i) {
    const double t0 = now_s();
    CHECK(solver->step(1).ok());
    sync_device(devices[0]);
    times.push_back(now_s() - t0);
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const int64_t batch = solver->train_net().batch_size();
  const double peak = used_device_bytes(devices[0]) - before;
  const double tflops = training_flops(solver->train_net()) / median / 1e12;
  std::printf(
      "{\"engine\":\"banyan\",\"name\":\"%s\",\"device\":\"%s\",\"gpu\":\"%s\","
      "\"precision\":\"%s\",\"tf32\":%s,\"batch\":%lld,\"median_iteration_s\":%.6f,"
      "\"images_per_s\":%.1f,\"tflops\":%.4f,\"device_bytes\":%.0f,\"loss\":%.6f,"
      "\"input\":\"%s\",\"cpu_backend\":\"%s\",\"threads\":%d}\n",
      (FLAGS_name.empty() ? FLAGS_model : FLAGS_name).c_str(), devices[0].to_string().c_str(),
      device_name(devices[0]).c_str(), FLAGS_precision.c_str(), FLAGS_tf32 ? "true" : "false",
      static_cast<long long>(batch), median, batch / median, tflops, peak, solver->last_loss(),
      synthetic ? "synthetic" : "lmdb", FLAGS_cpu_backend.c_str(),
      devices[0].is_cpu() ? (FLAGS_cpu_threads > 0 ? FLAGS_cpu_threads : default_cpu_threads())
                          : 0);
  return 0;
}

}  // namespace
}  // namespace banyan

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "train_bench --model=NET [--devices=0] [--batch=N] [--precision=FP32|BF16]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;
  return banyan::run();
}
