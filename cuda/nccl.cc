// NCCL communicator lifetimes on non-blocking communicators: init per rank
// or for a device list (each waited for by polling), and the finalize /
// destroy versus abort split on the way out.
#include "cuda/nccl.h"

#include <glog/logging.h>

#include <chrono>
#include <set>
#include <thread>
#include <utility>

#include "cuda/check.h"
#include "cuda/memory.h"

namespace banyan::cuda {
namespace {

ncclConfig_t nonblocking_config() {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  return config;
}

// "<what> on cuda:<device> rank <rank>: <NCCL's words>".
std::string describe(const char* what, ncclComm_t comm, int device, int rank, ncclResult_t r) {
  std::string text = std::string(what) + " on cuda:" + std::to_string(device) + " rank " +
                     std::to_string(rank) + ": " + ncclGetErrorString(r);
  const char* last = comm != nullptr ? ncclGetLastError(comm) : nullptr;
  if (last != nullptr && last[0] != '\0') text += std::string(" (") + last + ")";
  return text;
}

// ncclCommDestroy after a finalize that completed: frees local resources
// only (a non-blocking communicator may report it as still in progress).
void destroy(ncclComm_t comm) {
  const std::string e = BANYAN_NCCL_STARTED(ncclCommDestroy(comm));
  CHECK(e.empty()) << e;
}

}  // namespace

bool nccl_unique_id(ncclUniqueId* id, std::string* error) {
  std::string e = BANYAN_NCCL_ERROR(ncclGetUniqueId(id));
  if (e.empty()) return true;
  if (error != nullptr) *error = e;
  return false;
}

ncclResult_t nccl_wait_settled(ncclComm_t comm, const std::function<bool()>& cancelled) {
  for (int polls = 0;; ++polls) {
    ncclResult_t state = ncclInProgress;
    const ncclResult_t r = ncclCommGetAsyncError(comm, &state);
    if (r != ncclSuccess) return r;
    if (state != ncclInProgress) return state;
    if (cancelled && cancelled()) return ncclInProgress;
    if (polls < 100) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

NcclComm::NcclComm(NcclComm&& other) noexcept
    : comm_(std::exchange(other.comm_, nullptr)),
      device_(std::exchange(other.device_, -1)),
      rank_(std::exchange(other.rank_, 0)),
      num_ranks_(std::exchange(other.num_ranks_, 0)),
      failed_(std::exchange(other.failed_, false)) {}

NcclComm& NcclComm::operator=(NcclComm&& other) noexcept {
  if (this != &other) {
    reset();
    comm_ = std::exchange(other.comm_, nullptr);
    device_ = std::exchange(other.device_, -1);
    rank_ = std::exchange(other.rank_, 0);
    num_ranks_ = std::exchange(other.num_ranks_, 0);
    failed_ = std::exchange(other.failed_, false);
  }
  return *this;
}

void NcclComm::adopt(ncclComm_t comm, int device, int rank, int num_ranks) {
  comm_ = comm;
  device_ = device;
  rank_ = rank;
  num_ranks_ = num_ranks;
  failed_ = false;
}

bool NcclComm::init_rank(int device, int num_ranks, const ncclUniqueId& id, int rank,
                         std::string* error) {
  reset();
  if (num_ranks < 1 || rank < 0 || rank >= num_ranks) {
    if (error != nullptr) {
      *error = "NCCL rank " + std::to_string(rank) + " out of range for " +
               std::to_string(num_ranks) + " ranks";
    }
    return false;
  }
  DeviceGuard guard(device);
  ncclComm_t comm = nullptr;
  ncclConfig_t config = nonblocking_config();
  ncclResult_t r = ncclCommInitRankConfig(&comm, num_ranks, id, rank, &config);
  if ((r == ncclSuccess || r == ncclInProgress) && comm != nullptr) r = nccl_wait_settled(comm);
  if (r != ncclSuccess) {
    if (error != nullptr) *error = describe("ncclCommInitRankConfig", comm, device, rank, r);
    if (comm != nullptr) ncclCommAbort(comm);  // best effort; the init error is what matters
    return false;
  }
  adopt(comm, device, rank, num_ranks);
  return true;
}

void NcclComm::abort() {
  if (comm_ == nullptr) return;
  DeviceGuard guard(device_);
  const ncclResult_t r = ncclCommAbort(comm_);
  if (r != ncclSuccess && r != ncclInProgress) {
    LOG(ERROR) << "ncclCommAbort on cuda:" << device_ << " rank " << rank_ << ": "
               << ncclGetErrorString(r);
  }
  comm_ = nullptr;
  device_ = -1;
  failed_ = false;
}

ncclResult_t NcclComm::poll() {
  if (comm_ == nullptr) return ncclSuccess;
  ncclResult_t state = ncclInProgress;
  const ncclResult_t r = ncclCommGetAsyncError(comm_, &state);
  if (r != ncclSuccess) state = r;
  if (state != ncclSuccess && state != ncclInProgress) failed_ = true;
  return state;
}

std::string NcclComm::async_error() {
  const ncclResult_t state = poll();
  if (state == ncclSuccess || state == ncclInProgress) return std::string();
  return describe("NCCL asynchronous error", comm_, device_, rank_, state);
}

void NcclComm::reset() {
  if (comm_ == nullptr) return;
  if (failed_ || !async_error().empty()) {
    abort();
    return;
  }
  DeviceGuard guard(device_);
  ncclResult_t r = ncclCommFinalize(comm_);
  if (r == ncclSuccess || r == ncclInProgress) r = nccl_wait_settled(comm_);
  if (r != ncclSuccess) {
    LOG(ERROR) << describe("ncclCommFinalize", comm_, device_, rank_, r)
               << "; aborting the communicator";
    abort();
    return;
  }
  destroy(comm_);
  comm_ = nullptr;
  device_ = -1;
}

// --- NcclCommGroup ------------------------------------------------------------

NcclCommGroup& NcclCommGroup::operator=(NcclCommGroup&& other) noexcept {
  if (this != &other) {
    reset();
    comms_ = std::move(other.comms_);
    other.comms_.clear();
  }
  return *this;
}

bool NcclCommGroup::init(const std::vector<int>& devices, std::string* error) {
  ncclUniqueId id;
  std::string e;
  if (!nccl_unique_id(&id, &e)) {
    if (error != nullptr) *error = e;
    return false;
  }
  return init(devices, id, static_cast<int>(devices.size()), 0, error);
}

bool NcclCommGroup::init(const std::vector<int>& devices, const ncclUniqueId& id, int num_ranks,
                         int first_rank, std::string* error) {
  reset();
  auto fail = [error](const std::string& e) {
    if (error != nullptr) *error = e;
    return false;
  };
  if (devices.empty() || std::set<int>(devices.begin(), devices.end()).size() != devices.size()) {
    std::string list;
    for (int d : devices) list += (list.empty() ? "" : ",") + std::to_string(d);
    return fail("NCCL needs a non-empty list of distinct devices, got [" + list + "]");
  }
  const int n = static_cast<int>(devices.size());
  if (first_rank < 0 || first_rank + n > num_ranks) {
    return fail("NCCL ranks " + std::to_string(first_rank) + ".." +
                std::to_string(first_rank + n - 1) + " are outside a communicator of " +
                std::to_string(num_ranks));
  }
  std::string e;
  std::vector<ncclComm_t> raw(devices.size(), nullptr);
  std::vector<ncclConfig_t> configs(devices.size(), nonblocking_config());
  auto abort_all = [&raw] {
    for (ncclComm_t c : raw) {
      if (c != nullptr) ncclCommAbort(c);  // best effort; report the init error
    }
  };
  // One thread creates every rank: the inits go in one group (each with its
  // device current), then each communicator is waited for.
  e = BANYAN_NCCL_ERROR(ncclGroupStart());
  for (int i = 0; i < n && e.empty(); ++i) {
    DeviceGuard guard(devices[static_cast<size_t>(i)]);
    e = BANYAN_NCCL_STARTED(ncclCommInitRankConfig(&raw[static_cast<size_t>(i)], num_ranks, id,
                                                   first_rank + i,
                                                   &configs[static_cast<size_t>(i)]));
  }
  const std::string end = BANYAN_NCCL_STARTED(ncclGroupEnd());
  if (e.empty()) e = end;
  for (int i = 0; i < n && e.empty(); ++i) {
    ncclComm_t c = raw[static_cast<size_t>(i)];
    const ncclResult_t r = c == nullptr ? ncclInternalError : nccl_wait_settled(c);
    if (r != ncclSuccess) {
      e = describe("ncclCommInitRankConfig", c, devices[static_cast<size_t>(i)], first_rank + i, r);
    }
  }
  if (!e.empty()) {
    abort_all();
    return fail(e);
  }
  comms_.resize(devices.size());
  for (int i = 0; i < n; ++i) {
    comms_[static_cast<size_t>(i)].adopt(
        raw[static_cast<size_t>(i)], devices[static_cast<size_t>(i)], first_rank + i, num_ranks);
  }
  return true;
}

void NcclCommGroup::reset() {
  bool any_failed = false;
  for (NcclComm& c : comms_) {
    if (c.comm_ != nullptr && (c.failed_ || !c.async_error().empty())) any_failed = true;
  }
  if (any_failed) {  // the healthy peers could wait on the failed one: abort them all
    for (NcclComm& c : comms_) c.abort();
    comms_.clear();
    return;
  }
  std::string e = BANYAN_NCCL_ERROR(ncclGroupStart());
  for (NcclComm& c : comms_) {
    if (c.comm_ == nullptr || !e.empty()) continue;
    DeviceGuard guard(c.device_);
    e = BANYAN_NCCL_STARTED(ncclCommFinalize(c.comm_));
  }
  const std::string end = BANYAN_NCCL_STARTED(ncclGroupEnd());
  if (e.empty()) e = end;
  for (NcclComm& c : comms_) {
    if (c.comm_ == nullptr || !e.empty()) continue;
    const ncclResult_t r = nccl_wait_settled(c.comm_);
    if (r != ncclSuccess) e = describe("ncclCommFinalize", c.comm_, c.device_, c.rank_, r);
  }
  if (!e.empty()) {
    LOG(ERROR) << e << "; aborting the communicators";
    for (NcclComm& c : comms_) c.abort();
    comms_.clear();
    return;
  }
  for (NcclComm& c : comms_) {
    if (c.comm_ == nullptr) continue;
    DeviceGuard guard(c.device_);
    destroy(c.comm_);
    c.comm_ = nullptr;
    c.device_ = -1;
  }
  comms_.clear();
}

}  // namespace banyan::cuda
