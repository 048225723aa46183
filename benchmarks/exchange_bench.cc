// Gradient-exchange bandwidth: one all-reduce backend over a device list,
// sizes 4 KiB .. 256 MiB in powers of 4.  As nccl-tests does, it checks the
// result first (exact small integers, so every rank must match bit for bit),
// warms up, then times each iteration (all ranks start together after a host
// barrier; the time runs until every rank's result is complete, GPU streams
// synchronised) and reports the median with nccl-tests' definitions:
//   algbw = S / t            (S: bytes per rank, t: one all-reduce)
//   busbw = algbw * 2(n-1)/n (the per-link traffic of an optimal ring; n ranks)
// One JSON object on stdout, a table on stderr.
// Under mpirun (`mpirun -np P exchange_bench [--wire=BF16]`) it times the
// cross-process stage instead: ProcessComm::sum over the P processes, one
// host buffer each (MPI_Reduce to rank 0 + MPI_Bcast; --wire sends BF16 or
// FP16), and rank 0 reports with the same definitions (n = P).
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/exchange/cluster.h"
#include "engine/exchange/exchange.h"
#include "engine/exchange/topology_probe.h"
#ifdef BANYAN_WITH_CUDA
#include "cuda/memory.h"
#include "cuda/stream.h"
#endif

DEFINE_string(backend, "tree", "tree or nccl (auto also accepted)");
DEFINE_string(devices, "cpu,cpu", "participants: cpu,cpu,... or GPU ids (repeats allowed)");
DEFINE_string(topology, "", "nvidia-smi topo -m file instead of probing");
DEFINE_int64(min_bytes, 4096, "smallest size per rank");
DEFINE_int64(max_bytes, 256LL << 20, "largest size per rank");
DEFINE_int64(chunk_bytes, 1 << 20, "tree backends' pipelining chunk");
DEFINE_int32(warmup, 2, "untimed iterations per size");
DEFINE_int32(iterations, 0, "timed iterations per size (0: about 1 GiB moved, 5..100)");
DEFINE_string(wire, "FP32", "under mpirun: the element type between processes (FP32, BF16, FP16)");

namespace banyan {
namespace {

// A reusable host barrier for n threads.
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t phase = phase_;
    if (++waiting_ == n_) {
      waiting_ = 0;
      ++phase_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return phase_ != phase; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const int n_;
  int waiting_ = 0;
  uint64_t phase_ = 0;
};

// One rank's buffer (host memory for the CPU, device memory and a stream for a GPU).
class RankBuffer {
 public:
  RankBuffer(const Device& device, size_t max_count) : device_(device) {
#ifdef BANYAN_WITH_CUDA
    if (device.is_cuda()) {
      stream_ = cuda::Stream(device.id);
      std::string error;
      CHECK(gpu_.allocate(device.id, max_count * sizeof(float), &error)) << error;
      return;
    }
#endif
    host_.resize(max_count);
  }
  float* data() {
#ifdef BANYAN_WITH_CUDA
    if (device_.is_cuda()) return gpu_.as<float>();
#endif
    return host_.data();
  }
  void* stream() {
#ifdef BANYAN_WITH_CUDA
    return stream_.get();
#else
    return nullptr;
#endif
  }
  void write(const std::vector<float>& values) {
#ifdef BANYAN_WITH_CUDA
    if (device_.is_cuda()) {
      cuda::copy_async(data(), values.data(), values.size() * sizeof(float), stream_.get());
      return stream_.synchronize();
    }
#endif
    std::copy(values.begin(), values.end(), host_.begin());
  }
  std::vector<float> read(size_t count) {
    std::vector<float> out(count);
#ifdef BANYAN_WITH_CUDA
    if (device_.is_cuda()) {
      cuda::copy_async(out.data(), data(), count * sizeof(float), stream_.get());
      stream_.synchronize();
      return out;
    }
#endif
    std::copy(host_.begin(), host_.begin() + count, out.begin());
    return out;
  }
  void synchronize() {
#ifdef BANYAN_WITH_CUDA
    if (device_.is_cuda()) stream_.synchronize();
#endif
  }

