// Workers: thread start-up and shutdown, the job hand-off, failure
// propagation (abort every hub and exchange), the default exchange.
#include "engine/workers.h"

#include <glog/logging.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/core/math.h"
#include "engine/exchange/hierarchical_all_reduce.h"
#include "engine/exchange/topology_probe.h"
#include "engine/exchange/wire.h"
#ifdef BANYAN_WITH_CUDA
#include "cuda/memory.h"
#endif

namespace banyan {

AllReduceFactory make_exchange_factory() {
  struct Probed {
    std::mutex mu;
    bool done = false;
    Status status;
    Topology topology;
  };
  auto probed = std::make_shared<Probed>();
  return [probed](ExchangeBackend backend, const std::vector<Device>& devices,
                  std::unique_ptr<AllReduce>* out) {
    bool gpus = false;
    for (const Device& d : devices) gpus = gpus || d.is_cuda();
    Topology none;
    if (!gpus) return make_all_reduce(backend, devices, none, out);
    std::lock_guard<std::mutex> lock(probed->mu);
    if (!probed->done) {
      std::string notes;
      probed->status = probe_topology(&probed->topology, &notes);
      if (!notes.empty()) LOG(INFO) << "topology: " << notes;
      probed->done = true;
    }
    BANYAN_RETURN_IF_ERROR(probed->status);
    return make_all_reduce(backend, devices, probed->topology, out);
  };
}

std::vector<std::vector<Device>> rank_participants(const std::vector<Device>& devices,
                                                   int group_size) {
  std::vector<std::vector<Device>> out(static_cast<size_t>(std::max(group_size, 1)));
  for (size_t i = 0; i < devices.size(); ++i) out[i % out.size()].push_back(devices[i]);
  return out;
}

Status enable_peer_access_among(const std::vector<Device>& devices) {
#ifdef BANYAN_WITH_CUDA
  std::vector<int> ids;
  for (const Device& d : devices) {
    if (d.is_cuda()) ids.push_back(d.id);
  }
  cuda::PeerAccessReport report;
  std::string error;
  if (!cuda::enable_peer_access(ids, &report, &error)) {
    return Status::internal("enabling peer access among the workers' GPUs: " + error);
  }
  for (const auto& [a, b] : report.unavailable) {
    LOG(WARNING) << "cuda:" << a << " cannot access cuda:" << b
                 << " directly: copies between them go through host memory";
  }
  if (!report.enabled.empty()) {
    LOG(INFO) << "peer access enabled for " << report.enabled.size() << " GPU pair direction(s)";
  }
#else
  (void)devices;
#endif
  return Status::success();
}

Status validate_worker_layout(const std::vector<Device>& devices, int group_size) {
  if (devices.empty()) return Status::invalid_argument("--devices lists no worker");
  if (group_size < 1) {
    return Status::invalid_argument("--group_size must be >= 1, got " + std::to_string(group_size));
  }
  const bool any_cpu =
      std::any_of(devices.begin(), devices.end(), [](const Device& d) { return d.is_cpu(); });
  const bool any_gpu =
      std::any_of(devices.begin(), devices.end(), [](const Device& d) { return d.is_cuda(); });
  if (any_cpu && any_gpu) {
    std::string list;
    for (const Device& d : devices) list += (list.empty() ? "" : ",") + d.to_string();
    return Status::invalid_argument("--devices mixes CPU and GPU workers (" + list +
                                    "): all workers of a run must be CPU workers or all GPUs");
  }
  if (devices.size() % group_size != 0) {
    return Status::invalid_argument(
        "--devices lists " + std::to_string(devices.size()) + " workers, which is not a multiple " +
        "of --group_size=" + std::to_string(group_size) + " (groups are consecutive runs of " +
        std::to_string(group_size) + " workers)");
  }
  return Status::success();
}

Status Workers::create(const WorkersOptions& options, std::unique_ptr<Workers>* out) {
  BANYAN_RETURN_IF_ERROR(validate_worker_layout(options.devices, options.group_size));
  std::unique_ptr<Workers> w(new Workers());
  w->group_size_ = options.group_size;
  const int n = static_cast<int>(options.devices.size());
  // CPU workers compute at the same time: they share the threads instead
  // of each taking all of them (which oversubscribes the machine several
  // times over).  OpenBLAS's setting is per process, OpenMP's (oneDNN and
  // the layers' loops) per worker thread.
  const int cpu_workers = static_cast<int>(std::count_if(
      options.devices.begin(), options.devices.end(), [](const Device& d) { return d.is_cpu(); }));
  CpuOptions cpu = options.cpu;
  if (cpu_workers > 0) {
    const int total = cpu.threads > 0 ? cpu.threads : default_cpu_threads();
    cpu.threads = std::max(1, total / cpu_workers);
    cpu_set_blas_threads(cpu.threads);
    LOG(INFO) << cpu_workers << " CPU worker(s) on " << total << " thread(s): " << cpu.threads
              << " compute thread(s) each, " << cpu_backend_name(cpu.backend) << " backend";
  }
  const int groups = n / options.group_size;
  w->cluster_ = options.cluster;
  w->processes_ = options.cluster != nullptr ? options.cluster->size() : 1;
  w->first_group_ = (options.cluster != nullptr ? options.cluster->rank() : 0) * groups;
  for (int i = 0; i < n; ++i) {
    WorkerPlacement place;
    place.local_group_index = i / options.group_size;
    place.group_index = w->first_group_ + place.local_group_index;
    place.num_groups = groups * w->processes_;
    place.rank_in_group = i % options.group_size;
    place.group_size = options.group_size;
    w->contexts_.push_back(
        std::make_unique<WorkerContext>(options.devices[i], options.seed, place));
    w->contexts_.back()->set_cpu_options(cpu);
  }
  for (int g = 0; g < groups; ++g) {
    w->hubs_.push_back(std::make_unique<TransferHub>());
    w->group_sums_.push_back(std::make_unique<GroupSum>());
    w->group_sums_.back()->values.assign(options.group_size, 0.0);
  }
  if (groups * w->processes_ > 1) {
    const std::vector<std::vector<Device>> participants =
        rank_participants(options.devices, options.group_size);
    std::vector<ExchangeBackend> backends;
    BANYAN_RETURN_IF_ERROR(
        resolve_layout_backends(options.exchange, participants, w->processes_, &backends));
    for (int k = 0; k < options.group_size; ++k) {
      std::unique_ptr<AllReduce> exchange;
      if (w->processes_ > 1 && backends[k] == ExchangeBackend::kNccl) {
        // GPU workers: one NCCL communicator over the rank's workers on
        // every process (NCCL runs the in-node and the cross-node stages).
        std::unique_ptr<ProcessComm> comm;
        BANYAN_RETURN_IF_ERROR(options.cluster->communicator(&comm));
        BANYAN_RETURN_IF_ERROR(make_process_nccl_all_reduce(participants[k], comm.get(),
                                                            options.cluster->rank(), w->processes_,
                                                            options.exchange_precision, &exchange)
                                   .with_context("exchange of rank " + std::to_string(k)));
        LOG(INFO) << "exchange of rank " << k << ": nccl across " << w->processes_ << " processes";
        w->exchanges_.push_back(std::move(exchange));
        continue;
      }
      if (groups > 1) {
        BANYAN_RETURN_IF_ERROR(options.make_all_reduce(backends[k], participants[k], &exchange)
                                   .with_context("exchange of rank " + std::to_string(k)));
        LOG(INFO) << "exchange of rank " << k << ": " << exchange_backend_name(backends[k])
                  << (w->processes_ > 1 ? ", then across the processes" : "");
      }
      if (w->processes_ > 1) {
        std::unique_ptr<ProcessComm> comm;
        BANYAN_RETURN_IF_ERROR(options.cluster->communicator(&comm));
        exchange = std::make_unique<HierarchicalAllReduce>(
            std::move(exchange), groups, std::move(comm), options.exchange_precision);
      }
      w->exchanges_.push_back(std::move(exchange));
    }
  }
  w->statuses_.resize(n);
  for (int i = 0; i < n; ++i) w->threads_.emplace_back([raw = w.get(), i] { raw->loop(i); });
  const GpuOptions gpu = options.gpu;
  BANYAN_RETURN_IF_ERROR(w->run([&](int i) { return w->ctx(i).init_device(gpu); }));
  BANYAN_RETURN_IF_ERROR(enable_peer_access_among(options.devices));
  *out = std::move(w);
  return Status::success();
}

Workers::~Workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  synchronize_devices();  // the exchanges' and hubs' staging may still be read
}

