// The `banyan` command: train | test | time | devices | export | classify
// (the last two in banyan_export.cc).  Parses flags, calls
// the library, maps a failed Status to exit code 1 (2 for usage errors).
#include <gflags/gflags.h>
#include <glog/logging.h>
#include <sched.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bin/training_plot.h"
#include "engine/config/loader.h"
#include "engine/core/device.h"
#include "engine/evaluate.h"
#include "engine/exchange/exchange.h"
#include "engine/exchange/topology_probe.h"
#include "engine/net.h"
#include "engine/solver.h"
#include "engine/weights_file.h"
#include "layers/conv.h"
#ifdef BANYAN_WITH_CUDA
#include "cuda/device_info.h"
#endif

DEFINE_string(solver, "", "solver prototxt (train)");
DEFINE_string(model, "", "net prototxt (test, time)");
DEFINE_string(weights, "", "weights file(s) to start from, comma-separated (train: fine-tune)");
DEFINE_string(snapshot, "", "solver state to resume from (train)");
DEFINE_int32(iterations, 0,
             "train: overrides max_iter; test: batches (default 50); time: passes (default 10)");
DEFINE_string(devices, "",
              "workers' devices, one worker per entry, ids may repeat: cpu, 0, 0,1,2,3, 0,0, "
              "cpu,cpu (default: cpu)");
DEFINE_int32(group_size, 1,
             "train: workers per group; a group splits the model by layer partition, groups "
             "split the batch (the config's batch_size is per group)");
DEFINE_bool(check_replicas, false,
            "train: after every update, check that all replicas hold the same parameters");
DEFINE_string(exchange, "auto",
              "train: gradient exchange among groups: auto (NCCL for distinct GPUs, else the "
              "tree), tree (topology-aware, any devices) or nccl");
DEFINE_string(snapshot_errors, "stop",
              "train: when a periodic snapshot cannot be written (disk full, read-only "
              "folder): stop (exit 1) or continue; the last good snapshot is kept either way");
DEFINE_string(nan_policy, "stop",
              "train: a step whose loss or gradients hold a NaN or an infinity: stop (exit 1, "
              "naming the first layer and the last good snapshot) or skip_step (skip its update; "
              "CPU workers)");
DEFINE_int32(nan_skip_limit, 10,
             "train: with --nan_policy=skip_step, this many non-finite steps in a row stop "
             "training");
DEFINE_string(metrics, "", "JSON-lines metrics file (default: <snapshot_prefix>_metrics.jsonl)");
DEFINE_string(plot, "",
              "train: draw the training curves from the metrics file into this PNG after every "
              "test pass and at the end (benchmarks/plot_training.py; needs python3-matplotlib)");
DEFINE_string(phase, "TRAIN", "time: which phase's net to time, TRAIN or TEST");
DEFINE_string(json, "",
              "time: also write the per-layer times and parameter bytes as JSON to this file "
              "(the input of benchmarks/plan_scaling.py)");
DEFINE_bool(memory, false,
            "time: print one worker's memory by part (nets built on the CPU) instead of timing");
DEFINE_bool(synthetic, false, "time: replace Data layers by random inputs (no LMDB needed)");
DEFINE_int32(synthetic_channels, 3, "time --synthetic: image channels");
DEFINE_int32(synthetic_size, 0,
             "time --synthetic: image height and width where a Data layer has no crop_size");
DEFINE_int32(seed, -1, "overrides the solver's random_seed when >= 0");
DEFINE_string(stage, "",
              "net stages, comma-separated, for layers' include/exclude stage rules (train: added "
              "to the solver's train_state; test, time: the net's)");
DEFINE_int32(level, 0, "net level for layers' min_level/max_level rules (as --stage)");
DEFINE_int32(cpu_threads, 0,
             "CPU workers: compute threads of all of them together, split evenly among them "
             "(0: $BANYAN_CPU_THREADS, else every core this process may use)");
