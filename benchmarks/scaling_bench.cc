// Training throughput over worker layouts (groups x partitions): for each
// layout builds the solver on synthetic inputs over the first G*K entries of
// --devices, checks the loss is finite, warms up, times iterations and writes
// one JSON line with images/s, the speed-up over the one-worker layout of the
// same model and global batch, every worker's planned memory (activations +
// parameters/gradients of its train net) and the exchange backend.  When the
// workers share one physical device (a repeated GPU id, several CPU workers)
// the ratio measures the engine's overhead, not scaling: "mode" says which.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/config/loader.h"
#include "engine/core/math.h"
#include "engine/evaluate.h"
#include "engine/solver.h"

#ifdef BANYAN_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

DEFINE_string(layouts, "1x1:256,2x1:128,4x1:64,1x2:256,2x2:128",
              "comma-separated GROUPSxPARTITIONS:BATCH_PER_GROUP layouts");
DEFINE_string(devices, "0,1,2,3", "devices to draw each layout's workers from, in order");
DEFINE_string(model, "models/alexnet/train_val.prototxt", "net of the one-partition layouts");
DEFINE_string(model_parallel_model, "models/alexnet_2col/train_val.prototxt",
              "net of the layouts with more than one partition (layers carry `partition`)");
DEFINE_int32(channels, 3, "input channels");
DEFINE_int32(size, 0, "input height/width; when > 0 it replaces the Data layers' crop_size");
DEFINE_int32(warmup, 3, "untimed iterations");
DEFINE_int32(iterations, 10, "timed iterations (the median of their times is reported)");
DEFINE_double(base_lr, 0.01, "learning rate of the timed training");
DEFINE_string(exchange, "auto", "gradient exchange among groups: auto, tree or nccl");
DEFINE_bool(tf32, true, "allow TF32 tensor cores for FP32 work");
DEFINE_int32(blas_threads, 0, "OpenBLAS threads for CPU workers (0: leave the default)");
DEFINE_bool(baselines, true,
            "also run the 1x1 layout of a model and global batch that the list lacks, so every "
            "layout has a speed-up baseline");
DEFINE_bool(memory_only, false, "build each layout and report its memory without training");

namespace banyan {
namespace {

struct Layout {
  int groups = 1;
  int partitions = 1;
  int64_t batch = 0;  // per group
  std::string model;
  bool added_baseline = false;  // run only to give other layouts a baseline

  int workers() const { return groups * partitions; }
  int64_t global_batch() const { return groups * batch; }
  std::string name() const {
    return std::to_string(groups) + "x" + std::to_string(partitions) + ":" + std::to_string(batch);
  }
};

struct LayoutResult {
  Layout layout;
  std::vector<Device> devices;
  bool shared_device = false;
  std::string exchange = "none";
  std::vector<size_t> activation_bytes, param_bytes;  // per worker
  double median_s = 0.0, mean_s = 0.0, images_per_s = 0.0;
  float loss = 0.0f;
  std::string error;