void Workers::synchronize_devices() const {
#ifdef BANYAN_WITH_CUDA
  std::vector<int> ids;
  for (const auto& c : contexts_) {
    if (c->has_gpu()) ids.push_back(c->device().id);
  }
  cuda::synchronize_devices_quietly(ids);
#endif
}

AllReduce* Workers::exchange(int rank) const {
  return exchanges_.empty() ? nullptr : exchanges_[rank].get();
}

std::string Workers::describe(int worker) const {
  const WorkerPlacement& p = contexts_[worker]->placement();
  return "worker " + std::to_string(worker) + " (" + contexts_[worker]->device().to_string() +
         ", group " + std::to_string(p.group_index) + ", rank " + std::to_string(p.rank_in_group) +
         (processes_ > 1 ? ", " + cluster_->describe_rank(cluster_->rank()) : std::string()) + ")";
}

void Workers::abort(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (abort_called_) return;
    abort_called_ = true;
  }
  // The caller gets the reason back; with peers (threads or processes) the
  // log says why they stop.
  if (size() > 1 || processes_ > 1) LOG(ERROR) << "stopping all workers: " << reason;
  if (processes_ > 1) cluster_->abort(reason, 1);  // does not return
  for (auto& hub : hubs_) hub->abort(reason);
  for (auto& exchange : exchanges_) exchange->abort(reason);
  for (auto& b : group_sums_) {
    std::lock_guard<std::mutex> lock(b->mu);
    b->aborted = true;
    b->reason = reason;
    b->cv.notify_all();
  }
}