DEFINE_string(cpu_backend, "default",
              "CPU workers: 'default' (oneDNN convolutions and GEMMs, threaded loops) or "
              "'reference' (the single-threaded BLAS code the others are checked against)");
DEFINE_bool(tf32, true, "GPU: let FP32 convolutions and GEMMs use TF32 tensor cores");
DEFINE_string(topology, "",
              "devices: an `nvidia-smi topo -m` file to use instead of probing this machine");
DEFINE_bool(gpu_debug_sync, false,
            "GPU: synchronise and check for errors after every layer (slow; for debugging)");
DEFINE_double(heartbeat_timeout, 30.0,
              "train under mpirun/srun: seconds without a heartbeat from a rank before the job "
              "is stopped (a rank killed, stopped or hung)");
DEFINE_bool(gpu_deterministic, false,
            "GPU: fixed deterministic cuDNN convolution algorithms instead of the fastest "
            "measured ones (like PyTorch's cudnn.deterministic; slower)");

namespace banyan {
int export_command();                                          // banyan_export.cc
int classify_command(const std::vector<std::string>& images);  // banyan_export.cc
namespace {

std::atomic<bool> g_stop_requested{false};

void on_signal(int sig) {
  g_stop_requested.store(true);
  std::signal(sig, SIG_DFL);  // a second signal ends the process at once
}

// --level (when given) and --stage (a comma-separated list; "" -> none).
NetStateOverride state_flags() {
  NetStateOverride o;
  if (!gflags::GetCommandLineFlagInfoOrDie("level").is_default) o.level = FLAGS_level;
  std::string rest = FLAGS_stage;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string stage = rest.substr(0, comma);
    if (!stage.empty()) o.stages.push_back(stage);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
  }
  return o;
}

int fail(const Status& s) {
  std::cerr << "banyan: " << s.message() << std::endl;
  if (s.code() == StatusCode::kResourceExhausted) {
    std::cerr << "banyan: `banyan time --memory --model=<net>` shows one worker's memory by part"
              << std::endl;
  }
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ? 2 : 1;
}

Status cpu_options(CpuOptions* out) {
  if (FLAGS_cpu_threads < 0) {
    return Status::invalid_argument("--cpu_threads must be >= 0, got " +
                                    std::to_string(FLAGS_cpu_threads));
  }
  out->threads = FLAGS_cpu_threads;
  return parse_cpu_backend(FLAGS_cpu_backend, &out->backend);
}

GpuOptions gpu_options() {
  GpuOptions o;
  o.allow_tf32 = FLAGS_tf32;
  o.debug_sync = FLAGS_gpu_debug_sync;
  o.deterministic = FLAGS_gpu_deterministic;
  return o;
}

// `test` and `time` run on one worker.
Status single_device(const char* command, Device* device) {
  std::vector<Device> devices;
  BANYAN_RETURN_IF_ERROR(parse_device_list(FLAGS_devices, &devices));
  if (devices.size() != 1 || FLAGS_group_size != 1) {
    return Status::unimplemented("--devices=" + FLAGS_devices + " --group_size=" +
                                 std::to_string(FLAGS_group_size) + ": `banyan " + command +
                                 "` runs on one worker; give one device (only `banyan "
                                 "train` uses several)");
  }
  *device = devices[0];
  return Status::success();
}

// A rank bound to a single core (Open MPI binds each rank to one core when
// it starts two or fewer) runs every worker, BLAS and decode thread there.
void warn_if_bound_to_one_core(const Cluster& cluster) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return;
  const int usable = CPU_COUNT(&set);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  if (usable == 1 && cores > 1) {
    LOG(WARNING) << cluster.describe_rank(cluster.rank()) << " is bound to 1 of " << cores
                 << " cores (mpirun binds ranks to a core by default): its workers, BLAS and "
                    "decode threads all share it; start with `mpirun --bind-to none` (or "
                    "--map-by node:PE=<cores>)";
  }
}

