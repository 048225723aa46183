// NCCL communicator lifetimes: init per rank or for a device list, and the
// finalize/destroy versus abort split on the way out.
#include "cuda/nccl.h"

#include <glog/logging.h>

#include <set>
#include <utility>

#include "cuda/check.h"
#include "cuda/memory.h"

namespace banyan::cuda {

bool nccl_unique_id(ncclUniqueId* id, std::string* error) {
  std::string e = BANYAN_NCCL_ERROR(ncclGetUniqueId(id));
  if (e.empty()) return true;
  if (error != nullptr) *error = e;
  return false;
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
  std::string e = BANYAN_NCCL_ERROR(ncclCommInitRank(&comm, num_ranks, id, rank));
  if (!e.empty()) {
    if (comm != nullptr) ncclCommAbort(comm);  // best effort; the init error is what matters
    if (error != nullptr) *error = e;
    return false;
  }
  adopt(comm, device, rank, num_ranks);
  return true;
}

void NcclComm::abort() {
  if (comm_ == nullptr) return;
  DeviceGuard guard(device_);
  const ncclResult_t r = ncclCommAbort(comm_);
  if (r != ncclSuccess) {
    LOG(ERROR) << "ncclCommAbort on cuda:" << device_ << " rank " << rank_ << ": "
               << ncclGetErrorString(r);
  }
  comm_ = nullptr;
  device_ = -1;
  failed_ = false;
}

std::string NcclComm::async_error() {
  if (comm_ == nullptr) return std::string();
  ncclResult_t async = ncclSuccess;
  BANYAN_NCCL_CHECK(ncclCommGetAsyncError(comm_, &async));
  if (async == ncclSuccess || async == ncclInProgress) return std::string();
  failed_ = true;
  return std::string("NCCL asynchronous error on cuda:") + std::to_string(device_) + " rank " +
         std::to_string(rank_) + ": " + ncclGetErrorString(async) + " (" + ncclGetLastError(comm_) +
         ")";
}

void NcclComm::reset() {
  if (comm_ == nullptr) return;
  if (failed_ || !async_error().empty()) {
    abort();
    return;
  }
  DeviceGuard guard(device_);
  std::string e = BANYAN_NCCL_ERROR(ncclCommFinalize(comm_));
  if (!e.empty()) {
    LOG(ERROR) << e << "; aborting the communicator";
    abort();
    return;
  }
  BANYAN_NCCL_CHECK(ncclCommDestroy(comm_));
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
  reset();
  if (devices.empty() || std::set<int>(devices.begin(), devices.end()).size() != devices.size()) {
    if (error != nullptr) {
      std::string list;
      for (int d : devices) list += (list.empty() ? "" : ",") + std::to_string(d);
      *error = "NCCL needs a non-empty list of distinct devices, got [" + list + "]";
    }
    return false;
  }
  const int n = static_cast<int>(devices.size());
  std::vector<ncclComm_t> raw(devices.size(), nullptr);
  std::string e = BANYAN_NCCL_ERROR(ncclCommInitAll(raw.data(), n, devices.data()));
  if (!e.empty()) {
    for (ncclComm_t c : raw) {
      if (c != nullptr) ncclCommAbort(c);  // best effort; report the init error
    }
    if (error != nullptr) *error = e;
    return false;
  }
  comms_.resize(devices.size());
  for (int i = 0; i < n; ++i)
    comms_[static_cast<size_t>(i)].adopt(raw[static_cast<size_t>(i)],
                                         devices[static_cast<size_t>(i)], i, n);
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
  BANYAN_NCCL_CHECK(ncclGroupStart());
  for (NcclComm& c : comms_) {
    if (c.comm_ == nullptr) continue;
    DeviceGuard guard(c.device_);
    BANYAN_NCCL_CHECK(ncclCommFinalize(c.comm_));
  }
  BANYAN_NCCL_CHECK(ncclGroupEnd());
  for (NcclComm& c : comms_) {
    if (c.comm_ == nullptr) continue;
    DeviceGuard guard(c.device_);
    BANYAN_NCCL_CHECK(ncclCommDestroy(c.comm_));
    c.comm_ = nullptr;
    c.device_ = -1;
  }
  comms_.clear();
}

}  // namespace banyan::cuda