 private:
  Device device_;
  std::vector<float> host_;
#ifdef BANYAN_WITH_CUDA
  cuda::Stream stream_;
  cuda::DeviceBuffer gpu_;
#endif
};

// Rank r holds (r + 1) + (i % 5): the sum is exact in float.
bool check(AllReduce* exchange, std::vector<std::unique_ptr<RankBuffer>>& buffers, size_t count) {
  const int n = buffers.size();
  for (int r = 0; r < n; ++r) {
    std::vector<float> v(count);
    for (size_t i = 0; i < count; ++i) v[i] = static_cast<float>(r + 1 + i % 5);
    buffers[r]->write(v);
  }
  std::vector<std::thread> threads;
  std::vector<Status> status(n);
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      status[r] = exchange->all_reduce(r, buffers[r]->data(), count, buffers[r]->stream());
    });
  }
  for (std::thread& t : threads) t.join();
  for (int r = 0; r < n; ++r) {
    if (!status[r].ok()) return LOG(ERROR) << status[r].to_string(), false;
    const std::vector<float> got = buffers[r]->read(count);
    for (size_t i = 0; i < count; ++i) {
      const float expected = n * (n + 1) / 2.0f + n * static_cast<float>(i % 5);
      if (got[i] != expected) {
        LOG(ERROR) << "rank " << r << " element " << i << ": " << got[i] << ", expected "
                   << expected;
        return false;
      }
    }
  }
  return true;
}