int train(Cluster& cluster) {
  if (cluster.size() > 1) warn_if_bound_to_one_core(cluster);
  // With several processes a failing rank ends the job (the others may wait
  // in a collective); one process just reports.
  auto fail = [&cluster](const Status& st) {
    if (cluster.size() > 1) cluster.abort(st.message(), banyan::fail(st));
    return banyan::fail(st);
  };
  if (FLAGS_solver.empty()) return fail(Status::invalid_argument("train needs --solver"));
  if (!FLAGS_snapshot.empty() && !FLAGS_weights.empty()) {
    return fail(
        Status::invalid_argument("give --snapshot (resume) or --weights (fine-tune), not both"));
  }
  SolverConfig sc;
  Status s = load_solver_config(FLAGS_solver, &sc);
  if (!s.ok()) return fail(s);
  if (FLAGS_iterations > 0) sc.max_iter = FLAGS_iterations;
  if (FLAGS_seed >= 0) sc.random_seed = FLAGS_seed;
  const NetStateOverride flags = state_flags();
  if (flags.level.has_value()) sc.train_state.level = flags.level;
  sc.train_state.stages.insert(sc.train_state.stages.end(), flags.stages.begin(),
                               flags.stages.end());
  std::string net_path;
  NetConfig nc;
  if (!(s = resolve_net_path(sc, &net_path)).ok() || !(s = load_net_config(net_path, &nc)).ok()) {
    return fail(s);
  }
  SolverOptions opts;
  if (!(s = parse_device_list(FLAGS_devices, &opts.devices)).ok()) return fail(s);
  opts.group_size = FLAGS_group_size;
  opts.check_replicas = FLAGS_check_replicas;
  if (!(s = parse_exchange_backend(FLAGS_exchange, &opts.exchange)).ok()) return fail(s);
  opts.gpu = gpu_options();
  if (!(s = cpu_options(&opts.cpu)).ok()) return fail(s);
  opts.metrics_path = FLAGS_metrics;
  if (opts.metrics_path.empty() && !sc.snapshot_prefix.empty()) {
    opts.metrics_path = sc.snapshot_prefix + "_metrics.jsonl";
  }
  if (FLAGS_snapshot_errors != "stop" && FLAGS_snapshot_errors != "continue") {
    return fail(Status::invalid_argument("--snapshot_errors must be stop or continue, got '" +
                                         FLAGS_snapshot_errors + "'"));
  }
  opts.continue_on_snapshot_error = FLAGS_snapshot_errors == "continue";
  TrainingPlot plot;
  if (!FLAGS_plot.empty() && cluster.rank() == 0) {
    if (opts.metrics_path.empty()) {
      const std::string& p = FLAGS_plot;
      const bool png = p.size() > 4 && p.compare(p.size() - 4, 4, ".png") == 0;
      opts.metrics_path = (png ? p.substr(0, p.size() - 4) : p) + "_metrics.jsonl";
    }
    if (!(s = TrainingPlot::create(opts.metrics_path, FLAGS_plot, &plot)).ok()) return fail(s);
    opts.after_test_pass = [&plot] { plot.refresh(); };
  }
  if (FLAGS_nan_policy != "stop" && FLAGS_nan_policy != "skip_step") {
    return fail(Status::invalid_argument("--nan_policy must be stop or skip_step, got '" +
                                         FLAGS_nan_policy + "'"));
  }
  opts.nan_policy = FLAGS_nan_policy == "stop" ? SolverOptions::NanPolicy::kStop
                                               : SolverOptions::NanPolicy::kSkipStep;
  opts.nan_skip_limit = FLAGS_nan_skip_limit;
  opts.stop_requested = &g_stop_requested;
  opts.cluster = &cluster;
  std::unique_ptr<Solver> solver;
  if (!(s = Solver::create(sc, nc, opts, &solver)).ok()) return fail(s);
  if (!FLAGS_snapshot.empty() && !(s = solver->restore(FLAGS_snapshot)).ok()) return fail(s);
  if (!FLAGS_weights.empty() && !(s = solver->load_weights(FLAGS_weights)).ok()) return fail(s);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  // A launcher stopping the job (mpirun on SIGINT) may close our output
  // before the last snapshot is written: log lines must not kill us then.
  std::signal(SIGPIPE, SIG_IGN);
  s = solver->solve();
  if (!FLAGS_plot.empty() && cluster.rank() == 0) plot.finish();
  if (s.code() == StatusCode::kCancelled) {
    LOG(INFO) << "stopped by signal at iteration " << solver->iteration() << ": " << s.message();
    return 0;
  }
  if (!s.ok()) return fail(s);
  LOG(INFO) << "optimization done";
  return 0;
}