Status Workers::group_sum(int worker, double* value) {
  const WorkerPlacement& place = contexts_[worker]->placement();
  GroupSum& b = *group_sums_[place.local_group_index];
  std::unique_lock<std::mutex> lock(b.mu);
  // Wait until the previous sum has been read by every rank.
  b.cv.wait(lock, [&] { return b.aborted || b.leaving == 0; });
  if (b.aborted) return Status::aborted("group sum aborted: " + b.reason);
  b.values[place.rank_in_group] = *value;
  const uint64_t generation = b.generation;
  if (++b.arrived == group_size_) {
    double sum = 0.0;
    for (double v : b.values) sum += v;
    b.sum = sum;
    b.arrived = 0;
    b.leaving = group_size_;
    ++b.generation;
    b.cv.notify_all();
  } else {
    b.cv.wait(lock, [&] { return b.aborted || b.generation != generation; });
    if (b.aborted) return Status::aborted("group sum aborted: " + b.reason);
  }
  *value = b.sum;
  if (--b.leaving == 0) b.cv.notify_all();
  return Status::success();
}

bool Workers::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !failure_.ok();
}

void Workers::loop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<Status(int)>* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
    }
    Status s = (*job)(worker);
    if (!s.ok()) s = s.with_context(describe(worker));
    if (!s.ok()) abort(s.message());
    std::lock_guard<std::mutex> lock(mu_);
    statuses_[worker] = s;
    if (--pending_ == 0) done_cv_.notify_all();
  }
}

Status Workers::run(const std::function<Status(int)>& fn) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!failure_.ok()) return failure_;
  job_ = &fn;
  pending_ = size();
  ++generation_;
  start_cv_.notify_all();
  done_cv_.wait(lock, [&] { return pending_ == 0; });
  job_ = nullptr;
  // The root cause: the first error that is not a peer's Aborted.
  for (const Status& s : statuses_) {
    if (!s.ok() && s.code() != StatusCode::kAborted) {
      failure_ = s;
      break;
    }
  }
  for (const Status& s : statuses_) {
    if (failure_.ok() && !s.ok()) failure_ = s;
  }
  return failure_;
}

}  // namespace banyan