// Median seconds per all-reduce of `count` floats.
double time_size(AllReduce* exchange, std::vector<std::unique_ptr<RankBuffer>>& buffers,
                 size_t count, int iterations) {
  const int n = buffers.size();
  Barrier barrier(n);
  std::vector<double> times;
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      for (int it = -FLAGS_warmup; it < iterations; ++it) {
        barrier.arrive_and_wait();
        const auto start = std::chrono::steady_clock::now();
        CHECK(exchange->all_reduce(r, buffers[r]->data(), count, buffers[r]->stream()).ok());
        buffers[r]->synchronize();
        barrier.arrive_and_wait();
        const std::chrono::duration<double> t = std::chrono::steady_clock::now() - start;
        if (r == 0 && it >= 0) times.push_back(t.count());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Timed iterations for one size: --iterations, or about 1 GiB moved (5..100).
int iterations_for(int64_t bytes) {
  return FLAGS_iterations > 0 ? FLAGS_iterations
                              : static_cast<int>(std::clamp<int64_t>((1LL << 30) / bytes, 5, 100));
}

// One result: a JSON element on stdout, a table row on stderr (n ranks).
void report(bool first, int64_t bytes, int iterations, double t, int n) {
  const double algbw = bytes / t / 1e9;
  const double busbw = algbw * 2.0 * (n - 1) / n;
  std::printf(
      "%s\n  {\"bytes\": %lld, \"iterations\": %d, \"time_us\": %.2f, "
      "\"algbw_GBps\": %.3f, \"busbw_GBps\": %.3f}",
      first ? "" : ",", static_cast<long long>(bytes), iterations, t * 1e6, algbw, busbw);
  std::fprintf(stderr, "%12lld %8d %12.2f %12.3f %12.3f\n", static_cast<long long>(bytes),
               iterations, t * 1e6, algbw, busbw);
}

// Under mpirun: ProcessComm::sum across the processes.
int run_processes(Cluster& cluster) {
  WirePrecision wire;
  if (FLAGS_wire == "FP32") {
    wire = WirePrecision::kFloat32;
  } else if (FLAGS_wire == "BF16") {
    wire = WirePrecision::kBf16;
  } else if (FLAGS_wire == "FP16") {
    wire = WirePrecision::kFp16;
  } else {
    return std::fprintf(stderr, "exchange_bench: --wire=%s is not FP32, BF16 or FP16\n",
                        FLAGS_wire.c_str()),
           2;
  }
  std::unique_ptr<ProcessComm> comm;
  CHECK(cluster.communicator(&comm).ok());
  const int n = cluster.size(), me = cluster.rank();
  std::vector<float> data(FLAGS_max_bytes / sizeof(float));
  if (me == 0) {
    std::printf(
        "{\"benchmark\": \"exchange\", \"backend\": \"mpi\", \"wire\": \"%s\", "
        "\"processes\": %d, \"results\": [",
        FLAGS_wire.c_str(), n);
    std::fprintf(stderr, "%12s %8s %12s %12s %12s\n", "bytes", "iters", "time_us", "algbw_GB/s",
                 "busbw_GB/s");
  }
  bool first = true;
  for (int64_t bytes = FLAGS_min_bytes; bytes <= FLAGS_max_bytes; bytes *= 4) {
    const size_t count = bytes / sizeof(float);
    // Small integers: exact in every wire type.
    for (size_t i = 0; i < count; ++i) data[i] = static_cast<float>(me + 1 + i % 5);
    CHECK(comm->sum(data.data(), count, wire).ok());
    for (size_t i = 0; i < count; ++i) {
      const float expected = n * (n + 1) / 2.0f + n * static_cast<float>(i % 5);
      CHECK_EQ(data[i], expected) << "process " << me << " element " << i;
    }
    const int iterations = iterations_for(bytes);
    std::vector<double> times;
    for (int it = -FLAGS_warmup; it < iterations; ++it) {
      std::vector<uint64_t> sync;
      CHECK(comm->gather_all(0, &sync).ok());  // everyone starts together
      const auto start = std::chrono::steady_clock::now();
      CHECK(comm->sum(data.data(), count, wire).ok());
      const std::chrono::duration<double> t = std::chrono::steady_clock::now() - start;
      if (it >= 0) times.push_back(t.count());
    }
    std::sort(times.begin(), times.end());
    const double t = times[times.size() / 2];
    if (me == 0) report(first, bytes, iterations, t, n);
    first = false;
  }
  if (me == 0) std::printf("\n]}\n");
  return 0;
}

int run() {
  std::vector<Device> devices;
  ExchangeBackend backend;
  Status s = parse_device_list(FLAGS_devices, &devices);
  if (s.ok()) s = parse_exchange_backend(FLAGS_backend, &backend);
  Topology topology;
  std::string notes;
  if (s.ok()) {
    s = FLAGS_topology.empty() ? probe_topology(&topology, &notes)
                               : Topology::read_file(FLAGS_topology, &topology);
  }
  ExchangeOptions options;
  options.chunk_bytes = FLAGS_chunk_bytes;
  std::unique_ptr<AllReduce> exchange;
  if (s.ok()) s = make_all_reduce(backend, devices, topology, options, &exchange);
  if (!s.ok()) return std::fprintf(stderr, "exchange_bench: %s\n", s.to_string().c_str()), 2;
  const int n = devices.size();
  const size_t max_count = FLAGS_max_bytes / sizeof(float);
  std::vector<std::unique_ptr<RankBuffer>> buffers;
  for (const Device& d : devices) buffers.push_back(std::make_unique<RankBuffer>(d, max_count));
  const std::string resolved = exchange_backend_name(resolve_exchange_backend(backend, devices));
  std::printf(
      "{\"benchmark\": \"exchange\", \"backend\": \"%s\", \"devices\": \"%s\", "
      "\"ranks\": %d, \"chunk_bytes\": %lld, \"results\": [",
      resolved.c_str(), FLAGS_devices.c_str(), n, static_cast<long long>(FLAGS_chunk_bytes));
  std::fprintf(stderr, "%12s %8s %12s %12s %12s\n", "bytes", "iters", "time_us", "algbw_GB/s",
               "busbw_GB/s");
  bool first = true;
  for (int64_t bytes = FLAGS_min_bytes; bytes <= FLAGS_max_bytes; bytes *= 4) {
    const size_t count = bytes / sizeof(float);
    if (!check(exchange.get(), buffers, count)) {
      std::fprintf(stderr, "exchange_bench: wrong result at %lld bytes\n",
                   static_cast<long long>(bytes));
      return 1;
    }
    const int iterations = iterations_for(bytes);
    report(first, bytes, iterations, time_size(exchange.get(), buffers, count, iterations), n);
    first = false;
  }
  std::printf("\n]}\n");
  return 0;
}

}  // namespace
}  // namespace banyan

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  std::unique_ptr<banyan::Cluster> cluster;
  const banyan::Status s = banyan::Cluster::from_environment(&argc, &argv, 30.0, &cluster);
  if (!s.ok()) return std::fprintf(stderr, "exchange_bench: %s\n", s.to_string().c_str()), 2;
  const int rc = cluster->size() > 1 ? banyan::run_processes(*cluster) : banyan::run();
  cluster->finish();
  return rc;
}