Status build_net(Phase phase, WorkerContext* ctx, std::unique_ptr<Net>* net) {
  if (FLAGS_model.empty()) return Status::invalid_argument("needs --model");
  NetConfig nc;
  BANYAN_RETURN_IF_ERROR(load_net_config(FLAGS_model, &nc));
  if (FLAGS_synthetic)
    BANYAN_RETURN_IF_ERROR(
        use_synthetic_inputs(&nc, FLAGS_synthetic_channels, FLAGS_synthetic_size));
  NetBuildOptions opts;
  opts.phase = phase;
  opts.state = state_flags();
  BANYAN_RETURN_IF_ERROR(Net::create(nc, opts, ctx, net));
  BANYAN_RETURN_IF_ERROR(fill_synthetic_inputs(**net, ctx->seed()));
  if (!FLAGS_weights.empty()) BANYAN_RETURN_IF_ERROR(load_weights_into(FLAGS_weights, net->get()));
  return Status::success();
}

int test() {
  Device device;
  Status s = single_device("test", &device);
  if (!s.ok()) return fail(s);
  WorkerContext ctx(device, FLAGS_seed >= 0 ? FLAGS_seed : 1);
  CpuOptions cpu;
  if (!(s = cpu_options(&cpu)).ok()) return fail(s);
  ctx.set_cpu_options(cpu);
  if (!(s = ctx.init_device(gpu_options())).ok()) return fail(s);
  std::unique_ptr<Net> net;
  if (!(s = build_net(Phase::kTest, &ctx, &net)).ok()) return fail(s);
  if (FLAGS_weights.empty()) LOG(WARNING) << "no --weights: testing freshly initialised weights";
  std::vector<std::pair<std::string, float>> means;
  const int batches = FLAGS_iterations > 0 ? FLAGS_iterations : 50;
  if (!(s = evaluate_net(*net, batches, &means)).ok()) return fail(s);
  for (const auto& [name, value] : means) std::printf("%s = %.6g\n", name.c_str(), value);
  return 0;
}

std::string mib(size_t bytes) {
  char s[64];
  std::snprintf(s, sizeof(s), "%10.1f MiB (%zu bytes)", bytes / 1048576.0, bytes);
  return s;
}