  size_t max_worker_bytes() const {
    size_t m = 0;
    for (size_t w = 0; w < activation_bytes.size(); ++w) {
      m = std::max(m, activation_bytes[w] + param_bytes[w]);
    }
    return m;
  }
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Waits for all work queued on every distinct GPU of `devices`; no-op on CPUs
// (their workers are synchronous).
void sync_devices(const std::vector<Device>& devices) {
#ifdef BANYAN_WITH_CUDA
  std::set<int> ids;
  for (const Device& d : devices) {
    if (d.is_cuda()) ids.insert(d.id);
  }
  for (int id : ids) {
    CHECK_EQ(cudaSetDevice(id), cudaSuccess);
    CHECK_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
#else
  (void)devices;
#endif
}

// "GxK:B" -> Layout; InvalidArgument naming the token.
Status parse_layouts(const std::string& text, std::vector<Layout>* out) {
  std::stringstream ss(text);
  std::string token;
  while (std::getline(ss, token, ',')) {
    Layout l;
    long long b = 0;
    char x = 0, colon = 0, extra = 0;
    const int n = std::sscanf(token.c_str(), "%d%c%d%c%lld%c", &l.groups, &x, &l.partitions, &colon,
                              &b, &extra);
    if (n != 5 || x != 'x' || colon != ':' || l.groups < 1 || l.partitions < 1 || b < 1) {
      return Status::invalid_argument("--layouts: '" + token +
                                      "' is not GROUPSxPARTITIONS:BATCH (e.g. 2x1:128)");
    }
    l.batch = b;
    l.model = l.partitions > 1 ? FLAGS_model_parallel_model : FLAGS_model;
    out->push_back(l);
  }
  if (out->empty()) return Status::invalid_argument("--layouts is empty");
  return Status::success();
}

// Puts a 1x1 layout of the same model and global batch before every layout
// that has none in the list.
void add_baselines(std::vector<Layout>* layouts) {
  std::vector<Layout> with;
  auto has_baseline = [&](const Layout& l) {
    for (const Layout& b : with) {
      if (b.workers() == 1 && b.model == l.model && b.global_batch() == l.global_batch()) {
        return true;
      }
    }
    for (const Layout& b : *layouts) {
      if (b.workers() == 1 && b.model == l.model && b.global_batch() == l.global_batch()) {
        return true;
      }
    }
    return false;
  };
  for (const Layout& l : *layouts) {
    if (l.workers() > 1 && !has_baseline(l)) {
      Layout b = l;
      b.groups = b.partitions = 1;
      b.batch = l.global_batch();
      b.added_baseline = true;
      with.push_back(b);
    }
    with.push_back(l);
  }
  *layouts = with;
}

// The model of `layout` with synthetic inputs of batch layout.batch.
Status load_model(const Layout& layout, NetConfig* nc) {
  BANYAN_RETURN_IF_ERROR(load_net_config(layout.model, nc));
  for (LayerConfig& l : nc->layers) {
    if (l.type != "Data") continue;
    l.data.batch_size = layout.batch;
    if (FLAGS_size > 0) l.transform.crop_size = 0;
  }
  return use_synthetic_inputs(nc, FLAGS_channels, FLAGS_size).with_context(layout.model);
}

Status build_solver(const Layout& layout, const std::vector<Device>& devices,
                    ExchangeBackend exchange, std::unique_ptr<Solver>* solver) {
  NetConfig nc;
  BANYAN_RETURN_IF_ERROR(load_model(layout, &nc));
  SolverConfig sc;
  sc.base_lr = static_cast<float>(FLAGS_base_lr);
  sc.momentum = 0.9f;
  sc.weight_decay = 5e-4f;
  sc.max_iter = FLAGS_warmup + FLAGS_iterations + 1;
  sc.display = 0;
  sc.random_seed = 1;
  sc.snapshot_after_train = false;
  SolverOptions opts;
  opts.devices = devices;
  opts.group_size = layout.partitions;
  opts.exchange = exchange;
  opts.gpu.allow_tf32 = FLAGS_tf32;
  BANYAN_RETURN_IF_ERROR(Solver::create(sc, nc, opts, solver));
  // Each group reads its own synthetic batch; only partition 0 holds inputs.
  for (int w = 0; w < layout.workers(); ++w) {
    BANYAN_RETURN_IF_ERROR(
        fill_synthetic_inputs((*solver)->train_net(w), 1 + w / layout.partitions));
  }
  return Status::success();
}

bool shares_device(const std::vector<Device>& devices) {
  for (size_t i = 0; i < devices.size(); ++i) {
    for (size_t j = i + 1; j < devices.size(); ++j) {
      if (devices[i] == devices[j]) return true;
    }
  }
  return false;
}

Status time_layout(Solver& solver, LayoutResult* r) {
  BANYAN_RETURN_IF_ERROR(solver.step(1));
  if (!std::isfinite(solver.last_loss())) {
    return Status::aborted("loss is " + std::to_string(solver.last_loss()) +
                           " after the first iteration");
  }
  BANYAN_RETURN_IF_ERROR(solver.step(FLAGS_warmup));
  std::vector<double> times;
  for (int i = 0; i < FLAGS_iterations; ++i) {
    sync_devices(r->devices);
    const double t0 = now_s();
    BANYAN_RETURN_IF_ERROR(solver.step(1));
    sync_devices(r->devices);
    times.push_back(now_s() - t0);
  }
  r->loss = solver.last_loss();
  if (!std::isfinite(r->loss)) {
    return Status::aborted("loss is " + std::to_string(r->loss) + " after the timed iterations");
  }
  double total = 0.0;
  for (double t : times) total += t;
  std::sort(times.begin(), times.end());
  r->median_s = times[times.size() / 2];
  r->mean_s = total / times.size();
  r->images_per_s = r->layout.global_batch() / r->median_s;
  return Status::success();
}

Status run_layout(const Layout& layout, const std::vector<Device>& all_devices,
                  ExchangeBackend exchange, LayoutResult* r) {
  r->layout = layout;
  if (layout.workers() > static_cast<int>(all_devices.size())) {
    return Status::invalid_argument("needs " + std::to_string(layout.workers()) +
                                    " workers, --devices names " +
                                    std::to_string(all_devices.size()));
  }
  r->devices.assign(all_devices.begin(), all_devices.begin() + layout.workers());
  r->shared_device = shares_device(r->devices);
  if (layout.groups > 1) {
    std::vector<ExchangeBackend> backends;
    BANYAN_RETURN_IF_ERROR(resolve_layout_backends(
        exchange, rank_participants(r->devices, layout.partitions), &backends));
    r->exchange = exchange_backend_name(backends[0]);
  }
  std::unique_ptr<Solver> solver;
  BANYAN_RETURN_IF_ERROR(build_solver(layout, r->devices, exchange, &solver));
  for (int w = 0; w < layout.workers(); ++w) {
    r->activation_bytes.push_back(solver->train_net(w).activation_bytes());
    r->param_bytes.push_back(solver->train_net(w).param_bytes());
  }
  if (FLAGS_memory_only) return Status::success();
  return time_layout(*solver, r);
}

// The 1x1 result of the same model and global batch, else any 1x1 result of
// the same model (its images/s still compares); null when there is none.
const LayoutResult* baseline_for(const LayoutResult& r, const std::vector<LayoutResult>& all) {
  const LayoutResult* any = nullptr;
  for (const LayoutResult& b : all) {
    if (!b.error.empty() || b.layout.workers() != 1 || b.layout.model != r.layout.model) continue;
    if (b.layout.global_batch() == r.layout.global_batch()) return &b;
    if (any == nullptr) any = &b;
  }
  return any;
}

std::string json_list(const std::vector<size_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

std::string device_list(const std::vector<Device>& devices) {
  std::string s;
  for (size_t i = 0; i < devices.size(); ++i) s += (i ? "," : "") + devices[i].to_string();
  return s;
}

void print_json(const LayoutResult& r, const LayoutResult* base) {
  const Layout& l = r.layout;
  std::printf(
      "{\"bench\":\"scaling\",\"model\":\"%s\",\"layout\":\"%s\",\"devices\":\"%s\","
      "\"workers\":%d,\"groups\":%d,\"partitions\":%d,\"batch_per_group\":%lld,"
      "\"global_batch\":%lld,\"shared_device\":%s,\"mode\":\"%s\",\"exchange\":\"%s\","
      "\"added_baseline\":%s,",
      l.model.c_str(), l.name().c_str(), device_list(r.devices).c_str(), l.workers(), l.groups,
      l.partitions, static_cast<long long>(l.batch), static_cast<long long>(l.global_batch()),
      r.shared_device ? "true" : "false", r.shared_device ? "overhead" : "scaling",
      r.exchange.c_str(), l.added_baseline ? "true" : "false");
  if (!r.error.empty()) {
    std::string msg;
    for (char c : r.error) msg += (c == '"' || c == '\\') ? '\'' : c;
    std::printf("\"error\":\"%s\"}\n", msg.c_str());
    return;
  }
  std::printf("\"activation_bytes\":%s,\"param_bytes\":%s,\"max_worker_bytes\":%zu,",
              json_list(r.activation_bytes).c_str(), json_list(r.param_bytes).c_str(),
              r.max_worker_bytes());
  if (base != nullptr) {
    std::printf("\"baseline\":\"%s\",\"memory_vs_baseline\":%.4f,", base->layout.name().c_str(),
                static_cast<double>(r.max_worker_bytes()) / base->max_worker_bytes());
  }
  if (FLAGS_memory_only) {
    std::printf("\"memory_only\":true}\n");
    return;
  }
  std::printf("\"median_iteration_s\":%.6f,\"mean_iteration_s\":%.6f,\"images_per_s\":%.2f,",
              r.median_s, r.mean_s, r.images_per_s);
  if (base != nullptr) std::printf("\"speedup\":%.4f,", r.images_per_s / base->images_per_s);
  std::printf("\"loss\":%.6f}\n", r.loss);
}

void log_progress(const LayoutResult& r, const Status& s) {
  std::string what = FLAGS_memory_only ? std::to_string(r.max_worker_bytes() >> 20) + " MiB/worker"
                                       : std::to_string(r.images_per_s) + " img/s";
  std::fprintf(stderr, "scaling_bench: %s %s: %s\n", r.layout.model.c_str(),
               r.layout.name().c_str(), s.ok() ? what.c_str() : s.message().c_str());
}

int run() {
  std::vector<Device> devices;
  std::vector<Layout> layouts;
  ExchangeBackend exchange;
  Status s = parse_device_list(FLAGS_devices, &devices);
  if (s.ok()) s = parse_layouts(FLAGS_layouts, &layouts);
  if (s.ok()) s = parse_exchange_backend(FLAGS_exchange, &exchange);
  if (!s.ok()) {
    std::fprintf(stderr, "scaling_bench: %s\n", s.message().c_str());
    return 2;
  }
  if (FLAGS_blas_threads > 0) cpu_set_blas_threads(FLAGS_blas_threads);
  if (FLAGS_baselines) add_baselines(&layouts);
  std::vector<LayoutResult> results(layouts.size());
  int failures = 0;
  for (size_t i = 0; i < layouts.size(); ++i) {
    s = run_layout(layouts[i], devices, exchange, &results[i]);
    if (!s.ok()) {
      results[i].error = s.message();
      ++failures;
    }
    log_progress(results[i], s);
  }
  for (const LayoutResult& r : results) print_json(r, baseline_for(r, results));
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace banyan

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "scaling_bench --layouts=1x1:256,4x1:64,1x2:256 --devices=0,1,2,3 [--model=NET] "
      "[--model_parallel_model=NET] [--size=N] [--memory_only]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;
  return banyan::run();
}