// time --memory: the memory of one worker holding the whole net, by part,
// from the TRAIN and TEST nets built on the CPU (so it works where the
// device would run out).  A CUDA worker adds each convolution's cuDNN
// workspace (at most ConvolutionLayer::kGpuWorkspaceLimit, shared through the net's
// workspace) and the CUDA context; a split replica divides the layers.
int memory_report() {
  WorkerContext ctx(Device::cpu(), 1);
  Status s = ctx.init_device();
  std::unique_ptr<Net> train, test;
  if (s.ok()) s = build_net(Phase::kTrain, &ctx, &train);
  if (s.ok()) s = build_net(Phase::kTest, &ctx, &test);
  if (!s.ok()) return fail(s);
  const size_t params = train->param_bytes();
  const size_t history = static_cast<size_t>(train->param_count()) * sizeof(float);
  const size_t common = train->activation_bytes() + test->activation_bytes() + params +
                        train->shadow_bytes() + train->workspace_bytes();
  std::printf("one worker's memory for net '%s', TRAIN batch %lld (%s):\n", train->name().c_str(),
              static_cast<long long>(train->batch_size()), d_type_name(train->precision()));
  std::printf("  activations, TRAIN net (data + diff)  %s\n",
              mib(train->activation_bytes()).c_str());
  std::printf("  activations, TEST net                 %s\n",
              mib(test->activation_bytes()).c_str());
  std::printf("  parameters + gradients                %s\n", mib(params).c_str());
  std::printf("  BF16 shadows                          %s\n", mib(train->shadow_bytes()).c_str());
  std::printf("  layer workspace (CPU layers)          %s\n",
              mib(train->workspace_bytes()).c_str());
  std::printf("  solver history, SGD/Nesterov/AdaGrad  %s\n", mib(history).c_str());
  std::printf("  solver history, Adam                  %s\n", mib(2 * history).c_str());
  std::printf("  total with SGD                        %s\n", mib(common + history).c_str());
  std::printf("  total with Adam                       %s\n", mib(common + 2 * history).c_str());
  std::printf(
      "(a CUDA worker adds its cuDNN convolution workspace, up to %zu MiB, and the CUDA "
      "context)\n",
      ConvolutionLayer::kGpuWorkspaceLimit >> 20);
  return 0;
}

int time() {
  if (FLAGS_memory) return memory_report();
  Device device;
  Status s = single_device("time", &device);
  if (!s.ok()) return fail(s);
  WorkerContext ctx(device, FLAGS_seed >= 0 ? FLAGS_seed : 1);
  CpuOptions cpu;
  if (!(s = cpu_options(&cpu)).ok()) return fail(s);
  ctx.set_cpu_options(cpu);
  if (!(s = ctx.init_device(gpu_options())).ok()) return fail(s);
  std::unique_ptr<Net> net;
  if (FLAGS_phase != "TRAIN" && FLAGS_phase != "TEST") {
    return fail(
        Status::invalid_argument("--phase must be TRAIN or TEST, got '" + FLAGS_phase + "'"));
  }
  Phase phase = FLAGS_phase == "TRAIN" ? Phase::kTrain : Phase::kTest;
  if (!(s = build_net(phase, &ctx, &net)).ok()) return fail(s);
  NetTiming t;
  const int iterations = FLAGS_iterations > 0 ? FLAGS_iterations : 10;
  if (!(s = time_net(*net, iterations, 1, &t)).ok()) return fail(s);
  std::printf("%-20s %-16s %12s %12s\n", "layer", "type", "forward ms", "backward ms");
  for (const LayerTiming& l : t.layers) {
    std::printf("%-20s %-16s %12.3f %12.3f\n", l.name.c_str(), l.type.c_str(), l.forward_ms,
                l.backward_ms);
  }
  std::printf("forward %.3f ms, backward %.3f ms, forward+backward %.3f ms per iteration\n",
              t.forward_ms, t.backward_ms, t.iteration_ms);
  if (t.iteration_ms > 0 && t.batch_size > 0) {
    std::string where = device.to_string();
    if (device.is_cpu()) {
      where += " (" + std::to_string(ctx.cpu().threads) + " threads, " +
               cpu_backend_name(ctx.cpu().backend) + " backend)";
    }
    std::printf("batch %lld: %.1f images/s on %s\n", static_cast<long long>(t.batch_size),
                1000.0 * t.batch_size / t.iteration_ms, where.c_str());
  }
  if (!FLAGS_json.empty()) {
    std::FILE* f = std::fopen(FLAGS_json.c_str(), "w");
    if (f == nullptr)
      return fail(Status::io_error("cannot write --json file '" + FLAGS_json + "'"));
    std::fprintf(f, "{\"model\": \"%s\", \"device\": \"%s\", \"batch\": %lld, \"layers\": [",
                 FLAGS_model.c_str(), device.to_string().c_str(),
                 static_cast<long long>(t.batch_size));
    for (int i = 0; i < net->num_layers(); ++i) {
      int64_t params = 0;
      for (const LayerParam& p : net->layer(i).params()) params += p.blob->count();
      std::fprintf(f,
                   "%s\n  {\"name\": \"%s\", \"type\": \"%s\", \"forward_ms\": %.4f, "
                   "\"backward_ms\": %.4f, \"param_bytes\": %lld}",
                   i == 0 ? "" : ",", t.layers[i].name.c_str(), t.layers[i].type.c_str(),
                   t.layers[i].forward_ms, t.layers[i].backward_ms,
                   static_cast<long long>(params * sizeof(float)));
    }
    std::fprintf(f, "\n]}\n");
    std::fclose(f);
  }
  return 0;
}

int devices() {
  std::printf("cpu: %u hardware threads\n", std::thread::hardware_concurrency());
#ifdef BANYAN_WITH_CUDA
  std::string error;
  std::vector<cuda::DeviceInfo> gpus = cuda::query_devices(&error);
  if (gpus.empty())
    std::printf("cuda: no usable GPU (%s)\n", error.empty() ? "none found" : error.c_str());
  for (const cuda::DeviceInfo& d : gpus) {
    std::printf("cuda:%d %s, %.1f GiB, compute capability %d.%d, %d SMs, PCI %s\n", d.ordinal,
                d.name.c_str(), d.total_memory / 1073741824.0, d.major, d.minor, d.multiprocessors,
                d.pci_bus_id.c_str());
  }
#else
  std::printf("cuda: not built (configure with the CUDA toolkit installed)\n");
#endif
  Topology topology;
  std::string notes;
  Status s = FLAGS_topology.empty() ? probe_topology(&topology, &notes)
                                    : Topology::read_file(FLAGS_topology, &topology);
  std::vector<Device> participants = default_exchange_participants(topology);
  if (s.ok() && !FLAGS_devices.empty()) s = parse_device_list(FLAGS_devices, &participants);
  std::string report;
  if (s.ok()) s = describe_exchange(participants, topology, &report);
  if (!s.ok()) return fail(s);
  std::printf("\n%s%s", notes.c_str(), report.c_str());
  return 0;
}

}  // namespace
}  // namespace banyan

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "banyan <command> [flags]\n"
      "  train   --solver=S [--snapshot=STATE | --weights=W] [--iterations=N]\n"
      "          [--devices=cpu,cpu,... | 0,1,...] [--group_size=K] [--exchange=auto|tree|nccl]\n"
      "          [--check_replicas]   (under mpirun -np P: P processes, each its own --devices)\n"
      "  test    --model=NET --weights=W [--iterations=N]\n"
      "  time    --model=NET [--iterations=N] [--phase=TRAIN|TEST] [--synthetic]\n"
      "  devices [--devices=...] [--topology=FILE]\n"
      "  export  --model=DEPLOY --weights=W [--onnx=OUT.onnx] [--weights_out=OUT.banyan]\n"
      "  classify --model=DEPLOY --weights=W [--mean=M] [--labels=L] [--top_k=5] image...");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (argc >= 2 && std::string(argv[1]) == "classify") {
    return banyan::classify_command(std::vector<std::string>(argv + 2, argv + argc));
  }
  if (argc != 2) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "banyan.cc");
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "train") {
    // Under mpirun / srun every process is one rank of the run.
    std::unique_ptr<banyan::Cluster> cluster;
    banyan::Status s =
        banyan::Cluster::from_environment(&argc, &argv, FLAGS_heartbeat_timeout, &cluster);
    if (!s.ok()) return banyan::fail(s);
    if (cluster->rank() != 0) FLAGS_minloglevel = 1;  // rank 0 alone prints progress
    const int rc = banyan::train(*cluster);
    cluster->finish();
    return rc;
  }
  if (cmd == "test") return banyan::test();
  if (cmd == "time") return banyan::time();
  if (cmd == "devices") return banyan::devices();
  if (cmd == "export") return banyan::export_command();
  std::cerr << "banyan: unknown command '" << cmd
            << "' (train, test, time, devices, export, classify)" << std::endl;
  return 2;
}
